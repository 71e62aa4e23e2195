#!/usr/bin/env python3
"""Run SMTP transcripts through smtpd-session's stdin and check the replies
and the files it wrote.

A transcript is a plain file (tests/transcripts/*.t).  Lines, by prefix:

  # ...            a comment
  @config K = V    a configuration line (base: hostname mx.example.org,
                   domains example.org example.net, mail_root and queue_dir
                   in a temporary directory)
  @env K=V         an environment variable for the session
  @maildir D/U     create the Maildir MAIL_ROOT/D/U (example.org/alice and
                   example.org/bob always exist)
  @mkdir PATH      create a directory under MAIL_ROOT
  @write NAME      write the file {root}/NAME from the "|" lines that follow
                   ("|" alone: an empty line; "{root}" is replaced), e.g.
                   an aliases file or a command script (made executable)
  @file NAME       create {root}/NAME holding the "|" lines that follow
                   (e.g. an auth_users file: "@config auth_users = {root}/NAME")
  @keepopen        keep stdin open after the script (for timeouts)
  @exit N          expected exit status (default 0)
  > TEXT           the client sends TEXT + CR LF
  >raw TEXT        the client sends TEXT as is; escapes \\r \\n \\t \\0
                   \\xHH \\\\ and {N*TEXT} (TEXT repeated N times)
  < TEXT           the next reply line starts with TEXT
  <~ REGEX         the next reply line matches REGEX (whole line)
  <* CODE          skip reply lines up to and including "CODE " (a last line)
  ! count DIR N    DIR (under MAIL_ROOT, queue:DIR, or root:DIR under the
                   temporary directory) holds N files; a
                   DIR that does not exist fails the check (queue:tmp,
                   queue:msg and queue:env exist from the start)
  ! file DIR       the one file in DIR must be exactly the "|" lines that
                   follow ("|~ REGEX" for a line matched by REGEX); the file
                   ends where the "|" lines end
  ! grep DIR REGEX the one file in DIR matches REGEX (multi-line search)
  ! nogrep DIR REGEX
  ! log REGEX      stderr (the log) matches REGEX
  ! nolog REGEX

Every reply line the session sent must be expected by a "<" line: an extra
reply fails the transcript.  Prints one line per transcript and a summary
line "N passed, N failed".
"""
import os
import re
import shutil
import pwd
import subprocess
import sys
import tempfile
import time

BASE_CONFIG = """\
hostname = mx.example.org
domains = example.org example.net
mail_root = {root}/mail
queue_dir = {root}/queue
"""

DEFAULT_MAILDIRS = ["example.org/alice", "example.org/bob"]


class Failure(Exception):
    pass


def unescape(text):
    """Turn the escapes of a >raw line into bytes."""
    text = re.sub(r"\{(\d+)\*([^}]*)\}", lambda m: m.group(2) * int(m.group(1)), text)
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i:i + 1]
        if c != b"\\":
            out += c
            i += 1
            continue
        n = raw[i + 1:i + 2]
        simple = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}
        if n in simple:
            out += simple[n]
            i += 2
        elif n == b"x":
            out.append(int(raw[i + 2:i + 4], 16))
            i += 4
        else:
            raise Failure("bad escape in >raw line: %r" % raw[i:i + 2])
    return bytes(out)


