#!/usr/bin/env python3
"""journal_fields.py - when stderr is the journal, the log carries
structured fields (README "When it fails": SESSION_ID=, PEER=, MESSAGE_ID=),
read back from a real systemd-journald with journalctl.

Run by tests/journal.sh inside a private mount and network namespace: a
tmpfs on /run and on /var/log/journal, our journald.conf (volatile storage,
no kernel log) bound over the system's, then systemd-journald itself: it
makes its sockets under /run/systemd/journal as it does at boot, with no
PID 1 systemd around.  A session's stderr is connected to journald's
stream socket by systemd-cat; JOURNAL_STREAM is set to that socket's
device:inode, which is the one step systemd does and systemd-cat does not.

  1. JOURNAL_STREAM names our stderr: every line of the session arrives
     through the native protocol (_TRANSPORT=journal) with SESSION_ID,
     PEER, MESSAGE_ID (the id of the 250 reply), EVENT and PRIORITY, and
     nothing arrives on the stream (stderr stays silent).
  2. JOURNAL_STREAM names another file (stdin): the session must not take
     the journal for its stderr; its lines arrive as plain text on the
     stream (_TRANSPORT=stdout) with no SESSION_ID field.

  journal_fields.py WORKDIR SMTPD-SESSION JOURNALD
WORKDIR is made and removed by the caller, outside the namespace.
"""
import json
import os
import re
import subprocess
import sys
import time

JOURNALD_CONF = """\
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
"""

# stderr of the session goes to journald's stream socket (systemd-cat),
# stdout back to us on fd 3; JOURNAL_STREAM as systemd would set it, or
# naming stdin instead.
OUTER = 'exec 3>&1 && exec systemd-cat -t mailsock-stderr -- sh -c "$INNER" inner "$@"'
INNER = {
    "stderr": 'exec 1>&3 3>&-; JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2)',
    "stdin": 'exec 1>&3 3>&-; JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/0)',
}
INNER_TAIL = '; export JOURNAL_STREAM; exec "$@"'

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


