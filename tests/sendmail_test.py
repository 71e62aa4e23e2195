#!/usr/bin/python3
"""sendmail_test.py - mailsock-sendmail and the maildrop, run by tests/sendmail.sh
(as root, inside private network and mount namespaces).

Set-up: a queue and a mail root in a temp dir; a copy of mailsock-postdrop
setgid to the group "mail" (the real install uses mailsock-drop) and the
queue's maildrop/ mode 1730 root:mail, as tmpfiles.d makes it; a
mailsock.conf bind-mounted over the built-in configuration directory, since
postdrop reads no other for a user.  Messages are submitted as "nobody" and
"daemon" (setpriv, no supplementary groups); smtp-relay (as root) picks
them up.  s-nail (mail -s) and a cron-style Python job are real callers.  Each case prints PASS, FAIL or SKIP; exit 1 on a failure, 77
when a case skipped (1 under CI=true)."""
import glob
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback

BUILD = os.path.abspath(os.environ.get("top_builddir", "."))
DROP_GROUP = "mail"
NOBODY = (65534, 65534)
DAEMON = (1, 1)
EX_USAGE, EX_DATAERR, EX_NOUSER, EX_NOPERM = 64, 65, 67, 77
W = None
CREATED = []          # directories the set-up made outside W, to remove


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def conf_dir():
    out = subprocess.run([BUILD + "/sendmail/mailsock-postdrop", "-h"], capture_output=True,
                         text=True, check=True).stdout
    return os.path.dirname(re.search(r"configuration: (\S+)", out).group(1))


def setup():
    global W
    W = tempfile.mkdtemp(prefix="mailsock-sendmail.")
    # A tmpfs of our own (we are in a private mount namespace): /tmp may be
    # mounted nosuid (systemd-nspawn does so, and hardened hosts), and then
    # the setgid bit of the postdrop copy would be ignored.
    sh("mount", "-t", "tmpfs", "-o", "mode=0755,size=64m", "mailsock-sendmail", W)
    os.chmod(W, 0o755)
    gid = int(subprocess.run(["getent", "group", DROP_GROUP], capture_output=True, text=True,
                             check=True).stdout.split(":")[2])
    os.makedirs(W + "/bin")
    for prog in ("mailsock-sendmail", "mailsock-postdrop"):
        shutil.copy(f"{BUILD}/sendmail/{prog}", f"{W}/bin/{prog}")
    os.chown(W + "/bin/mailsock-postdrop", 0, gid)
    os.chmod(W + "/bin/mailsock-postdrop", 0o2755)
    os.makedirs(W + "/queue/maildrop")
    os.chown(W + "/queue", 0, gid)
    os.chmod(W + "/queue", 0o710)
    os.chown(W + "/queue/maildrop", 0, gid)
    os.chmod(W + "/queue/maildrop", 0o1730)
    for sub in ("tmp", "new", "cur"):
        os.makedirs(f"{W}/mail/example.test/bob/{sub}")
    os.makedirs(W + "/home")
    os.chown(W + "/home", *NOBODY)
    os.makedirs(W + "/other", mode=0o777)
    os.chmod(W + "/other", 0o777)
    os.makedirs(W + "/etc")
    with open(W + "/etc/mailsock.conf", "w") as f:
        f.write(f"hostname = mx.example.test\ndomains = example.test\n"
                f"mail_root = {W}/mail\nqueue_dir = {W}/queue\n"
                f"max_message_size = 1024\n"
                # nothing listens there: foreign mail stays queued
                f"smarthost = [127.0.0.1]:9\n")
    sh("ip", "link", "set", "lo", "up")
    etc = conf_dir()
    # make distcheck's prefix has no etc/ before its install: make it for
    # the test's time (removed at the end), the mount is in our namespace.
    missing = etc
    while not os.path.isdir(missing):
        CREATED.insert(0, missing)
        missing = os.path.dirname(missing)
    for d in CREATED:
        os.mkdir(d, 0o755)
    sh("mount", "--bind", W + "/etc", etc)


