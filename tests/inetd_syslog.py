#!/usr/bin/env python3
"""inetd_syslog.py - under inetd the log goes to syslog (facility mail),
never onto the client's connection (README "When it fails").

xinetd hands a session the connection as stdin, stdout *and* stderr, so a
log written to stderr would reach the client (systemd-socket-activate
--inetd leaves stderr alone: only a real inetd puts the socket there).  Run by tests/syslog.sh inside
a private mount and network namespace (`unshare --mount --net`): it puts a
tmpfs on /dev (the devices the programs need bound back in), binds its own
Unix datagram socket at /dev/log, runs the shipped xinetd example on
127.0.0.1:25 of the namespace, sends one message with a raw client that
keeps every byte it receives, and checks:

  - the client received SMTP replies only: no log text, before or after 221;
  - /dev/log received the session's lines (connect, message, disconnect),
    tagged smtpd-session[PID], every one with facility mail.

  inetd_syslog.py WORKDIR SMTPD-SESSION XINETD-EXAMPLE
WORKDIR is made and removed by the caller, outside the namespace.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
LOG_MAIL = 2            # syslog facility "mail" (RFC 5424 6.2.1)

failures = 0


def check(ok, text, detail=""):
    global failures
    if ok:
        print("ok: " + text)
    else:
        failures += 1
        print("FAIL: " + text + ("\n" + detail if detail else ""))


def in_own_mount_namespace():
    return os.readlink("/proc/self/ns/mnt") != os.readlink("/proc/%d/ns/mnt" % os.getppid())


def private_dev():
    """A tmpfs on /dev with the usual devices bound back in from the old
    one (reached through an fd, so no path to it is left to remove)."""
    old = os.open("/dev", os.O_RDONLY | os.O_DIRECTORY)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/dev"], check=True)
    for name in DEVICES:
        open("/dev/" + name, "w").close()
        subprocess.run(["mount", "--bind", "/proc/%d/fd/%d/%s" % (os.getpid(), old, name),
                        "/dev/" + name], check=True)
    os.close(old)
    for i, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink("/proc/self/fd/%d" % i, "/dev/" + name)
    os.symlink("/proc/self/fd", "/dev/fd")


def syslog_socket():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind("/dev/log")
    os.chmod("/dev/log", 0o666)          # the session runs as nobody
    s.setblocking(False)
    return s


def prepare(work, binary, example):
    bob = os.path.join(work, "mail", "example.test", "bob")
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(bob, sub))
    os.makedirs(os.path.join(work, "queue"))
    shutil.copy(binary, os.path.join(work, "smtpd-session"))
    conf = os.path.join(work, "mailsock.conf")
    with open(conf, "w") as f:
        f.write("hostname = mx.example.test\ndomains = example.test\n"
                "mail_root = %s/mail\nqueue_dir = %s/queue\n" % (work, work))
    subprocess.run(["chown", "-R", "nobody:nogroup", work + "/mail", work + "/queue"], check=True)
    os.chmod(work, 0o755)
    with open(example) as f:
        text = f.read()
    text = re.sub(r"(?m)^(\s*user\s*=).*$", r"\1 nobody", text)
    text = re.sub(r"(?m)^(\s*server\s*=).*$",
                  lambda m: "%s %s/smtpd-session\n\tserver_args\t= -c %s\n\tbind\t\t= 127.0.0.1"
                  % (m.group(1), work, conf), text)
    if "server_args" not in text:
        sys.exit("cannot edit the xinetd example")
    with open(os.path.join(work, "xinetd.conf"), "w") as f:
        f.write(text)


def start_xinetd(work):
    log = open(os.path.join(work, "xinetd.log"), "w")
    proc = subprocess.Popen(["xinetd", "-f", os.path.join(work, "xinetd.conf"), "-dontfork",
                             "-pidfile", os.path.join(work, "xinetd.pid"), "-stayalive"],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", 25), 1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    proc.wait()
    sys.exit("xinetd did not listen")


class Client:
    """A raw SMTP client that keeps every byte the server sent."""

    def __init__(self):
        self.sock = socket.create_connection(("127.0.0.1", 25), 30)
        self.received = b""
        self.replies = 0

    def reply(self):
        """Read up to the end of the next reply (its line "NNN text")."""
        while len(re.findall(rb"(?m)^\d{3} [^\r\n]*\r\n", self.received)) <= self.replies:
            data = self.sock.recv(65536)
            if not data:
                return
            self.received += data
        self.replies += 1

    def send(self, line):
        self.sock.sendall(line + b"\r\n")

    def session(self):
        self.reply()
        for cmd in (b"EHLO client.example", b"MAIL FROM:<alice@client.example>",
                    b"RCPT TO:<bob@example.test>", b"DATA"):
            self.send(cmd)
            self.reply()
        self.send(b"Subject: under xinetd\r\n\r\nbody\r\n.")
        self.reply()
        self.send(b"QUIT")
        while True:                          # everything up to the close
            data = self.sock.recv(65536)
            if not data:
                break
            self.received += data
        self.sock.close()
        return self.received


def read_syslog(sock, want, seconds=10):
    lines = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            lines.append(sock.recv(65536).decode("utf-8", "replace"))
            continue
        except BlockingIOError:
            pass
        if all(any(w in ln for ln in lines) for w in want):
            break
        time.sleep(0.05)
    return lines


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: inetd_syslog.py WORKDIR SMTPD-SESSION XINETD-EXAMPLE")
    work, binary, example = sys.argv[1:]
    if not in_own_mount_namespace():
        sys.exit("refusing to run outside a private mount namespace (run tests/syslog.sh)")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    private_dev()
    log = syslog_socket()
    prepare(work, binary, example)
    xinetd = start_xinetd(work)
    try:
        received = Client().session()
    finally:
        xinetd.terminate()
        xinetd.wait()
    text = received.decode("utf-8", "replace")
    lines = text.split("\r\n")
    if lines and lines[-1] == "":
        lines.pop()
    bad = [ln for ln in lines if not re.match(r"^\d{3}[ -]", ln)]
    check(not bad and "event=" not in text and "smtpd-session" not in text,
          "the client received SMTP replies only, no log text", "received:\n" + text)
    check(re.search(r"(?m)^250 2\.0\.0 ", text) and re.search(r"(?m)^221 ", text),
          "the message was accepted (250) and the session closed (221)", text)
    check(len(os.listdir(os.path.join(work, "mail/example.test/bob/new"))) == 1,
          "bob's Maildir holds the message")

    # xinetd's readiness probe made a session too: follow the one that
    # carried the message, by its session id.
    got = read_syslog(log, ("event=message", "event=disconnect reason=quit"))
    ours = [ln for ln in got if re.match(r"^<\d+>.*? smtpd-session\[\d+\]: ", ln)]
    shown = "/dev/log received:\n" + "\n".join(got) + "\nxinetd log:\n" + \
        open(os.path.join(work, "xinetd.log")).read()
    ids = [m.group(1) for m in (re.search(r" session=(\S+) event=message ", ln) for ln in ours) if m]
    check(len(ids) == 1, "syslog has the session's event=message line", shown)
    session = [ln for ln in ours if ids and " session=%s " % ids[0] in ln]
    for w in ("event=connect peer=127.0.0.1", "event=disconnect reason=quit"):
        check(any(w in ln for ln in session), "syslog has that session's %s line" % w, shown)
    wrong = [ln for ln in ours if int(re.match(r"^<(\d+)>", ln).group(1)) >> 3 != LOG_MAIL]
    check(ours and not wrong, "every line of the session has facility mail",
          "\n".join(wrong) or shown)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