class Transcript:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.config = []
        self.env = {}
        self.maildirs = list(DEFAULT_MAILDIRS)
        self.mkdirs = []
        self.writes = []      # (name, lines)
        self.files = {}       # name under the root: content
        self.keepopen = False
        self.exit = 0
        self.input = bytearray()
        self.expect = []      # (kind, text)
        self.checks = []      # (kind, args, file_lines)
        self.parse()

    def parse(self):
        with open(self.path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line or line.startswith("#"):
                continue
            if line.startswith("@file "):
                body = []
                while i < len(lines) and lines[i].startswith("|"):
                    body.append(lines[i][2:])
                    i += 1
                self.files[line[6:]] = "".join(b + "\n" for b in body)
            elif line.startswith("@write "):
                body = []
                while i < len(lines) and lines[i].startswith("|"):
                    body.append(lines[i][2:] if lines[i] != "|" else "")
                    i += 1
                self.writes.append((line[7:].strip(), body))
            elif line.startswith("@"):
                self.directive(line[1:])
            elif line.startswith(">raw "):
                self.input += unescape(line[5:])
            elif line.startswith("> ") or line == ">":
                self.input += line[2:].encode("utf-8") + b"\r\n"
            elif line.startswith("<~ "):
                self.expect.append(("re", line[3:]))
            elif line.startswith("<* "):
                self.expect.append(("skip", line[3:]))
            elif line.startswith("< "):
                self.expect.append(("prefix", line[2:]))
            elif line.startswith("! "):
                words = line[2:].split(" ", 2)
                body = []
                if words[0] == "file":
                    while i < len(lines) and lines[i].startswith("|"):
                        body.append(lines[i])
                        i += 1
                self.checks.append((words[0], words[1:], body))
            else:
                raise Failure("%s:%d: cannot parse %r" % (self.name, i, line))

    def directive(self, text):
        word, _, rest = text.partition(" ")
        if word == "config":
            self.config.append(rest)
        elif word == "env":
            key, _, value = rest.partition("=")
            self.env[key] = value
        elif word == "maildir":
            self.maildirs.append(rest)
        elif word == "mkdir":
            self.mkdirs.append(rest)
        elif word == "keepopen":
            self.keepopen = True
        elif word == "exit":
            self.exit = int(rest)
        else:
            raise Failure("unknown directive @%s" % word)


def prepare(t, root):
    mail = os.path.join(root, "mail")
    for d in t.maildirs:
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(mail, d, sub), exist_ok=True)
    for d in t.mkdirs:
        os.makedirs(os.path.join(mail, d), exist_ok=True)
    for name, content in t.files.items():
        with open(os.path.join(root, name), "w") as f:
            f.write(content)
    # the queue as units/tmpfiles.d makes it: "! count queue:env 0" then
    # means the session wrote no entry where it could have
    for sub in ("tmp", "msg", "env"):
        os.makedirs(os.path.join(root, "queue", sub))
    for name, body in t.writes:
        path = os.path.join(root, name)
        with open(path, "w") as f:
            f.write("".join(l.replace("{root}", root) + "\n" for l in body))
        os.chmod(path, 0o755)
    conf = os.path.join(root, "mailsock.conf")
    with open(conf, "w") as f:
        f.write(BASE_CONFIG.format(root=root))
        for line in t.config:
            f.write(line.replace("{root}", root) + "\n")
        if os.geteuid() == 0:
            f.write("user = nobody\n")    # root never serves a network peer
    give_to_nobody(root)
    return conf


def give_to_nobody(root):
    """Run as root, the session becomes "nobody": let it write there."""
    if os.geteuid() != 0:
        return
    pw = pwd.getpwnam("nobody")
    for d, dirs, files in os.walk(root):
        for name in [d] + [os.path.join(d, n) for n in dirs + files]:
            os.lchown(name, pw.pw_uid, pw.pw_gid)


