#!/usr/bin/env python3
"""AUTH and submission with real clients over real loopback sockets
(systemd-socket-activate --accept --inetd, one smtpd-session per
connection): swaks --auth PLAIN/LOGIN, Python's smtplib login(), curl
--user; a real Dovecot started here as the auth_dovecot back end; the time
of an unknown login against a wrong password.  AUTH runs in clear here
(auth_require_tls = no: TLS is not this test's subject).

No password, nor its base64, may appear in the servers' logs (log_level =
debug) or in this test's own output.  Every process started here is
stopped by its PID.

Usage: auth_test.py SMTPD-SESSION
Exit 77 (skip) when a tool is missing and nothing failed; under CI=true a
skip exits 1."""
import base64
import crypt
import os
import pwd
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import socket_test  # noqa: E402  (the Server and the counters)
from socket_test import Server, check, skip, finish  # noqa: E402

PASSWORDS = {"alice@example.org": "alice-Secret-42", "tim@example.org": "tim-Timing-77",
             "locked@example.org": "locked-Nologin-5"}
WRONG = "wrong-Guess-13"
PRINTED = []


def secrets():
    """Every form a password could leak in: itself, and base64 of what
    PLAIN and LOGIN send."""
    out = []
    for login, pw in list(PASSWORDS.items()) + [("nobody@example.org", WRONG)]:
        out.append(pw)
        out.append(base64.b64encode(pw.encode()).decode())
        out.append(base64.b64encode(("\0%s\0%s" % (login, pw)).encode()).decode())
    return out


_print = print


def print(*args):            # noqa: A001  everything this test prints is kept
    line = " ".join(str(a) for a in args)
    PRINTED.append(line)
    _print(line, flush=True)


socket_test.print = print


def server_lines(text):
    """Only the server's side of a client's transcript (never the AUTH we sent)."""
    return "\n".join(l for l in text.splitlines() if l.startswith(("<-", "<~", "<**")))[-400:]


def write_users(srv, first_cost=11):
    """The users file, read by the session at each AUTH: tim's bcrypt hash
    first (the dummy an unknown login pays copies its settings), then
    alice's yescrypt hash."""
    lines = ["# login:hash",
             "tim@example.org:" + crypt.crypt(PASSWORDS["tim@example.org"],
                                              "$2b$%02d$" % first_cost + "abcdefghijklmnopqrstuu"),
             "alice@example.org:" + crypt.crypt(PASSWORDS["alice@example.org"],
                                                crypt.mksalt(crypt.METHOD_SHA512))]
    path = os.path.join(srv.root, "users")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o644)


def queued(srv):
    d = os.path.join(srv.root, "queue", "msg")
    return len(os.listdir(d)) if os.path.isdir(d) else 0


def test_swaks(srv):
    if not shutil.which("swaks"):
        skip("swaks", "not installed (Debian package swaks)")
        return
    for mech in ("LOGIN", "PLAIN"):
        before = queued(srv)
        r = subprocess.run(["swaks", "--server", "%s:%d" % (srv.host, srv.port),
                            "--auth", mech, "--auth-user", "alice@example.org",
                            "--auth-password", PASSWORDS["alice@example.org"],
                            "--from", "alice@example.org", "--to", "friend@elsewhere.example",
                            "--header", "Subject: swaks %s" % mech], capture_output=True, text=True,
                           timeout=60)
        check("swaks --auth %s: exit 0" % mech, r.returncode == 0, server_lines(r.stdout))
        check("swaks --auth %s: 235 2.7.0" % mech, "<-  235 2.7.0" in r.stdout, server_lines(r.stdout))
        check("swaks --auth %s: foreign recipient queued" % mech, queued(srv) == before + 1)
    r = subprocess.run(["swaks", "--server", "%s:%d" % (srv.host, srv.port), "--auth", "LOGIN",
                        "--auth-user", "alice@example.org", "--auth-password", WRONG,
                        "--from", "alice@example.org", "--to", "friend@elsewhere.example"],
                       capture_output=True, text=True, timeout=60)
    check("swaks wrong password: refused with 535 5.7.8",
          r.returncode != 0 and "<** 535 5.7.8" in r.stdout, server_lines(r.stdout))
    r = subprocess.run(["swaks", "--server", "%s:%d" % (srv.host, srv.port),
                        "--from", "alice@example.org", "--to", "friend@elsewhere.example"],
                       capture_output=True, text=True, timeout=60)
    check("swaks without AUTH on a submission port: 530 5.7.0",
          r.returncode != 0 and "<** 530 5.7.0" in r.stdout, server_lines(r.stdout))


