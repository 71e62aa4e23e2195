"""Crash safety: hundreds of sessions killed with SIGKILL at random moments
(before, during and after DATA).  Afterwards every message that got a 250
is in each recipient's new/ (or in the queue) exactly once and intact, no
file in new/ is partial, and tmp/ leftovers come only from killed sessions
that were never told 250 (Maildir readers ignore tmp/; SECURITY.md says
how they are reaped)."""
import os
import random
import re
import signal
import subprocess
import threading
import time

from harness import QUEUED, SESSION, Root

SESSIONS = 300
PID_OF_NAME = re.compile(r"^\d+\.M\d+P(\d+)Q\d+")


def message(i, rng, size=None):
    if size is None:
        size = rng.choice([0, 100, 5000, 70000, 300000])
    lines = [b"line %d of message %d %s" % (n, i, b"x" * 40) for n in range(size // 60)]
    return b"Subject: message %d\r\n\r\n" % i + b"".join(l + b"\r\n" for l in lines) + b"END %d\r\n" % i


def stored_body(msg):
    """What a Maildir file holds after our two trace lines: LF endings."""
    return msg.replace(b"\r\n", b"\n")


def run_one(root, i, rng, kill_within, size=None):
    """One session, killed after a random delay below kill_within seconds
    (None: never).  Returns what happened."""
    rcpts = rng.choice([["u@example.org"], ["u@example.org", "alice@example.org"],
                        ["bob@example.net", "v@elsewhere.test"]])
    msg = message(i, rng, size)
    script = [b"EHLO crash.test\r\nMAIL FROM:<a@b.test>\r\n",
              b"".join(b"RCPT TO:<%s>\r\n" % r.encode() for r in rcpts) + b"DATA\r\n",
              msg[:len(msg) // 2], msg[len(msg) // 2:] + b".\r\n", b"QUIT\r\n"]
    env = {k: v for k, v in os.environ.items() if k != "TCPREMOTEIP"}
    p = subprocess.Popen([SESSION] + root.options(), env=env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def feed():
        try:
            for part in script:
                p.stdin.write(part)
                p.stdin.flush()
                time.sleep(0.001)
            p.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
    out = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    writer = threading.Thread(target=feed)
    reader.start()
    writer.start()
    if kill_within is not None:
        time.sleep(rng.uniform(0, kill_within))
    killed = kill_within is not None and p.poll() is None
    if killed:
        p.send_signal(signal.SIGKILL)
    p.wait()
    writer.join()
    reader.join()
    acked = QUEUED.findall(out[0])
    if not killed:
        assert p.returncode == 0 and acked, f"session {i}: exit {p.returncode}, {out[0][-200:]!r}"
    return {"i": i, "pid": p.pid, "rcpts": rcpts, "msg": msg, "killed": killed,
            "acked": [a.decode() for a in acked]}


def mailbox_of(rcpt):
    local, domain = rcpt.split("@")
    return f"{domain}/{local}"


def check_stored_file(path, runs_by_i):
    """The file holds our trace lines and then exactly the message sent."""
    data = open(path, "rb").read()
    at = data.find(b"Subject: message ")
    m = re.match(rb"Subject: message (\d+)\n", data[at:])
    assert at > 0 and m, f"{path}: no Subject (partial?)"
    assert data[at:] == stored_body(runs_by_i[int(m.group(1))]["msg"]), f"{path}: not intact"


def test_sigkill_at_random_moments_keeps_every_acknowledged_message_once():
    rng = random.Random(int(os.environ.get("CRASH_SEED", "4")))
    root = Root()           # on the real file system: fsync and link for real
    try:
        # how long a whole session with the largest message takes here (a
        # sanitizer build or a busy machine is slower): kill within that ...
        start = time.monotonic()
        calibration = [run_one(root, SESSIONS + k, rng, None, 300000) for k in range(3)]
        whole = (time.monotonic() - start) / 3
        # then steer the window so that about half the sessions are killed
        runs, window = calibration, whole
        for i in range(SESSIONS):
            runs.append(run_one(root, i, rng, window))
            window *= 1.07 if runs[-1]["killed"] else 0.93
        runs_by_i = {r["i"]: r for r in runs}
        killed = sum(r["killed"] for r in runs)
        acked = sum(bool(r["acked"]) for r in runs)
        assert killed > SESSIONS // 5 and acked > SESSIONS // 5, (killed, acked)
        # every 250 is there, once per recipient, intact
        for r in runs:
            for msgid in r["acked"]:
                for rcpt in r["rcpts"]:
                    if rcpt.endswith("elsewhere.test"):
                        assert msgid in root.queued(), f"{msgid} not in the queue"
                        continue
                    names = [n for n in root.names(mailbox_of(rcpt)) if n.startswith(msgid + ".")]
                    assert len(names) == 1, f"{msgid} for {rcpt}: {names}"
        # nothing partial anywhere in new/ or in the queue
        for user in ("example.org/u", "example.org/alice", "example.net/bob"):
            for name in root.names(user):
                check_stored_file(os.path.join(root.mail, user, "new", name), runs_by_i)
        for msgid in root.queued():
            check_stored_file(os.path.join(root.queue, "msg", msgid), runs_by_i)
        # leftovers in tmp/ only from killed sessions that got no 250
        unacked_killed = {r["pid"] for r in runs if r["killed"] and not r["acked"]}
        for name in root.tmp_leftovers():
            m = PID_OF_NAME.match(name)
            assert m and int(m.group(1)) in unacked_killed, f"tmp leftover {name}"
        print(f"    {SESSIONS} sessions, {killed} killed, {acked} acknowledged, "
              f"{len(root.tmp_leftovers())} tmp leftovers")
    finally:
        root.remove()