def run_session(t, binary, conf):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(t.env)
    cmd = [binary, "-c", conf]
    if os.environ.get("VALGRIND"):
        cmd = os.environ["VALGRIND"].split() + cmd
    if t.keepopen:
        # our own pipe, kept open until the session ends by itself
        rfd, wfd = os.pipe()
        os.write(wfd, bytes(t.input))
        stdin = rfd
    else:
        stdin = subprocess.PIPE
    proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    try:
        if t.keepopen:
            os.close(rfd)
            out, err = proc.communicate(timeout=30)
        else:
            out, err = proc.communicate(bytes(t.input), timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise Failure("session did not end within 30 s")
    finally:
        if t.keepopen:
            os.close(wfd)
    return proc.returncode, out, err


def check_replies(t, out):
    if b"\n" in out.replace(b"\r\n", b""):
        raise Failure("a reply line does not end in CR LF")
    replies = out.decode("utf-8", "replace").split("\r\n")
    if replies and replies[-1] == "":
        replies.pop()
    pos = 0
    for kind, text in t.expect:
        if kind == "skip":
            while pos < len(replies) and not replies[pos].startswith(text + " "):
                pos += 1
            if pos == len(replies):
                raise Failure("no reply line starting %r" % (text + " "))
            pos += 1
            continue
        if pos == len(replies):
            raise Failure("expected %s %r, but the replies ended" % (kind, text))
        got = replies[pos]
        ok = got.startswith(text) if kind == "prefix" else re.fullmatch(text, got)
        if not ok:
            raise Failure("reply %d: expected %r, got %r" % (pos + 1, text, got))
        pos += 1
    if pos < len(replies):
        raise Failure("unexpected reply %r" % replies[pos])


def resolve_dir(root, spec):
    if spec.startswith("queue:"):
        return os.path.join(root, "queue", spec[6:])
    if spec.startswith("root:"):
        return os.path.join(root, spec[5:])
    return os.path.join(root, "mail", spec)


def files_in(path, spec):
    """The files in a directory that must exist: a check on a directory the
    session never made (or a typo) would otherwise see it empty."""
    if not os.path.isdir(path):
        raise Failure("%s: no such directory" % spec)
    return sorted(os.path.join(path, f) for f in os.listdir(path))


def the_file(root, spec):
    files = files_in(resolve_dir(root, spec), spec)
    if len(files) != 1:
        raise Failure("%s: expected one file, found %d" % (spec, len(files)))
    with open(files[0], "rb") as f:
        return f.read().decode("utf-8", "replace")


def check_file_lines(content, body, spec):
    got = content.split("\n")
    if got and got[-1] == "":
        got.pop()
    else:
        raise Failure("%s: the file does not end with a newline" % spec)
    if len(got) != len(body):
        raise Failure("%s: expected %d lines, file has %d: %r" % (spec, len(body), len(got), got))
    for n, (want, line) in enumerate(zip(body, got), 1):
        if want.startswith("|~ "):
            if not re.fullmatch(want[3:], line):
                raise Failure("%s line %d: %r does not match %r" % (spec, n, line, want[3:]))
        elif line != want[2:] and not (want == "|" and line == ""):
            raise Failure("%s line %d: expected %r, got %r" % (spec, n, want[2:], line))


def check_files(t, root, log):
    for kind, args, body in t.checks:
        if kind == "count":
            n = len(files_in(resolve_dir(root, args[0]), args[0]))
            if n != int(args[1]):
                raise Failure("%s: expected %s files, found %d" % (args[0], args[1], n))
        elif kind == "file":
            check_file_lines(the_file(root, args[0]), body, args[0])
        elif kind in ("grep", "nogrep"):
            found = re.search(args[1], the_file(root, args[0]), re.M)
            if bool(found) != (kind == "grep"):
                raise Failure("%s: %s %r" % (args[0], kind, args[1]))
        elif kind in ("log", "nolog"):
            pattern = " ".join(args)
            if bool(re.search(pattern, log, re.M)) != (kind == "log"):
                raise Failure("%s %r; the log was:\n%s" % (kind, pattern, log))
        else:
            raise Failure("unknown check %r" % kind)


def run(path, binary):
    root = tempfile.mkdtemp(prefix="mailsock-t-")
    try:
        t = Transcript(path)
        conf = prepare(t, root)
        code, out, err = run_session(t, binary, conf)
        log = err.decode("utf-8", "replace")
        check_replies(t, out)
        if code != t.exit:
            raise Failure("exit status %d, expected %d; log:\n%s" % (code, t.exit, log))
        check_files(t, root, log)
        return None
    except Failure as e:
        return str(e)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: transcript.py SMTPD-SESSION FILE.t...")
    binary = sys.argv[1]
    passed = failed = 0
    for path in sys.argv[2:]:
        start = time.monotonic()
        problem = run(path, binary)
        ms = (time.monotonic() - start) * 1000
        if problem:
            failed += 1
            print("FAIL %s: %s" % (os.path.basename(path), problem))
        else:
            passed += 1
            print("PASS %s (%.0f ms)" % (os.path.basename(path), ms))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
