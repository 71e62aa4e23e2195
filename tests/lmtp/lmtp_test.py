"""LMTP delivery (local_delivery = lmtp:...) against real parts.

  Dovecot        its own config, base_dir and log under a temporary
                 directory, protocols = lmtp, a passwd-file of users, the
                 lmtp socket (mode 0666) in its base_dir: the real LMTP
                 server of local domains.  Started with `dovecot -c FILE`,
                 stopped by the PID in base_dir/master.pid.
  aiosmtpd LMTP  the list server on 127.0.0.1:PORT, standing in for
                 Mailman 3 (whose LMTP runner needs a whole Mailman
                 installation: a database, its runners and a system user).
  scripted LMTP  a small server that closes the connection after the final
                 "." without a reply, once (fault injection).

Mail goes in through a real smtpd-session on a pipe and out through a real
smtp-relay run.  Run: tests/lmtp.sh [CASE...]
"""
import asyncio
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

BUILD = os.environ.get("top_builddir", ".")
RELAY = os.path.join(BUILD, "smtp-relay", "smtp-relay")
SESSION = os.path.join(BUILD, "smtpd-session", "smtpd-session")


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Dovecot:
    """A private Dovecot LMTP server; never the system one."""

    def __init__(self, top):
        self.dir = os.path.join(top, "dovecot")
        self.base = os.path.join(self.dir, "base")
        self.mail = os.path.join(self.dir, "mail")
        self.users = os.path.join(self.dir, "users")
        self.socket = os.path.join(self.base, "lmtp")
        for d in (self.base, os.path.join(self.dir, "state"), self.mail):
            os.makedirs(d)
        os.chmod(top, 0o755)
        os.chmod(self.dir, 0o755)
        os.chmod(self.mail, 0o777)       # Dovecot writes as nobody
        self.set_users("alice", "bob", "postmaster", "tiny")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        d = self.dir
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {self.base}
state_dir = {d}/state
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = lmtp
ssl = no
default_internal_user = nobody
default_login_user = nobody
mail_location = maildir:{self.mail}/%d/%n
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%n {self.users}
}}
userdb {{
  driver = passwd-file
  args = username_format=%n {self.users}
}}
# tiny's quota (1 KiB, from its userdb line) is checked when the message is
# saved, after the final ".": a per-recipient refusal there (RFC 2033 4.2)
mail_plugins = quota
plugin {{
  quota = maildir:User quota
}}
lmtp_rcpt_check_quota = no
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
""")
        self.running = False

    def set_users(self, *names):
        hashed = "{CRYPT}$6$salt$Nr2ScqdP7CO/2J02tLhR3PYWnh3gOaPJhDSh0QG8jjTqhZlm0mMB7LgU9RhH0nQ0rMkeqpK14n2gK8fmUKRrX."
        import pwd
        nobody = pwd.getpwnam("nobody")
        ids = f"{nobody.pw_uid}:{nobody.pw_gid}"
        tmp = self.users + ".tmp"
        with open(tmp, "w") as f:
            for n in names:
                extra = "userdb_quota_rule=*:storage=1" if n == "tiny" else ""
                f.write(f"{n}:{hashed}:{ids}::{self.mail}/local.test/{n}::{extra}\n")
        # Dovecot rereads a passwd-file when its mtime (in seconds) changes:
        # each version gets a later one
        self.stamp = getattr(self, "stamp", int(time.time())) + 10
        os.utime(tmp, (self.stamp, self.stamp))
        os.rename(tmp, self.users)

    def knows(self, user):
        """Dovecot's own answer to RCPT for user@local.test."""
        import smtplib
        s = smtplib.LMTP(self.socket)
        try:
            s.docmd("LHLO", "test")
            s.docmd("MAIL FROM:<>")
            return s.docmd(f"RCPT TO:<{user}@local.test>")[0] == 250
        finally:
            s.close()

    def wait_knows(self, user, want):
        deadline = time.time() + 20
        while self.knows(user) != want and time.time() < deadline:
            time.sleep(0.2)
        check(self.knows(user) == want, f"Dovecot {'knows' if want else 'forgot'} {user}")

    def master_pid(self):
        try:
            with open(os.path.join(self.base, "master.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def start(self):
        # The daemon must not hold the test's output open (a pipe reader
        # would wait for it): its log goes to log_path.
        subprocess.run(["dovecot", "-c", self.conf], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running = True
        deadline = time.time() + 10
        while not (os.path.exists(self.socket) and self.master_pid()) and time.time() < deadline:
            time.sleep(0.05)
        check(os.path.exists(self.socket), "Dovecot made its lmtp socket")

    def stop(self):
        if not self.running:
            return
        deadline = time.time() + 10
        while self.master_pid() is None and time.time() < deadline:
            time.sleep(0.05)
        pid = self.master_pid()
        check(pid is not None, "Dovecot wrote master.pid")
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.running = False

    def messages(self, user, domain="local.test"):
        d = os.path.join(self.mail, domain, user, "new")
        if not os.path.isdir(d):
            return []
        return [open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))]


class Case:
    """A fresh queue, mail root and config for one test."""

    def __init__(self, top, name, spec):
        self.dir = os.path.join(top, name)
        self.queue = os.path.join(self.dir, "queue")
        self.mail = os.path.join(self.dir, "mail")
        os.makedirs(self.mail)
        self.conf = os.path.join(self.dir, "mailsock.conf")
        with open(self.conf, "w") as f:
            f.write(f"""hostname = relay.test
domains = local.test
mail_root = {self.mail}
queue_dir = {self.queue}
local_delivery = lmtp:{spec}
connect_timeout = 2s
greeting_timeout = 5s
command_timeout = 5s
data_timeout = 10s
log_level = debug
""")
        self.log = os.path.join(self.dir, "relay.log")

    def session(self, sender, rcpts, body="Subject: test\n\nHello.\n"):
        lines = ["EHLO client.test", f"MAIL FROM:<{sender}>"]
        lines += [f"RCPT TO:<{r}>" for r in rcpts]
        lines += ["DATA"] + body.rstrip("\n").split("\n") + [".", "QUIT"]
        script = "".join(l + "\r\n" for l in lines).encode()
        r = subprocess.run([SESSION, "-c", self.conf], input=script, capture_output=True,
                           timeout=30)
        with open(self.log, "ab") as log:
            log.write(r.stderr)
        # a sanitizer's report makes the exit status non-zero
        check(r.returncode == 0, f"smtpd-session exited {r.returncode}: {r.stderr[-2000:]}")
        return r.stdout.decode()

    def submit(self, sender, rcpts, body="Subject: test\n\nHello.\n"):
        out = self.session(sender, rcpts, body)
        check("queued as" in out, f"the session queued the message: {out}")
        return out.split("queued as ")[1].split()[0]

    def relay(self, *args):
        with open(self.log, "a") as log:
            r = subprocess.run([RELAY, "-c", self.conf, *args], stdout=subprocess.PIPE,
                               stderr=log, timeout=60)
        check(r.returncode == 0, f"smtp-relay exited {r.returncode}")

    def entries(self):
        d = os.path.join(self.queue, "env")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def envelope(self, qid):
        with open(os.path.join(self.queue, "env", qid)) as f:
            return f.read()

    def message(self, qid):
        with open(os.path.join(self.queue, "msg", qid), "rb") as f:
            return f.read()


DOVECOT = None


def rcpt_replies(out):
    return [l for l in out.splitlines() if l[:3] in ("250", "550", "451") and "Recipient" in l
            or l.startswith(("550", "451"))]


def test_dovecot_delivery(top):
    """a local recipient is queued with rcpt-via lmtp and lands in Dovecot's Maildir"""
    c = Case(top, "delivery", "unix:" + DOVECOT.socket)
    qid = c.submit("sender@remote.test", ["alice@local.test"],
                   "Subject: to dovecot\n\nthe body line\n")
    env = c.envelope(qid)
    check(f"rcpt-via lmtp unix:{DOVECOT.socket}\n" in env, f"rcpt-via line in: {env}")
    check(os.listdir(c.mail) == [], "nothing written under mail_root")
    c.relay()
    got = DOVECOT.messages("alice")
    check(len(got) == 1, f"one message in alice's Dovecot Maildir: {len(got)}")
    check(b"the body line" in got[0] and b"Subject: to dovecot" in got[0], got[0][:400])
    check(got[0].count(b"Return-Path:") == 1, "one Return-Path (Dovecot's, ours not sent)")
    check(c.entries() == [], f"the entry is removed: {c.entries()}")
    check("status=sent" in open(c.log).read(), "logged as sent")


def test_unknown_user_at_rcpt(top):
    """an unknown user gets 550 5.1.1 at RCPT time: nothing queued, no bounce"""
    c = Case(top, "unknown", "unix:" + DOVECOT.socket)
    out = c.session("sender@remote.test", ["carol@local.test"])
    check("550 5.1.1" in out, f"550 5.1.1 for carol: {out}")
    check("queued as" not in out, f"nothing queued: {out}")
    out = c.session("sender@remote.test", ["carol@local.test", "bob@local.test"])
    check("550 5.1.1" in out and "queued as" in out, f"bob accepted, carol refused: {out}")
    env = c.envelope(c.entries()[0])
    check("bob@local.test" in env and "carol" not in env, env)


def test_dovecot_down(top):
    """Dovecot stopped: RCPT gets 451 4.4.1, a queued message is deferred, then
    delivered once by a later run when Dovecot is back"""
    c = Case(top, "down", "unix:" + DOVECOT.socket)
    before = len(DOVECOT.messages("bob"))
    qid = c.submit("sender@remote.test", ["bob@local.test"], "Subject: later\n\nretry me\n")
    DOVECOT.stop()
    try:
        out = c.session("sender@remote.test", ["alice@local.test"])
        check("451 4.4.1" in out, f"451 4.4.1 while Dovecot is down: {out}")
        check("queued as" not in out, out)
        c.relay()
        check(c.entries() == [qid], f"the entry stays: {c.entries()}")
        env = c.envelope(qid)
        check("rcpt pending bob@local.test" in env and "rcpt-error 451 4.4.1" in env, env)
        check("attempts 1" in env, env)
    finally:
        DOVECOT.start()
    c.relay("-f")
    got = DOVECOT.messages("bob")
    check(len(got) == before + 1 and b"retry me" in got[-1], f"delivered once: {len(got)}")
    check(c.entries() == [], "the entry is removed")
    c.relay("-f")
    check(len(DOVECOT.messages("bob")) == before + 1, "not delivered twice")


def test_rcpt_check_reconnects(top):
    """the session's kept LMTP connection is gone (Dovecot restarted between
    two RCPTs): the next RCPT opens a new one instead of failing"""
    c = Case(top, "reconnect", "unix:" + DOVECOT.socket)
    p = subprocess.Popen([SESSION, "-c", c.conf], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        def say(line):
            p.stdin.write(line.encode() + b"\r\n")
            p.stdin.flush()
            while True:
                reply = p.stdout.readline().decode()
                if reply[3:4] != "-":
                    return reply
        p.stdout.readline()                              # greeting
        say("EHLO client.test")
        say("MAIL FROM:<sender@remote.test>")
        check(say("RCPT TO:<alice@local.test>").startswith("250"), "alice accepted")
        DOVECOT.stop()
        DOVECOT.start()
        reply = say("RCPT TO:<bob@local.test>")
        check(reply.startswith("250"), f"bob accepted on a new connection: {reply}")
        reply = say("RCPT TO:<carol@local.test>")
        check(reply.startswith("550 5.1.1"), f"carol still refused: {reply}")
        say("QUIT")
    finally:
        p.stdin.close()
        p.wait(20)


def test_mixed_outcomes(top):
    """bob, removed between the session's RCPT and delivery, is refused by
    Dovecot and bounced (550 5.1.1 in a DSN); alice is delivered"""
    c = Case(top, "mixed", "unix:" + DOVECOT.socket)
    before = len(DOVECOT.messages("alice"))
    qid = c.submit("sender@remote.test", ["alice@local.test", "bob@local.test"],
                   "Subject: mixed\n\nfor two\n")
    DOVECOT.set_users("alice", "postmaster", "tiny")
    try:
        DOVECOT.wait_knows("bob", False)
        c.relay()
    finally:
        DOVECOT.set_users("alice", "bob", "postmaster", "tiny")
        DOVECOT.wait_knows("bob", True)
    got = DOVECOT.messages("alice")
    check(len(got) == before + 1 and b"for two" in got[-1], "alice got it")
    check(qid not in c.entries(), "the entry is finished")
    bounces = [e for e in c.entries() if e != qid]
    check(len(bounces) == 1, f"one bounce queued for the remote sender: {c.entries()}")
    env = c.envelope(bounces[0])
    check("rcpt pending sender@remote.test" in env and "\nsender \n" in env, env)
    dsn = email.message_from_bytes(c.message(bounces[0]), policy=email.policy.default)
    check(dsn.get_content_type() == "multipart/report", "a DSN (RFC 3464)")
    status = list(dsn.iter_parts())[1].as_string()
    check("Final-Recipient: rfc822; bob@local.test" in status, status)
    check("Status: 5.1.1" in status and "Action: failed" in status, status)
    check("alice" not in status, "alice is not in the DSN")


def test_quota_after_dot(top):
    """Dovecot's per-recipient replies after the dot: alice 250 delivered,
    tiny (over quota) 552 5.2.2 bounced, in one transaction"""
    c = Case(top, "quota", "unix:" + DOVECOT.socket)
    before = len(DOVECOT.messages("alice"))
    body = "Subject: big\n\n" + ("y" * 70 + "\n") * 40
    qid = c.submit("sender@remote.test", ["alice@local.test", "tiny@local.test"], body)
    c.relay()
    check(len(DOVECOT.messages("alice")) == before + 1, "alice got it")
    check(DOVECOT.messages("tiny") == [], "tiny's mailbox stays empty")
    log = open(c.log).read()
    check("rcpt=tiny@local.test status=bounced" in log and "enh=5.2.2" in log, log[-2000:])
    check(log.count("event=attempt") == 2, "one attempt for each recipient")
    check(qid not in c.entries(), "the entry is finished")
    bounces = [e for e in c.entries() if e != qid]
    check(len(bounces) == 1, f"one DSN: {c.entries()}")
    dsn = c.message(bounces[0]).decode()
    check("Final-Recipient: rfc822; tiny@local.test" in dsn and "Status: 5.2.2" in dsn, dsn)
    check("Final-Recipient: rfc822; alice" not in dsn, "alice is not bounced")


class ListHandler:
    """aiosmtpd LMTP handler: the list server (Mailman 3 takes list mail the
    same way).  Knows list@local.test only."""

    def __init__(self):
        self.messages = []

    KNOWN = ("list@local.test", "full@local.test", "gone@local.test", "owner@local.test")

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.lower() not in self.KNOWN:
            return "550 5.1.1 no such list"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        # RFC 2033 4.2: one reply per recipient; full@ is over quota for now,
        # gone@ was removed since RCPT
        replies = []
        for rcpt in envelope.rcpt_tos:
            if rcpt.startswith("full@"):
                replies.append("452 4.2.2 mailbox full")
            elif rcpt.startswith("gone@"):
                replies.append("550 5.1.1 list removed")
            else:
                replies.append("250 2.0.0 queued for the list")
                self.messages.append((envelope.mail_from, [rcpt], envelope.content))
        return "\r\n".join(replies)


def start_list_server():
    from aiosmtpd.lmtp import LMTP
    handler = ListHandler()
    loop = asyncio.new_event_loop()
    port = free_port()
    ready = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        srv = loop.run_until_complete(loop.create_server(
            lambda: LMTP(handler, loop=loop), "127.0.0.1", port))
        handler.server = srv
        ready.set()
        loop.run_forever()
        srv.close()
        loop.run_until_complete(srv.wait_closed())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(10)
    return handler, port, loop, t


def test_list_server(top):
    """a list at an LMTP server on 127.0.0.1:PORT (aiosmtpd's LMTP class as
    Mailman 3): the list address is taken, another is refused at RCPT"""
    handler, port, loop, t = start_list_server()
    try:
        c = Case(top, "list", f"127.0.0.1:{port}")
        out = c.session("sender@remote.test", ["nolist@local.test"])
        check("550 5.1.1" in out and "queued as" not in out, f"no such list: {out}")
        qid = c.submit("sender@remote.test", ["list@local.test"], "Subject: hi list\n\nposting\n")
        check(f"rcpt-via lmtp 127.0.0.1:{port}" in c.envelope(qid), c.envelope(qid))
        c.relay()
        check(len(handler.messages) == 1, f"the list server got one message: {handler.messages}")
        frm, tos, content = handler.messages[0]
        check(frm == "sender@remote.test" and tos == ["list@local.test"], (frm, tos))
        check(b"posting" in content and not content.startswith(b"Return-Path"), content[:200])
        check(c.entries() == [], "the entry is removed")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)


class ClosingServer:
    """An LMTP server that, on its first transaction, reads the whole
    message and closes without a reply; later ones are answered 250 per
    recipient.  Counts the messages it answered (delivered)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.transactions = 0
        self.delivered = []
        self.stopping = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self.serve(conn.makefile("rwb", buffering=0), conn)
            except OSError:
                pass
            conn.close()

    def serve(self, f, conn):
        f.write(b"220 closing.test LMTP\r\n")
        rcpts = []
        while True:
            line = f.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"LHLO":
                f.write(b"250-closing.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"MAIL":
                rcpts = []
                f.write(b"250 2.1.0 OK\r\n")
            elif verb == b"RCPT":
                rcpts.append(line)
                f.write(b"250 2.1.5 OK\r\n")
            elif verb == b"DATA":
                f.write(b"354 go\r\n")
                body = b""
                while True:
                    l = f.readline()
                    if not l or l == b".\r\n":
                        break
                    body += l
                self.transactions += 1
                if self.transactions == 1:
                    conn.shutdown(socket.SHUT_RDWR)
                    return                       # no reply after the dot
                self.delivered.append(body)
                f.write(b"250 2.0.0 OK\r\n" * len(rcpts))
            elif verb == b"QUIT":
                f.write(b"221 bye\r\n")
                return
            else:
                f.write(b"250 OK\r\n")

    def close(self):
        self.stopping = True
        self.sock.close()


def test_close_after_data(top):
    """the LMTP server closes after the dot without replying: deferred, not
    lost, and delivered once by the next run"""
    srv = ClosingServer()
    try:
        c = Case(top, "close", f"127.0.0.1:{srv.port}")
        qid = c.submit("sender@remote.test", ["list@local.test"], "Subject: f\n\nfault\n")
        c.relay()
        check(srv.transactions == 1 and srv.delivered == [], "one unanswered transaction")
        check(c.entries() == [qid], "the entry stays")
        env = c.envelope(qid)
        check("rcpt pending list@local.test" in env and "no reply to the end of data" in env, env)
        c.relay("-f")
        check(len(srv.delivered) == 1 and b"fault" in srv.delivered[0],
              f"delivered by the next run: {srv.delivered}")
        check(c.entries() == [], "the entry is removed")
        c.relay("-f")
        check(srv.transactions == 2, f"not sent again: {srv.transactions} transactions")
    finally:
        srv.close()


def test_per_recipient_codes(top):
    """one transaction, one reply per recipient after the dot: 250 delivered,
    452 deferred (retried), 550 bounced; the DSN to a local sender goes to
    the LMTP server too"""
    handler, port, loop, t = start_list_server()
    try:
        c = Case(top, "codes", f"127.0.0.1:{port}")
        qid = c.submit("owner@local.test", ["list@local.test", "full@local.test",
                                             "gone@local.test"], "Subject: three\n\nthree ways\n")
        c.relay()
        got = [(f, tos) for f, tos, _ in handler.messages]
        check(got == [("owner@local.test", ["list@local.test"])], f"list@ delivered once: {got}")
        env = c.envelope(qid)
        check("rcpt delivered list@local.test" in env, env)
        check("rcpt pending full@local.test" in env and "rcpt-error 452 4.2.2" in env, env)
        check("rcpt failed gone@local.test" in env, env)
        bounces = [e for e in c.entries() if e != qid]
        check(len(bounces) == 1, f"one DSN queued: {c.entries()}")
        denv = c.envelope(bounces[0])
        check(f"rcpt pending owner@local.test\nrcpt-via lmtp 127.0.0.1:{port}\n" in denv, denv)
        check(b"gone@local.test" in c.message(bounces[0]), "the DSN names gone@")
        handler.messages.clear()
        c.relay("-f")          # the DSN to owner@, and full@ again (still full)
        got = [(f, tos) for f, tos, _ in handler.messages]
        check(got == [("<>", ["owner@local.test"])], f"the DSN went to owner@ only: {got}")
        env = c.envelope(qid)
        check("rcpt pending full@local.test" in env and "attempts 2" in env, env)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)


TESTS = [test_dovecot_delivery, test_unknown_user_at_rcpt, test_dovecot_down,
         test_rcpt_check_reconnects, test_mixed_outcomes, test_quota_after_dot,
         test_list_server, test_per_recipient_codes, test_close_after_data]


def main():
    global DOVECOT
    # a SIGTERM (timeout(1), make) ends the run through the finally below,
    # which stops Dovecot
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    top = tempfile.mkdtemp(prefix="mailsock-lmtp.")
    passed = failed = 0
    only = sys.argv[1:]
    unknown = set(only) - {t.__name__ for t in TESTS}
    if unknown:
        print(f"FAIL: no such case: {' '.join(sorted(unknown))}")
        failed += 1
    try:
        DOVECOT = Dovecot(top)
        DOVECOT.start()
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            try:
                t(top)
                print(f"PASS: {t.__name__}: {t.__doc__}")
                passed += 1
            except Exception:
                print(f"FAIL: {t.__name__}: {t.__doc__}")
                traceback.print_exc(file=sys.stdout)
                for log in (os.path.join(top, n, "relay.log") for n in os.listdir(top)):
                    if os.path.exists(log):
                        print(f"---- {log} ----\n" + open(log).read()[-3000:])
                failed += 1
    finally:
        if DOVECOT:
            DOVECOT.stop()
        if os.environ.get("KEEP"):
            print(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
