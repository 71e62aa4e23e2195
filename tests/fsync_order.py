#!/usr/bin/env python3
"""fsync_order.py - "250 only after the file and its directory are fsynced"
(README), proved from the system calls of real sessions.

A crash test kills the session with SIGKILL, and the page cache survives
that: a missing fsync is invisible to it.  So each case here runs one
scripted session (stdin/stdout, as tests/transcript.py does) under
strace -f -y and checks, for every file the session leaves in a new/
directory or in the queue's msg/ and env/:

  1. the file that was linked or renamed into place was fsynced after its
     last write and before the link/rename;
  2. its directory (an fd opened on new/, msg/ or env/) was fsynced after
     the link/rename;
  3. both before the write to fd 1 that carries "250 2.0.0";
  and for the queue: msg/ID is in place and msg/ fsynced before env/ID
  appears (an entry exists iff its envelope does, doc/queue.md).

  fsync_order.py SMTPD-SESSION             the cases on one file system
  fsync_order.py --cross-fs SMTPD-SESSION  bob's Maildir and the queue on
        tmpfs mounts of their own (run it inside `unshare --mount`, as
        root): linkat fails with EXDEV and the copy fallback must deliver
        byte-identical files, fsynced in the same order, 250 once.
Prints PASS/FAIL per case and "N passed, N failed"; exit 1 on a failure.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

TRACED = ("openat,open,creat,write,writev,pwrite64,pwritev,sendto,sendmsg,"
          "fsync,fdatasync,link,linkat,rename,renameat,renameat2")
SYNCS = ("fsync", "fdatasync")
PLACES = ("link", "linkat", "rename", "renameat", "renameat2")

CONFIG = """\
hostname = mx.example.org
domains = example.org
mail_root = {root}/mail
queue_dir = {root}/queue
"""

USERS = ("alice", "bob", "carol")


class Failure(Exception):
    pass


# ---- the trace ----------------------------------------------------------

LINE = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+= (-?\d+)(?:<[^>]*>)?(?: (E\w+))?")
FD = re.compile(r"(?:-?\d+|AT_FDCWD)<([^>]*)>")
STR = r'"((?:[^"\\]|\\.)*)"'
AT_PAIR = re.compile(FD.pattern + ", " + STR + ", " + FD.pattern + ", " + STR)
PLAIN_PAIR = re.compile(STR + ", " + STR)


def join_lines(lines):
    """Put "<unfinished ...>" and "<... resumed>" halves back together; the
    call counts where it finished (a fsync counts once it returned)."""
    pending = {}
    for line in lines:
        line = line.rstrip("\n")
        pid = line.split(None, 1)[0] if line else ""
        if line.endswith("<unfinished ...>"):
            pending[pid] = line[:-len("<unfinished ...>")].rstrip()
            continue
        m = re.match(r"^(\d+)\s+<\.\.\. \w+ resumed>(.*)$", line)
        if m:
            yield pending.pop(m.group(1), m.group(1) + " ?(") + m.group(2)
            continue
        yield line


def parse(path, cwd):
    """A list of events: dicts with name, ret, err, and (by call) fd_path,
    src/dst (absolute paths) or text."""
    events = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in join_lines(f):
            m = LINE.match(line)
            if not m:
                continue
            name, args, ret, err = m.group(2), m.group(3), int(m.group(4)), m.group(5)
            ev = {"name": name, "ret": ret, "err": err, "line": line}
            fd = FD.match(args)
            if fd:
                ev["fd_path"] = fd.group(1)
            if name in ("linkat", "renameat", "renameat2"):
                p = AT_PAIR.match(args)
                if p:
                    ev["src"] = os.path.join(p.group(1), p.group(2))
                    ev["dst"] = os.path.join(p.group(3), p.group(4))
            elif name in ("link", "rename"):
                p = PLAIN_PAIR.match(args)
                if p:
                    ev["src"] = os.path.join(cwd, p.group(1))
                    ev["dst"] = os.path.join(cwd, p.group(2))
            ev["text"] = args
            events.append(ev)
    for i, ev in enumerate(events):
        ev["i"] = i
    return events


def describe(ev):
    return "#%d %s" % (ev["i"], ev["line"][:200])


def reply_write(events, text):
    """The first write to fd 1 that carries TEXT (strace escapes CR LF as
    \\r\\n; TEXT is plain ASCII)."""
    for ev in events:
        if ev["name"] in ("write", "writev", "sendto", "sendmsg") and \
                re.match(r"^1<", ev["text"]) and text in ev["text"]:
            return ev
    raise Failure("no write of %r to fd 1 in the trace" % text)


def check_placed(events, final, reply):
    """Rules 1-3 for the file FINAL; returns the event of its directory's fsync."""
    places = [e for e in events if e["name"] in PLACES and e["ret"] == 0 and e.get("dst") == final]
    if not places:
        raise Failure("no link or rename put %s in place" % final)
    op = places[0]
    src = op["src"]
    writes = [e for e in events if e["i"] < op["i"] and e.get("fd_path") == src and
              e["name"] in ("write", "writev", "pwrite64", "pwritev")]
    last_write = writes[-1]["i"] if writes else -1
    synced = [e for e in events if last_write < e["i"] < op["i"] and e["name"] in SYNCS and
              e.get("fd_path") == src and e["ret"] == 0]
    if not synced:
        raise Failure("%s was not fsynced after its last write and before it was put in place "
                      "as %s (%s)" % (src, final, describe(op)))
    folder = os.path.dirname(final)
    dir_sync = [e for e in events if e["i"] > op["i"] and e["name"] in SYNCS and
                e.get("fd_path") == folder and e["ret"] == 0]
    if not dir_sync:
        raise Failure("the directory %s was never fsynced after %s" % (folder, describe(op)))
    if op["i"] > reply["i"]:
        raise Failure("%s was put in place after the 250 (%s)" % (final, describe(reply)))
    if dir_sync[0]["i"] > reply["i"]:
        raise Failure("%s was fsynced only after the 250: %s then %s" %
                      (folder, describe(reply), describe(dir_sync[0])))
    return op, dir_sync[0]