def smtplib_login(srv, login, password, mechanism=None):
    with smtplib.SMTP(srv.host, srv.port, timeout=60) as c:
        c.ehlo("laptop.example")
        if mechanism:
            c.user, c.password = login, password
            return c.auth(mechanism, getattr(c, "auth_" + mechanism.lower()))
        return c.login(login, password)


def test_smtplib(srv):
    with smtplib.SMTP(srv.host, srv.port, timeout=60) as c:
        c.ehlo("laptop.example")
        check("smtplib: AUTH PLAIN LOGIN advertised", c.esmtp_features.get("auth", "").split() == ["PLAIN", "LOGIN"])
        code, _ = c.login("alice@example.org", PASSWORDS["alice@example.org"])
        check("smtplib login(): 235", code == 235)
        refused = c.sendmail("alice@example.org", ["friend@elsewhere.example"],
                             "From: alice@example.org\r\nSubject: smtplib\r\n\r\nhi\r\n")
        check("smtplib: relayed after login", refused == {})
        try:
            c.sendmail("bob@example.org", ["friend@elsewhere.example"], "Subject: x\r\n\r\nx\r\n")
            check("smtplib: another's sender refused", False)
        except smtplib.SMTPSenderRefused as e:
            check("smtplib: another's sender refused with 553 5.7.1", e.smtp_code == 553 and b"5.7.1" in e.smtp_error)
    code, _ = smtplib_login(srv, "alice@example.org", PASSWORDS["alice@example.org"], "LOGIN")
    check("smtplib auth LOGIN: 235", code == 235)
    try:
        smtplib_login(srv, "alice@example.org", WRONG)
        check("smtplib wrong password refused", False)
    except smtplib.SMTPAuthenticationError as e:
        check("smtplib wrong password: 535 5.7.8", e.smtp_code == 535 and e.smtp_error.startswith(b"5.7.8"))


def test_curl(srv):
    if not shutil.which("curl"):
        skip("curl", "not installed (Debian package curl)")
        return
    for mech in ("PLAIN", "LOGIN"):
        before = queued(srv)
        mail = b"From: alice@example.org\r\nSubject: curl\r\n\r\nhi from curl\r\n"
        r = subprocess.run(["curl", "-sS", "--url", "smtp://%s:%d" % (srv.host, srv.port),
                            "--user", "alice@example.org:" + PASSWORDS["alice@example.org"],
                            "--login-options", "AUTH=" + mech,
                            "--mail-from", "alice@example.org", "--mail-rcpt", "friend@elsewhere.example",
                            "--upload-file", "-"], input=mail, capture_output=True, timeout=60)
        check("curl --user AUTH=%s: exit 0" % mech, r.returncode == 0, r.stderr[-200:])
        check("curl --user AUTH=%s: queued" % mech, queued(srv) == before + 1)


def timed_login(srv, login, password):
    start = time.monotonic()
    try:
        smtplib_login(srv, login, password, "PLAIN")    # one attempt: login() would try two
        ok = True
    except smtplib.SMTPAuthenticationError:
        ok = False
    return ok, time.monotonic() - start


def test_timing(srv, rounds=5):
    """An unknown login costs about what a wrong password costs: both pay
    the pause and one bcrypt (cost 11: a tenth of a second or more) of work.
    Without the dummy hash an unknown login would take the pause alone
    (measured: 0.006 s beyond it against 0.131 s, a ratio of 0.05).
    The pause (1 s, a sleep) is taken off both, and the fastest of several
    tries is compared: load only ever adds time.  The bound, 0.25x-4x, is
    wide for a shared machine and still far from 0.05."""
    unknown, wrong = [], []
    for _ in range(rounds):
        ok1, t1 = timed_login(srv, "nobody@example.org", WRONG)
        ok2, t2 = timed_login(srv, "tim@example.org", WRONG)
        check("timing: both refused", not ok1 and not ok2)
        unknown.append(t1)
        wrong.append(t2)
    u, w = min(unknown) - 1.0, min(wrong) - 1.0
    print("timing: fastest unknown login %.3f s, wrong password %.3f s (beyond the 1 s pause)" % (u, w))
    check("timing: both paid the pause", min(unknown + wrong) >= 1.0)
    check("timing: unknown login within 0.25x-4x of a wrong password", w > 0 and 0.25 <= u / w <= 4.0,
          "unknown %.3f wrong %.3f" % (u, w))


DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = lmtp
ssl = no
auth_failure_delay = 0
default_internal_user = nobody
default_login_user = nobody
mail_location = maildir:{d}/mail/%d/%n
first_valid_uid = 1
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=CRYPT {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/home/%d/%n
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
"""


class Dovecot:
    """A private Dovecot (never the system one): its own base_dir, stopped
    by the PID in its master.pid."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mailsock-dovecot-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=self.dir))
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("alice@example.org:{CRYPT}%s::::::\n" %
                    crypt.crypt(PASSWORDS["alice@example.org"], crypt.mksalt(crypt.METHOD_SHA512)))
            # Dovecot answers OK with "nologin" for it: not a login here
            f.write("locked@example.org:{CRYPT}%s::::::nologin\n" %
                    crypt.crypt(PASSWORDS["locked@example.org"], crypt.mksalt(crypt.METHOD_SHA512)))
        self.socket = os.path.join(self.dir, "run", "auth-client")
        self.pid = None
        # (it forks into the background: no pipes, or they would stay open)
        with open(os.path.join(self.dir, "start.err"), "w") as err:
            r = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=err, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("dovecot did not start (exit %d)" % r.returncode)
        deadline = time.monotonic() + 10
        pidfile = os.path.join(self.dir, "run", "master.pid")
        while time.monotonic() < deadline and not (os.path.exists(pidfile) and os.path.exists(self.socket)):
            time.sleep(0.05)
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                self.pid = int(f.read().split()[0])
        if not os.path.exists(self.socket):
            self.stop()
            raise RuntimeError("dovecot made no auth-client socket")

    def stop(self):
        pid, self.pid = self.pid, None
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_dovecot(binary):
    if not shutil.which("dovecot"):
        skip("dovecot", "not installed (Debian package dovecot-core)")
        return
    if os.geteuid() != 0:
        skip("dovecot", "a private Dovecot needs root")
        return
    srv = dc = None
    try:
        dc = Dovecot()
        srv = Server(binary, extra_conf="auth_dovecot = %s\nauth_require_tls = no\nsubmission = yes\n"
                     "log_level = debug\n" % dc.socket)
        code, _ = smtplib_login(srv, "alice@example.org", PASSWORDS["alice@example.org"])
        check("dovecot: PLAIN login accepted (235)", code == 235)
        code, _ = smtplib_login(srv, "alice@example.org", PASSWORDS["alice@example.org"], "LOGIN")
        check("dovecot: LOGIN login accepted (235)", code == 235)
        for who in ("alice@example.org", "nobody@example.org"):
            try:
                smtplib_login(srv, who, WRONG)
                check("dovecot: %s with a wrong password refused" % who, False)
            except smtplib.SMTPAuthenticationError as e:
                check("dovecot: %s with a wrong password: 535 5.7.8" % who, e.smtp_code == 535)
        try:
            smtplib_login(srv, "locked@example.org", PASSWORDS["locked@example.org"])
            check("dovecot: a nologin account refused", False)
        except smtplib.SMTPAuthenticationError as e:
            check("dovecot: a nologin account: 535 5.7.8", e.smtp_code == 535, e.smtp_error)
        dc.stop()          # the answers above were Dovecot's: without it, 454
        try:
            smtplib_login(srv, "alice@example.org", PASSWORDS["alice@example.org"])
            check("dovecot stopped: login refused", False)
        except smtplib.SMTPAuthenticationError as e:
            check("dovecot stopped: 454 4.7.0", e.smtp_code == 454, e.smtp_error)
        check_no_secret("dovecot: session log", srv.logtext())
    finally:
        if srv:
            srv.stop()
        if dc:
            dc.stop()


def check_no_secret(name, text):
    leaked = [s for s in secrets() if s in text]
    check("%s: no password, nor its base64" % name, not leaked)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: auth_test.py SMTPD-SESSION")
    binary = sys.argv[1]
    if not shutil.which("systemd-socket-activate"):
        skip("all", "systemd-socket-activate not found (Debian package systemd)")
        finish()
    srv = Server(binary, extra_conf="auth_users = {root}/users\nauth_require_tls = no\n"
                 "submission = yes\nlog_level = debug\n")
    try:
        write_users(srv)
        test_swaks(srv)
        test_smtplib(srv)
        test_curl(srv)
        test_timing(srv)
        log = srv.logtext()
        check("log names the login (auth=alice@example.org)", "auth=alice@example.org" in log)
        check("log says when a login failed", "event=auth mechanism=LOGIN result=failed" in log)
        check_no_secret("session log (debug)", log)
    finally:
        srv.stop()
    test_dovecot(binary)
    check_no_secret("this test's output", "\n".join(PRINTED))
    finish()


if __name__ == "__main__":
    main()