def run_as(user, argv, data=b"", env=None):
    uid, gid = user
    e = {"PATH": "/usr/bin:/bin", "MAILSOCK_POSTDROP": W + "/bin/mailsock-postdrop",
         "HOME": W + "/home"}
    e.update({k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")})
    e.update(env or {})
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
                          + argv, input=data, capture_output=True, env=e, cwd="/", timeout=60)


def sendmail(args, data, user=NOBODY):
    return run_as(user, [W + "/bin/mailsock-sendmail"] + args, data.encode())


def maildrop():
    return sorted(os.listdir(W + "/queue/maildrop"))


def relay(*args):
    return subprocess.run([BUILD + "/smtp-relay/smtp-relay"] + list(args), capture_output=True,
                          text=True, timeout=120)


def new_mail(box):
    """The messages in example.test/BOX/new, oldest first; then empty it."""
    files = sorted(glob.glob(f"{W}/mail/example.test/{box}/new/*"), key=os.path.getmtime)
    texts = [open(p, encoding="utf-8", errors="replace").read() for p in files]
    for p in files:
        os.unlink(p)
    return texts


def queued():
    """The envelopes in the queue; then the queue emptied."""
    envs = [open(p).read() for p in sorted(glob.glob(W + "/queue/env/*"))]
    for p in glob.glob(W + "/queue/env/*") + glob.glob(W + "/queue/msg/*"):
        os.unlink(p)
    return envs


def submit_ok(args, data, user=NOBODY):
    r = sendmail(args, data, user)
    check(r.returncode == 0, f"sendmail {args} exits 0: {r.returncode} {r.stderr!r}")
    check(len(maildrop()) == 1, f"one file in the maildrop: {maildrop()}")
    return r


def pick_up():
    r = relay()
    check(maildrop() == [], f"the relay's run empties the maildrop: {maildrop()} {r.stderr}")
    check(r.returncode == 0 and "Sanitizer" not in r.stderr, f"the run ends well: {r.stderr}")
    return r


def header(msg, name):
    head = msg.split("\n\n", 1)[0]
    return re.findall(rf"^{name}:(.*(?:\n[ \t].*)*)", head, re.M | re.I)


def test_t():
    """-t: To (folded, with a comment), Cc, Bcc; Bcc not stored; trace and added fields"""
    submit_ok(["-t"], "To: Bob Example <bob@example.test> (the boss),\n"
                      "  carol@example.net\nBcc: root\nSubject: t\n\nbody\n")
    path = f"{W}/queue/maildrop/{maildrop()[0]}"
    st = os.stat(path)
    check(st.st_uid == NOBODY[0], f"the maildrop file belongs to the user: {st.st_uid}")
    check(st.st_mode & 0o777 == 0o644, f"complete files are 0644: {oct(st.st_mode)}")
    r = run_as(DAEMON, ["cat", path])
    check(r.returncode != 0 and r.stdout == b"", f"another user cannot read it: {r.stdout!r}")
    pick_up()
    bob = new_mail("bob")
    check(len(bob) == 1, f"bob got one copy: {len(bob)}")
    m = bob[0]
    check(m.startswith("Return-Path: <nobody@mx.example.test>\n"), m[:200])
    check(re.search(r"^Received: by mx\.example\.test \(mailsock-sendmail, from user nobody "
                    r"uid 65534\)", m, re.M), f"Received names user and uid: {m[:300]}")
    check(header(m, "Bcc") == [], f"no Bcc in the stored message: {m[:400]}")
    check(len(header(m, "Date")) == 1 and len(header(m, "Message-ID")) == 1,
          f"Date and Message-ID added: {m[:400]}")
    check([f.strip() for f in header(m, "From")] == ["<nobody@mx.example.test>"] or
          header(m, "From")[0].strip().endswith("<nobody@mx.example.test>"),
          f"From from the user and hostname: {header(m, 'From')}")
    check(m.endswith("\n\nbody\n"), f"body intact: {m[-60:]!r}")
    pm = new_mail("postmaster")
    check(len(pm) == 1 and "Subject: t" in pm[0], f"bare root (Bcc) to postmaster: {len(pm)}")
    envs = queued()
    check(len(envs) == 1 and "\nrcpt pending carol@example.net\n" in envs[0]
          and "\nsender nobody@mx.example.test\n" in envs[0],
          f"carol's copy in the queue: {envs}")


def test_args_f_F():
    """recipients as arguments, -f SENDER and -F NAME; an existing From: is kept"""
    submit_ok(["-f", "robot@example.org", "-F", 'Build "Bot"', "bob"], "Subject: f\n\nx\n")
    pick_up()
    m = new_mail("bob")
    check(len(m) == 1, f"bob got it: {len(m)}")
    m = m[0]
    check(m.startswith("Return-Path: <robot@example.org>\n"), m[:100])
    check(header(m, "From") == [' "Build \\"Bot\\"" <nobody@mx.example.test>'],
          f"From: the -F name quoted: {header(m, 'From')}")
    submit_ok(["bob@example.test"], "From: me <me@example.org>\nSubject: g\n\nx\n")
    pick_up()
    m = new_mail("bob")[0]
    check(header(m, "From") == [" me <me@example.org>"], f"From kept: {header(m, 'From')}")


def test_dots():
    """a lone "." ends the input unless -i / -oi"""
    submit_ok(["bob"], "Subject: d\n\nline1\n..two\n.\nline2\n")
    pick_up()
    m = new_mail("bob")[0]
    check(m.endswith("\n\nline1\n..two\n"), f"stops at the dot, no unstuffing: {m[-40:]!r}")
    for flag in ("-i", "-oi", "-it"):
        submit_ok([flag, "bob"], "To: bob\nSubject: d\n\nline1\n.\nline2")
        pick_up()
        m = new_mail("bob")[0]
        check(m.endswith("\n\nline1\n.\nline2\n"), f"{flag}: the dot is data: {m[-40:]!r}")


def test_group():
    """-t with a group "undisclosed: a, b;" and CRLF line endings"""
    submit_ok(["-t"], "To: undisclosed recipients: bob@example.test,\r\n"
                      " \"Carol C.\" <carol@example.net>;\r\nSubject: grp\r\n\r\nhi\r\n")
    pick_up()
    m = new_mail("bob")
    check(len(m) == 1 and m[0].endswith("\n\nhi\n"), f"bob got it, LF endings: {m}")
    envs = queued()
    check(len(envs) == 1 and "rcpt pending carol@example.net" in envs[0], f"carol queued: {envs}")


def test_exit_codes():
    """bad flag 64, bad address 67 (argument) and 65 (header), over-size 65: nothing left"""
    cases = [(["-Z", "bob"], "x\n", EX_USAGE), (["bad address@@"], "x\n", EX_NOUSER),
             (["-t"], "To: a@@b\n\nx\n", EX_DATAERR), (["-t"], "To: bob@example.test carol\n\nx\n", EX_DATAERR), (["-t"], "Subject: none\n\nx\n", EX_USAGE),
             (["bob"], "Subject: big\n\n" + ("y" * 99 + "\n") * 2000, EX_DATAERR)]
    for args, data, want in cases:
        r = sendmail(args, data)
        check(r.returncode == want, f"sendmail {args}: exit {want}, got {r.returncode} {r.stderr!r}")
        check(maildrop() == [], f"sendmail {args}: nothing left in the maildrop: {maildrop()}")


def test_no_path_choice():
    """a user cannot move the maildrop: -c, -o queue_dir= refused; no write elsewhere"""
    for args in (["-o", f"queue_dir={W}/other", "bob"], ["-c", f"{W}/other/x.conf", "bob"],
                 ["-C", "/dev/null", "bob"]):
        r = sendmail(args, "Subject: x\n\nx\n")
        check(r.returncode == EX_NOPERM, f"{args}: EX_NOPERM, got {r.returncode} {r.stderr!r}")
    r = run_as(NOBODY, [W + "/bin/mailsock-postdrop", "-o", f"queue_dir={W}/other"],
               b"mailsock-maildrop 1\nrcpt bob\n\nx\nmailsock-end 32\n")
    check(r.returncode == EX_NOPERM, f"postdrop -o as a user: {r.returncode}")
    check(os.listdir(W + "/other") == [] and maildrop() == [], "nothing written anywhere")
    r = run_as(NOBODY, ["ls", W + "/queue/maildrop"])
    check(r.returncode != 0, f"a user cannot list the maildrop: {r.stdout!r}")


def test_full_disk():
    """a full file system: EX_TEMPFAIL (75) and no file left"""
    conf = open(W + "/etc/mailsock.conf").read()
    full = W + "/full"
    os.makedirs(full)
    sh("mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", full)
    try:
        gid = os.stat(W + "/queue").st_gid
        os.makedirs(full + "/queue/maildrop")
        os.chown(full + "/queue", 0, gid)
        os.chmod(full + "/queue", 0o710)
        os.chown(full + "/queue/maildrop", 0, gid)
        os.chmod(full + "/queue/maildrop", 0o1730)
        with open(W + "/etc/mailsock.conf", "w") as f:
            f.write(conf.replace(f"queue_dir = {W}/queue", f"queue_dir = {full}/queue")
                    .replace("max_message_size = 1024", "max_message_size = 10M"))
        r = sendmail(["bob"], "Subject: full\n\n" + ("z" * 99 + "\n") * 3000)
        check(r.returncode == 75, f"EX_TEMPFAIL: {r.returncode} {r.stderr!r}")
        check(os.listdir(full + "/queue/maildrop") == [], "nothing left in the maildrop")
    finally:
        with open(W + "/etc/mailsock.conf", "w") as f:
            f.write(conf)
        sh("umount", full)


def test_no_maildrop():
    """no maildrop: EX_CONFIG (78); a postdrop that is not setgid: EX_NOPERM (77)"""
    os.rename(W + "/queue/maildrop", W + "/queue/maildrop.away")
    try:
        r = sendmail(["bob"], "Subject: x\n\nx\n")
        check(r.returncode == 78, f"no maildrop: {r.returncode} {r.stderr!r}")
    finally:
        os.rename(W + "/queue/maildrop.away", W + "/queue/maildrop")
    # a copy without the setgid bit, where the user can reach it (a build
    # tree under a mode-0700 home is out of reach)
    plain = W + "/bin/postdrop-not-setgid"
    shutil.copy(BUILD + "/sendmail/mailsock-postdrop", plain)
    os.chmod(plain, 0o755)
    r = run_as(NOBODY, [W + "/bin/mailsock-sendmail", "bob"], b"Subject: x\n\nx\n",
               env={"MAILSOCK_POSTDROP": plain})
    check(r.returncode == 77 and maildrop() == [], f"not setgid: {r.returncode} {r.stderr!r}")


def test_incomplete():
    """postdrop keeps nothing when its input stops before the "mailsock-end" line"""
    body = b"mailsock-maildrop 1\nrcpt bob\n\nSubject: x\n\nhalf"
    r = run_as(NOBODY, [W + "/bin/mailsock-postdrop"], body)
    check(r.returncode == EX_DATAERR and maildrop() == [], f"truncated: {r.returncode} {maildrop()}")
    r = run_as(NOBODY, [W + "/bin/mailsock-postdrop"], body + b"\nmailsock-end 99\n")
    check(r.returncode == EX_DATAERR and maildrop() == [], f"wrong count: {r.returncode}")


def test_uid_is_real():
    """the trace names the submitting uid, whatever the message or -f say"""
    submit_ok(["-f", "nobody@mx.example.test", "bob"],
              "Received: by mx.example.test (mailsock-sendmail, from user root uid 0)\n"
              "Subject: forged\n\nx\n", user=DAEMON)
    pick_up()
    m = new_mail("bob")[0]
    first = header(m, "Received")[0]
    check("from user daemon uid 1)" in first, f"the first Received is daemon's: {first}")


def test_unknown_and_corrupt():
    """an unknown local user bounces to the sender; a file not in the format goes to corrupt/"""
    submit_ok(["-f", "bob@example.test", "nosuch@example.test"], "Subject: lost\n\nx\n")
    pick_up()
    m = new_mail("bob")
    check(len(m) == 1 and "Subject: Undelivered Mail Returned to Sender" in m[0]
          and "<nosuch@example.test>: 550 5.1.1" in m[0], f"a bounce for nosuch: {m}")
    r = run_as(NOBODY, [W + "/bin/mailsock-postdrop"], b"rcpt bob\n\nx\nmailsock-end 12\n")
    check(r.returncode == 0 and len(maildrop()) == 1, f"postdrop takes any framed bytes: {r}")
    pick_up()
    bad = os.listdir(W + "/queue/corrupt")
    check(len(bad) == 1 and bad[0].endswith(".drop") and new_mail("bob") == [],
          f"quarantined, not delivered: {bad}")
    os.unlink(f"{W}/queue/corrupt/{bad[0]}")


def with_conf(extra, aliases=None):
    """mailsock.conf with EXTRA lines (and an aliases file) for one case;
    returns the function that puts the old one back."""
    path = W + "/etc/mailsock.conf"
    old = open(path).read()
    if aliases is not None:
        with open(W + "/etc/aliases", "w") as f:
            f.write(aliases)
        extra += f"aliases = {W}/etc/aliases\n"
    with open(path, "a") as f:
        f.write(extra)

    def restore():
        with open(path, "w") as f:
            f.write(old)
    return restore


def test_alias():
    """sendmail honours the aliases file: root's mail to alice, not postmaster"""
    for sub in ("tmp", "new", "cur"):
        os.makedirs(f"{W}/mail/example.test/alice/{sub}", exist_ok=True)
    restore = with_conf("", "root: alice\nloop: loop2\nloop2: loop\n")
    try:
        submit_ok(["-t"], "To: root\nSubject: to root\n\nhi\n")
        pick_up()
        alice = new_mail("alice")
        check(len(alice) == 1 and "Subject: to root" in alice[0], f"alice got root's mail: {alice}")
        check(new_mail("postmaster") == [], "postmaster got nothing")
        submit_ok(["-f", "bob@example.test", "loop@example.test"], "Subject: looped\n\nx\n")
        pick_up()
        m = new_mail("bob")
        check(len(m) == 1 and "<loop@example.test>: 554 5.4.6" in m[0],
              f"an alias loop bounces to the sender with 554 5.4.6: {m}")
    finally:
        restore()
        shutil.rmtree(f"{W}/mail/example.test/alice")


def test_alias_broken():
    """a broken aliases file leaves the maildrop file for the next run, no bounce"""
    restore = with_conf("", "root alice\n")
    try:
        submit_ok(["-f", "bob@example.test", "root"], "Subject: later\n\nx\n")
        relay()
        check(len(maildrop()) == 1, f"the file stays in the maildrop: {maildrop()}")
        check(new_mail("bob") == [] and new_mail("postmaster") == [], "no bounce, no delivery")
    finally:
        restore()
    pick_up()
    check(len(new_mail("postmaster")) == 1, "the next run, file fixed, delivers it")


def test_alias_pipe():
    """a |command alias from sendmail is queued with rcpt-via pipe"""
    restore = with_conf("", 'robot: "|/bin/cat > /dev/null"\n')
    try:
        submit_ok(["robot"], "Subject: to robot\n\nx\n")
        pick_up()
        envs = queued()
        check(len(envs) == 1 and "\nrcpt pending robot@example.test\n"
              "rcpt-via pipe /bin/cat > /dev/null\n" in envs[0],
              f"robot's copy queued for the command: {envs}")
        check(new_mail("postmaster") == [], "not the bare-name fallback")
    finally:
        restore()


def test_local_lmtp():
    """local_delivery = lmtp:unix:... queues a sendmail recipient with rcpt-via lmtp"""
    restore = with_conf(f"local_delivery = lmtp:unix:{W}/lmtp.sock\n")
    try:
        submit_ok(["bob@example.test"], "Subject: to lmtp\n\nx\n")
        pick_up()
        envs = queued()
        check(len(envs) == 1 and "\nrcpt pending bob@example.test\n"
              f"rcpt-via lmtp unix:{W}/lmtp.sock\n" in envs[0],
              f"bob's copy queued for the LMTP server: {envs}")
        check(new_mail("bob") == [], "not in bob's Maildir")
    finally:
        restore()


def postdrop(content):
    """A hand-made maildrop file through postdrop, framed with its count."""
    data = b"mailsock-maildrop 1\n" + content
    r = run_as(NOBODY, [W + "/bin/mailsock-postdrop"],
               data + b"mailsock-end %d\n" % len(data))
    check(r.returncode == 0 and len(maildrop()) == 1, f"postdrop took it: {r}")


def test_leading_space():
    """content starting with HT cannot continue our Received field: it is body"""
    postdrop(b"rcpt bob\n\n\t(from user root uid 0)\nFrom: boss@example.test\n"
             b"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nbody\n")
    pick_up()
    m = new_mail("bob")
    check(len(m) == 1, f"delivered: {m}")
    received = header(m[0], "Received")
    check(len(received) == 1 and "root" not in received[0], f"our Received only: {received}")
    check("\n\n\t(from user root uid 0)\nFrom: boss" in m[0], f"the content is body: {m[0]!r}")
    check(len(header(m[0], "Date")) == 1 and len(header(m[0], "From")) == 1,
          f"our Date and From in the header: {m[0]!r}")


def test_bad_rcpt():
    """a maildrop rcpt the address parser refuses quarantines the file: no DSN with its bytes"""
    postdrop(b"rcpt bob\rX-Evil: yes@example.test\n\nSubject: x\n\nx\n")
    r = pick_up()
    bad = os.listdir(W + "/queue/corrupt")
    check(len(bad) == 1 and new_mail("bob") == [] and new_mail("postmaster") == []
          and queued() == [], f"quarantined, no delivery, no bounce: {bad} {r.stderr}")
    os.unlink(f"{W}/queue/corrupt/{bad[0]}")


def test_too_big():
    """content over max_message_size (1024 here), which postdrop lets by, is not delivered"""
    postdrop(b"rcpt bob\n\nSubject: big\n\n" + b"x" * 1999 + b"\n")
    pick_up()
    bad = os.listdir(W + "/queue/corrupt")
    check(len(bad) == 1 and new_mail("bob") == [], f"quarantined, not delivered: {bad}")
    os.unlink(f"{W}/queue/corrupt/{bad[0]}")
    postdrop(b"rcpt bob\n\nSubject: fits\n\n" + b"x" * 900 + b"\n")
    pick_up()
    check(len(new_mail("bob")) == 1, "one under the limit is delivered")


def test_killed_postdrop():
    """postdrop killed mid-copy (TERM, INT, HUP, QUIT) leaves nothing in the maildrop"""
    import signal
    import time
    e = {"PATH": "/usr/bin:/bin"}
    e.update({k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")})
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        p = subprocess.Popen(["setpriv", f"--reuid={NOBODY[0]}", f"--regid={NOBODY[1]}",
                              "--clear-groups", "--", W + "/bin/mailsock-postdrop"],
                             stdin=subprocess.PIPE, env=e, cwd="/")
        try:
            p.stdin.write(b"mailsock-maildrop 1\nrcpt bob\n\nSubject: slow\n\n")
            p.stdin.flush()
            for _ in range(600):            # a count of polls, not a time bound
                if maildrop():
                    break
                time.sleep(0.05)
            check(len(maildrop()) == 1, f"postdrop created its file: {maildrop()}")
            p.send_signal(sig)
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        check(rc == -sig, f"{sig.name}: postdrop died of it: {rc}")
        check(maildrop() == [], f"{sig.name}: nothing left in the maildrop: {maildrop()}")


def test_corrupt_reaped():
    """corrupt/*.drop older than 14 days is removed by a run; newer ones and queue entries stay"""
    os.makedirs(W + "/queue/corrupt", exist_ok=True)
    old = time.time() - 15 * 86400
    for name in ("old.drop", "new.drop", "old.env"):
        with open(f"{W}/queue/corrupt/{name}", "w") as f:
            f.write("x\n")
        if name.startswith("old"):
            os.utime(f"{W}/queue/corrupt/{name}", (old, old))
    pick_up()
    left = sorted(os.listdir(W + "/queue/corrupt"))
    for name in left:
        os.unlink(f"{W}/queue/corrupt/{name}")
    check(left == ["new.drop", "old.env"], f"only the old .drop went: {left}")


def test_setid_env():
    """a set-id sendmail ignores MAILSOCK_POSTDROP (secure_getenv): no other program runs"""
    fake = W + "/other/fake-postdrop"
    with open(fake, "w") as f:
        f.write(f"#!/bin/sh\ntouch {W}/other/ran\ncat >/dev/null\n")
    os.chmod(fake, 0o755)
    copy = W + "/other/sendmail-setgid"
    shutil.copy(W + "/bin/mailsock-sendmail", copy)
    os.chown(copy, 0, DAEMON[1])
    os.chmod(copy, 0o2755)
    try:
        run_as(NOBODY, [copy, "bob"], b"Subject: x\n\nx\n", env={"MAILSOCK_POSTDROP": fake})
        check(not os.path.exists(W + "/other/ran"), "the environment chose the program run")
    finally:
        for p in (fake, copy, W + "/other/ran"):
            if os.path.exists(p):
                os.unlink(p)


def test_overlapping_runs():
    """a maildrop file another run holds (flock) is left to it: no second copy"""
    import fcntl
    submit_ok(["bob"], "Subject: lock\n\nx\n")
    with open(f"{W}/queue/maildrop/{maildrop()[0]}") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        relay()
        check(len(maildrop()) == 1 and new_mail("bob") == [], "the held file is skipped")
    pick_up()
    check(len(new_mail("bob")) == 1, "picked up once released")


def test_bs():
    """-bs: an SMTP session on stdin"""
    r = sendmail(["-bs"], "EHLO me\r\nMAIL FROM:<nobody@mx.example.test>\r\n"
                          "RCPT TO:<bob@example.test>\r\nRCPT TO:<bad@@>\r\nDATA\r\n"
                          "Subject: bs\r\n\r\n..dot\r\n.\r\nQUIT\r\n")
    out = r.stdout.decode()
    codes = re.findall(r"^(\d{3}) ", out, re.M)
    check(r.returncode == 0 and codes == ["220", "250", "250", "250", "553", "354", "250", "221"],
          f"replies: {out!r}")
    pick_up()
    m = new_mail("bob")
    check(len(m) == 1 and m[0].endswith("\n\n.dot\n"), f"bob got it, unstuffed: {m}")


def test_mailq():
    """mailq / -bp: root sees the queue, a user is refused; -q as a user refused"""
    submit_ok(["dave@example.net"], "Subject: q\n\nx\n")
    pick_up()
    env = {"MAILSOCK_SMTP_RELAY": BUILD + "/smtp-relay/smtp-relay"}
    os.symlink(W + "/bin/mailsock-sendmail", W + "/bin/mailq")
    r = run_as(NOBODY, [W + "/bin/mailq"], env=env)
    check(r.returncode == EX_NOPERM and b"only root" in r.stderr, f"user mailq: {r}")
    r = run_as(NOBODY, [W + "/bin/mailsock-sendmail", "-q"], env=env)
    check(r.returncode == EX_NOPERM, f"user -q: {r.returncode}")
    r = subprocess.run([W + "/bin/mailq"], capture_output=True, text=True,
                       env=dict(os.environ, **env))
    check(r.returncode == 0 and "dave@example.net" in r.stdout, f"root's mailq: {r}")
    r = subprocess.run([W + "/bin/mailsock-sendmail", "-bp"], capture_output=True, text=True,
                       env=dict(os.environ, **env))
    check(r.returncode == 0 and "dave@example.net" in r.stdout, f"root's -bp: {r}")
    queued()


def test_ignored_flags():
    """the flags programs pass are accepted: -oem -odi -odb -oQ/x -v -B 8BITMIME -N never ..."""
    submit_ok(["-oem", "-odi", "-odb", "-oQ/var/x", "-v", "-B", "8BITMIME", "-N", "never",
               "-R", "hdrs", "-X", "/tmp/log", "-Am", "-U", "--", "bob"], "Subject: fl\n\nx\n")
    pick_up()
    check(len(new_mail("bob")) == 1, "delivered")
    # Debian cron's own command line
    submit_ok(["-FCronDaemon", "-i", "-B8BITMIME", "-oem", "bob"], "Subject: cron\n\nx\n")
    pick_up()
    m = new_mail("bob")
    check(len(m) == 1 and header(m[0], "From") == [' "CronDaemon" <nobody@mx.example.test>'],
          f"cron's flags: {m}")


def test_mailx():
    """mail(1): s-nail's "mail -s" with its mta set to ours"""
    if not shutil.which("s-nail"):
        raise Skip("s-nail not installed (scripts/test-packages.txt)")
    # -:/ reads no rc file; mta= is s-nail's sendmail (s-nail(1) "mta")
    r = run_as(NOBODY, ["s-nail", "-:/", "-S", f"mta={W}/bin/mailsock-sendmail", "-s",
                        "hello from mail", "bob@example.test"], b"mail body\n")
    check(r.returncode == 0, f"s-nail: {r}")
    check(len(maildrop()) == 1, f"one file in the maildrop: {maildrop()}")
    pick_up()
    m = new_mail("bob")
    check(len(m) == 1 and header(m[0], "Subject") == [" hello from mail"]
          and "uid 65534)" in m[0] and m[0].endswith("mail body\n"), f"mail's message: {m}")


def test_cron_python():
    """a cron-style job in Python: sendmail -t -oi, To: root, a dot line kept"""
    code = ("import subprocess, sys\n"
            "msg = 'To: root\\nSubject: Cron <nobody@host> job\\n\\n.\\noutput\\n'\n"
            f"r = subprocess.run([{W + '/bin/mailsock-sendmail'!r}, '-t', '-oi'], input=msg.encode())\n"
            "sys.exit(r.returncode)\n")
    r = run_as(NOBODY, [sys.executable, "-c", code])
    check(r.returncode == 0, f"python: {r}")
    pick_up()
    m = new_mail("postmaster")
    check(len(m) == 1 and m[0].endswith("\n\n.\noutput\n") and "Subject: Cron" in m[0],
          f"root's mail at the postmaster: {m}")


TESTS = [test_t, test_args_f_F, test_dots, test_group, test_exit_codes, test_no_path_choice,
         test_full_disk, test_no_maildrop, test_incomplete, test_uid_is_real, test_unknown_and_corrupt,
         test_leading_space, test_bad_rcpt, test_setid_env, test_too_big,
         test_killed_postdrop, test_corrupt_reaped,
         test_overlapping_runs, test_bs,
         test_mailq, test_ignored_flags, test_mailx, test_cron_python,
         test_alias, test_alias_broken, test_alias_pipe, test_local_lmtp]


def unreachable_conf():
    """The directory above the built-in configuration that other users
    cannot enter (make distcheck's prefix in root's mode-0700 home), or None."""
    d = os.path.dirname(conf_dir())
    while d != "/":
        if os.path.isdir(d) and not os.stat(d).st_mode & stat.S_IXOTH:
            return d
        d = os.path.dirname(d)
    return None


def main():
    passed = failed = skipped = 0
    closed = unreachable_conf()
    if closed:
        # postdrop, run by a user, reads the built-in configuration path
        print(f"SKIP: the built-in configuration is under {closed}, which other users cannot enter")
        print("0 passed, 0 failed, 1 skipped")
        return 1 if os.environ.get("CI") == "true" else 77
    try:
        setup()
        only = sys.argv[1:]
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            try:
                t()
                print(f"PASS: {t.__name__}: {t.__doc__}")
                passed += 1
            except Skip as why:
                print(f"SKIP: {t.__name__}: {why}")
                skipped += 1
            except Exception:
                print(f"FAIL: {t.__name__}: {t.__doc__}")
                traceback.print_exc(file=sys.stdout)
                failed += 1
            for p in maildrop():               # no case leaks into the next
                os.unlink(f"{W}/queue/maildrop/{p}")
            for box in ("bob", "postmaster"):
                new_mail(box)
            queued()
    finally:
        if CREATED:
            subprocess.run(["umount", conf_dir()])
            for d in reversed(CREATED):
                os.rmdir(d)
        if os.environ.get("KEEP"):
            print(f"kept {W}")
        elif W:
            subprocess.run(["umount", W])
            shutil.rmtree(W, ignore_errors=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if failed:
        return 1
    if skipped:
        return 1 if os.environ.get("CI") == "true" else 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