# ---- the sessions ---------------------------------------------------------

def session_input(rcpts):
    lines = ["EHLO client.example", "MAIL FROM:<sender@client.example>"]
    lines += ["RCPT TO:<%s>" % r for r in rcpts]
    lines += ["DATA", "Subject: fsync order", "", "body line", ".", "QUIT"]
    return ("\r\n".join(lines) + "\r\n").encode()


def files(path):
    return sorted(os.path.join(path, n) for n in os.listdir(path)) if os.path.isdir(path) else []


def make_root(cross_fs):
    root = os.path.realpath(tempfile.mkdtemp(prefix="mailsock-fsync-"))
    os.makedirs(os.path.join(root, "queue"))
    for user in USERS:
        d = os.path.join(root, "mail", "example.org", user)
        os.makedirs(d)
        if cross_fs and user == "bob":
            mount_tmpfs(d)
        for sub in ("tmp", "new", "cur"):
            os.mkdir(os.path.join(d, sub))
    if cross_fs:
        mount_tmpfs(os.path.join(root, "queue"))
        devs = {os.stat(os.path.join(root, p)).st_dev
                for p in ("mail/example.org/alice", "mail/example.org/bob", "queue")}
        if len(devs) != 3:
            raise Failure("alice, bob and the queue are not on three file systems")
    with open(os.path.join(root, "mailsock.conf"), "w") as f:
        f.write(CONFIG.format(root=root))
    return root


def mount_tmpfs(path):
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", path], check=True)


def unmount_all(root):
    for user in USERS:
        subprocess.run(["umount", "-q", os.path.join(root, "mail", "example.org", user)],
                       stderr=subprocess.DEVNULL)
    subprocess.run(["umount", "-q", os.path.join(root, "queue")], stderr=subprocess.DEVNULL)


def run_case(binary, rcpts, cross_fs=False):
    """One session to RCPTS; returns nothing, raises Failure."""
    root = make_root(cross_fs)
    try:
        return check_case(binary, root, rcpts, cross_fs)
    finally:
        if cross_fs:
            unmount_all(root)
        shutil.rmtree(root, ignore_errors=True)