def private_journal(work):
    """A journald of our own; returns its Popen."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/run"], check=True)
    if os.path.isdir("/var/log/journal"):
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/var/log/journal"], check=True)
    conf = os.path.join(work, "journald.conf")
    with open(conf, "w") as f:
        f.write(JOURNALD_CONF)
    if os.path.exists("/etc/systemd/journald.conf"):
        subprocess.run(["mount", "--bind", conf, "/etc/systemd/journald.conf"], check=True)
    log = open(os.path.join(work, "journald.log"), "w")
    proc = subprocess.Popen([sys.argv[3]], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        if all(os.path.exists("/run/systemd/journal/" + s) for s in ("socket", "stdout")):
            return proc
        time.sleep(0.1)
    proc.terminate()
    proc.wait()
    sys.exit("systemd-journald did not make its sockets:\n" +
             open(os.path.join(work, "journald.log")).read())


def prepare(work):
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(work, "mail", "example.test", "bob", sub))
    os.makedirs(os.path.join(work, "queue"))
    conf = os.path.join(work, "mailsock.conf")
    with open(conf, "w") as f:
        f.write("hostname = mx.example.test\ndomains = example.test\n"
                "mail_root = %s/mail\nqueue_dir = %s/queue\n"
                "user = nobody\n" % (work, work))     # root never serves a network peer
    subprocess.run(["chown", "-R", "nobody:nogroup", work + "/mail", work + "/queue"], check=True)
    os.chmod(work, 0o755)
    return conf


def session(binary, conf, stream_names, peer):
    script = ("EHLO client.example\r\nMAIL FROM:<alice@client.example>\r\n"
              "RCPT TO:<bob@example.test>\r\nDATA\r\nSubject: journal\r\n\r\nbody\r\n.\r\n"
              "QUIT\r\n").encode()
    env = dict(os.environ, INNER=INNER[stream_names] + INNER_TAIL, TCPREMOTEIP=peer)
    proc = subprocess.run(["sh", "-c", OUTER, "outer", binary, "-c", conf], input=script,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
    out = proc.stdout.decode("utf-8", "replace")
    queued = re.search(r"(?m)^250 2\.0\.0 Ok: queued as (\S+)\r$", out)
    check(proc.returncode == 0 and queued, "session from %s: exit 0 and 250" % peer,
          "exit %d\n%s%s" % (proc.returncode, out, proc.stderr.decode()))
    return queued.group(1) if queued else None


def entries(want, seconds=15):
    """journalctl's entries, once WANT (a predicate on the list) holds."""
    end = time.monotonic() + seconds
    while True:
        out = subprocess.run(["journalctl", "--no-pager", "-a", "-o", "json"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        got = [json.loads(ln) for ln in out.decode("utf-8", "replace").splitlines() if ln]
        if want(got) or time.monotonic() > end:
            return got
        time.sleep(0.2)


def show(es):
    return "\n".join("%s %s %s" % (e.get("SYSLOG_IDENTIFIER"), e.get("_TRANSPORT"), e.get("MESSAGE"))
                     for e in es)


def check_journal(msgid, peer):
    def ours(es):
        return [e for e in es if e.get("SYSLOG_IDENTIFIER") == "smtpd-session"]
    es = entries(lambda es: any(e.get("EVENT") == "disconnect" for e in ours(es)))
    mine = ours(es)
    events = [e.get("EVENT") for e in mine]
    check(events[:1] == ["connect"] and "message" in events and events[-1:] == ["disconnect"],
          "the session's events are in the journal", show(es))
    check(mine and all(e.get("_TRANSPORT") == "journal" for e in mine),
          "every line came through the native protocol (_TRANSPORT=journal)", show(mine))
    ids = {e.get("SESSION_ID") for e in mine}
    check(len(ids) == 1 and re.fullmatch(r"[0-9a-f]+", ids.pop() or ""),
          "every line has the one SESSION_ID=", show(mine))
    connect = [e for e in mine if e.get("EVENT") == "connect"]
    check(connect and connect[0].get("PEER") == peer, "PEER=%s on the connect line" % peer,
          json.dumps(connect, indent=1))
    message = [e for e in mine if e.get("EVENT") == "message"]
    check(message and message[0].get("MESSAGE_ID") == msgid,
          "MESSAGE_ID= is the id of the 250 reply (%s)" % msgid, json.dumps(message, indent=1))
    check(mine and all(e.get("PRIORITY") == "6" and
                       e.get("MESSAGE", "").startswith("session=") for e in mine),
          "PRIORITY=6 (info) and the key=value line as MESSAGE=", show(mine))
    stream = [e for e in es if e.get("SYSLOG_IDENTIFIER") == "mailsock-stderr"]
    check(not stream, "nothing on stderr (the stream)", show(stream))


def check_not_journal(peer):
    es = entries(lambda es: any("event=disconnect" in e.get("MESSAGE", "") and
                                e.get("SYSLOG_IDENTIFIER") == "mailsock-stderr" for e in es))
    stream = [e for e in es if e.get("SYSLOG_IDENTIFIER") == "mailsock-stderr"]
    check(any("event=connect peer=%s" % peer in e.get("MESSAGE", "") for e in stream) and
          all(e.get("_TRANSPORT") == "stdout" and "SESSION_ID" not in e for e in stream),
          "JOURNAL_STREAM naming stdin: plain lines on stderr, no fields", show(es))
    native = [e for e in es if e.get("SYSLOG_IDENTIFIER") == "smtpd-session" and
              e.get("PEER") == peer]
    check(not native, "JOURNAL_STREAM naming stdin: nothing through the native protocol",
          show(native))


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: journal_fields.py WORKDIR SMTPD-SESSION JOURNALD")
    work, binary = sys.argv[1], sys.argv[2]
    if not in_own_mount_namespace():
        sys.exit("refusing to run outside a private mount namespace (run tests/journal.sh)")
    journald = private_journal(work)
    try:
        conf = prepare(work)
        msgid = session(binary, conf, "stderr", "192.0.2.7")
        if msgid:
            check_journal(msgid, "192.0.2.7")
        if session(binary, conf, "stdin", "192.0.2.8"):
            check_not_journal("192.0.2.8")
    finally:
        journald.terminate()
        journald.wait()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