def check_case(binary, root, rcpts, cross_fs):
    log = os.path.join(root, "strace.log")
    cmd = ["strace", "-f", "-y", "-s", "65536", "-e", "trace=" + TRACED, "-o", log,
           binary, "-c", os.path.join(root, "mailsock.conf")]
    # LeakSanitizer cannot run under ptrace: leaks are the other tests' job.
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    proc = subprocess.run(cmd, input=session_input(rcpts), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, cwd=root, env=env, timeout=120)
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise Failure("exit status %d; stderr:\n%s" % (proc.returncode, proc.stderr.decode()))
    accepted = re.findall(r"^250 2\.0\.0 Ok: queued as (\S+)\r$", out, re.M)
    if len(accepted) != 1 or out.count("\r\n250 2.0.0 ") != 1:
        raise Failure("expected one \"250 2.0.0 Ok: queued\"; the replies:\n%s" % out)
    events = parse(log, root)
    reply = reply_write(events, "250 2.0.0 Ok: queued as " + accepted[0])

    local = [r.split("@")[0] for r in rcpts if r.endswith("@example.org")]
    foreign = [r for r in rcpts if not r.endswith("@example.org")]
    finals = []
    for user in local:
        d = os.path.join(root, "mail", "example.org", user)
        got, debris = files(os.path.join(d, "new")), files(os.path.join(d, "tmp"))
        if len(got) != 1 or debris:
            raise Failure("%s: %d file(s) in new/, %d in tmp/" % (user, len(got), len(debris)))
        finals += got
    queue = os.path.join(root, "queue")
    msg, env = files(os.path.join(queue, "msg")), files(os.path.join(queue, "env"))
    if len(msg) != (1 if foreign else 0) or len(env) != len(msg) or files(os.path.join(queue, "tmp")):
        raise Failure("queue: %d msg, %d env, %d in tmp/" %
                      (len(msg), len(env), len(files(os.path.join(queue, "tmp")))))
    for final in finals + msg:
        check_placed(events, final, reply)
    if env:
        _, msg_dir_sync = check_placed(events, msg[0], reply)
        env_op, _ = check_placed(events, env[0], reply)
        if env_op["i"] < msg_dir_sync["i"]:
            raise Failure("env/ID appeared before msg/ was fsynced: %s" % describe(env_op))
    contents = set()
    for final in finals + msg:
        with open(final, "rb") as f:
            contents.add(f.read())
    if len(contents) != 1:
        raise Failure("the copies differ: %d different contents" % len(contents))
    if cross_fs:
        exdev = [e for e in events if e["name"] == "linkat" and e["err"] == "EXDEV"]
        if len(exdev) != 2:
            raise Failure("expected linkat to fail with EXDEV twice (bob, queue), saw %d:\n%s"
                          % (len(exdev), "\n".join(describe(e) for e in exdev)))
    return len(finals + msg + env)


CASES = [
    ("one recipient: Maildir file, new/, then 250", ["alice@example.org"]),
    ("three recipients: hard links into three Maildirs, each new/ fsynced",
     ["alice@example.org", "bob@example.org", "carol@example.org"]),
    ("queue only: msg/ and env/ fsynced, envelope renamed last", ["dave@far.example"]),
    ("Maildir and queue: the Maildir's spool file linked into msg/",
     ["alice@example.org", "dave@far.example", "erin@far.example"]),
]

CROSS_FS_CASES = [
    ("across file systems: alice, bob (tmpfs) and the queue (tmpfs) by copy, byte-identical",
     ["alice@example.org", "bob@example.org", "dave@far.example"]),
]


def main():
    args = sys.argv[1:]
    cross_fs = bool(args) and args[0] == "--cross-fs"
    if cross_fs:
        args = args[1:]
    if len(args) != 1:
        sys.exit("usage: fsync_order.py [--cross-fs] SMTPD-SESSION")
    passed = failed = 0
    for name, rcpts in (CROSS_FS_CASES if cross_fs else CASES):
        try:
            n = run_case(os.path.abspath(args[0]), rcpts, cross_fs)
            passed += 1
            print("PASS %s (%d files checked)" % (name, n))
        except (Failure, subprocess.SubprocessError, OSError) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
