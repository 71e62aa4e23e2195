#!/usr/bin/env python3
"""smtp-relay's TLS on real loopback sockets: STARTTLS to aiosmtpd started
with a certificate that demands it, to a second smtpd-session that offers
none (relay_tls may/encrypt), to one whose handshake fails (may falls back
to clear at once), certificate checks against a test CA (verify), and a
smarthost on a 587-like (STARTTLS) and a 465-like (implicit TLS) port with
AUTH PLAIN or LOGIN: aiosmtpd's authenticator, and a second smtpd-session
with submission = yes and auth_users.

Usage: relay_test.py SMTPD-SESSION SMTP-RELAY
Exit 77 when a part was skipped and nothing failed (1 under CI=true)."""
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from socket_test import check, skip, finish, free_port, wait_for  # noqa: E402
from server_test import Server, make_cert  # noqa: E402

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:
    Controller = None

SESSION = RELAY = None
LOGIN, PASSWORD = "relay@example.net", "s3cret-Pa55"


class Sink:
    """An aiosmtpd handler that keeps what it got."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content,
                              session.ssl is not None, getattr(session, "auth_data", None)))
        return "250 2.0.0 OK"


def authenticator(seen):
    def check_login(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == LOGIN.encode()
              and auth_data.password == PASSWORD.encode())
        seen.append((mechanism, ok))
        return AuthResult(success=ok, handled=False)
    return check_login


def make_ca(d):
    """A test CA and two server certificates it signed: one for 127.0.0.1,
    one for another name."""
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    run = lambda *a: subprocess.run(list(a), check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=mailsock test CA")
    out = {}
    for name, san in (("good", "IP:127.0.0.1"), ("wrong", "DNS:wrong.example")):
        key, csr, crt = (os.path.join(d, name + ext) for ext in (".key", ".csr", ".pem"))
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        ext = os.path.join(d, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName = %s\n" % san)
        run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", crt, "-days", "2", "-extfile", ext)
        out[name] = (crt, key)
    return ca, out


class Case:
    """A queue with one message for rcpt@remote.example, and smtp-relay
    sending everything to a smarthost on 127.0.0.1:port."""

    def __init__(self, top, name, port, extra=""):
        self.dir = os.path.join(top, name)
        os.makedirs(os.path.join(self.dir, "mail", "local.test"))
        self.queue = os.path.join(self.dir, "queue")
        self.conf = os.path.join(self.dir, "mailsock.conf")
        with open(self.conf, "w") as f:
            f.write("hostname = relay.test\ndomains = local.test\nmail_root = %s/mail\nqueue_dir = %s\n"
                    "smarthost = [127.0.0.1]:%d\nconnect_timeout = 5s\ngreeting_timeout = 10s\n"
                    "command_timeout = 10s\ndata_timeout = 10s\nlog_level = debug\n%s"
                    % (self.dir, self.queue, port, extra))
        self.logpath = os.path.join(self.dir, "relay.log")
        script = ("EHLO c\r\nMAIL FROM:<s@local.test>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
                  "Subject: %s\r\n\r\nbody of %s\r\n.\r\nQUIT\r\n" % (name, name)).encode()
        out = subprocess.run([SESSION, "-c", self.conf], input=script, capture_output=True, timeout=20)
        check("%s: queued" % name, b"queued as" in out.stdout, out.stdout)

    def relay(self):
        with open(self.logpath, "ab") as log:
            r = subprocess.run([RELAY, "-c", self.conf], stdout=subprocess.DEVNULL, stderr=log, timeout=120)
        return r.returncode

    def queued(self):
        return len(os.listdir(os.path.join(self.queue, "env")))

    def log(self):
        with open(self.logpath, encoding="utf-8", errors="replace") as f:
            return f.read()


def delivery_line(case):
    return [l for l in case.log().splitlines() if "event=delivery" in l]


def expect_sent(case, name, tls):
    rc = case.relay()
    lines = delivery_line(case)
    check("%s: relay exit 0, queue empty" % name, rc == 0 and case.queued() == 0, case.log()[-1500:])
    check("%s: delivery line says tls=%s" % (name, tls),
          len(lines) == 1 and "status=sent" in lines[0] and lines[0].endswith(" tls=%s" % tls), lines)


def expect_deferred(case, name, why):
    rc = case.relay()
    lines = delivery_line(case)
    check("%s: deferred, still queued" % name, rc == 0 and case.queued() == 1, case.log()[-1500:])
    check("%s: the log says why (%s)" % (name, why), why in case.log(), case.log()[-2000:])


def aiosmtpd(handler, **kw):
    for _ in range(5):
        port = free_port()
        c = Controller(handler, hostname="127.0.0.1", port=port, **kw)
        try:
            c.start()
            return c, port
        except Exception:  # a port taken meanwhile: another one
            continue
    raise RuntimeError("aiosmtpd did not start")


def server_ctx(cert, key, **kw):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def test_aiosmtpd_demands_starttls(top):
    cert, key = make_cert(top, "mx.remote.example")
    sink = Sink()
    c, port = aiosmtpd(sink, tls_context=server_ctx(cert, key), require_starttls=True)
    try:
        case = Case(top, "may-to-starttls", port)
        expect_sent(case, "may, server demands STARTTLS", "TLSv1.3")
        check("may: the server saw TLS", len(sink.messages) == 1 and sink.messages[0][3])
        case = Case(top, "none-to-starttls", port, "relay_tls = none\n")
        case.relay()
        check("relay_tls = none: no STARTTLS, the server's 530 is the answer",
              any("code=530" in l and l.endswith(" tls=none") for l in delivery_line(case)), case.log()[-800:])
        check("none: nothing went in clear", len(sink.messages) == 1)
    finally:
        c.stop()


def test_no_starttls(top):
    srv = Server(SESSION, tls=False, extra="relay_networks = 127.0.0.0/8\n")
    try:
        case = Case(top, "may-to-plain", srv.port)
        expect_sent(case, "may, server without STARTTLS", "none")
        case = Case(top, "encrypt-to-plain", srv.port, "relay_tls = encrypt\n")
        expect_deferred(case, "encrypt, server without STARTTLS", "does not offer STARTTLS")
        check("encrypt: nothing sent in clear", "event=message" not in srv.logtext().split("may-to-plain")[-1]
              or srv.logtext().count("event=message") == 1, srv.logtext()[-800:])
        check("encrypt: the server got no MAIL", srv.logtext().count("event=mail ") == 1, srv.logtext()[-800:])
    finally:
        srv.stop()


def test_handshake_fails(top):
    """The server offers STARTTLS but no cipher we accept: may sends in
    clear at once (logged); encrypt does not."""
    cert, key = make_cert(top, "mx.broken.example")
    ctx = server_ctx(cert, key, maximum_version=ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA")       # CBC only: none of ours
    sink = Sink()
    c, port = aiosmtpd(sink, tls_context=ctx, require_starttls=False)
    try:
        case = Case(top, "may-handshake-fails", port)
        expect_sent(case, "may, handshake fails: then clear at once", "none")
        check("may, handshake fails: logged with the fallback", "event=tls-failed" in case.log()
              and 'then="clear text"' in case.log(), case.log()[-800:])
        check("may, handshake fails: arrived once, in clear", len(sink.messages) == 1 and not sink.messages[0][3])
        case = Case(top, "encrypt-handshake-fails", port, "relay_tls = encrypt\n")
        expect_deferred(case, "encrypt, handshake fails", "TLS handshake failed")
        check("encrypt, handshake fails: nothing in clear", len(sink.messages) == 1)
    finally:
        c.stop()


def test_verify(top):
    ca, certs = make_ca(top)
    for name, cert, want in (("good", certs["good"], "sent"), ("wrong", certs["wrong"], "deferred")):
        srv = Server(SESSION, cert=cert, extra="relay_networks = 127.0.0.0/8\n")
        try:
            case = Case(top, "verify-" + name, srv.port, "relay_tls = verify\ntls_ca_file = %s\n" % ca)
            if want == "sent":
                expect_sent(case, "verify, certificate for 127.0.0.1 from the test CA", "TLSv1.3")
            else:
                expect_deferred(case, "verify, certificate for another name", "certificate")
            case = Case(top, "verify-system-" + name, srv.port, "relay_tls = verify\n")
            expect_deferred(case, "verify against the system CAs, test CA unknown (%s)" % name, "certificate")
        finally:
            srv.stop()


def secret_file(top, name, mode=0o600):
    path = os.path.join(top, name)
    with open(path, "w") as f:
        f.write("%s:%s\n" % (LOGIN, PASSWORD))
    os.chmod(path, mode)
    return path


def test_smarthost_auth(top):
    cert, key = make_cert(top, "smarthost.example")
    secret = secret_file(top, "auth")
    for label, kw, extra in (
            ("587 STARTTLS, AUTH PLAIN", dict(tls_context=server_ctx(cert, key), require_starttls=True), ""),
            ("587 STARTTLS, AUTH LOGIN only", dict(tls_context=server_ctx(cert, key), require_starttls=True,
                                                  auth_exclude_mechanism=["PLAIN"]), ""),
            # aiosmtpd knows TLS only from STARTTLS: on 465 it must be told AUTH is fine
            ("465 implicit TLS, AUTH PLAIN", dict(ssl_context=server_ctx(cert, key), auth_require_tls=False),
             "smarthost_tls = wrapper\n")):
        seen, sink = [], Sink()
        c, port = aiosmtpd(sink, authenticator=authenticator(seen), auth_required=True, **kw)
        try:
            case = Case(top, "smarthost-" + str(port), port, extra + "smarthost_auth = %s\n" % secret)
            expect_sent(case, label, "TLSv1.3")
            mech = "LOGIN" if "LOGIN only" in label else "PLAIN"
            check("%s: authenticated with %s" % (label, mech), seen == [(mech, True)], seen)
            check("%s: the password is not in the log" % label, PASSWORD not in case.log())
        finally:
            c.stop()
    # a file others may read: refused, the mail waits, nothing sent
    seen, sink = [], Sink()
    c, port = aiosmtpd(sink, authenticator=authenticator(seen), auth_required=True,
                       tls_context=server_ctx(cert, key), require_starttls=True)
    try:
        case = Case(top, "smarthost-open-file", port,
                    "smarthost_auth = %s\n" % secret_file(top, "auth-open", 0o644))
        expect_deferred(case, "smarthost_auth readable by others", "chmod 600")
        check("smarthost_auth readable by others: no AUTH tried", seen == [] and sink.messages == [])
        case = Case(top, "smarthost-wrong-password", port, "smarthost_auth = %s\n" % secret_file(top, "auth-bad"))
        with open(os.path.join(top, "auth-bad"), "w") as f:
            f.write("%s:wrong\n" % LOGIN)
        expect_deferred(case, "smarthost refuses the login: deferred, never bounced", "smarthost refused AUTH")
    finally:
        c.stop()
    # AUTH never in clear: a smarthost without STARTTLS
    srv = Server(SESSION, tls=False)
    try:
        case = Case(top, "smarthost-auth-clear", srv.port, "smarthost_auth = %s\n" % secret)
        expect_deferred(case, "AUTH configured, smarthost without STARTTLS", "does not offer STARTTLS")
    finally:
        srv.stop()


def test_smarthost_smtpd_session(top):
    """The smarthost is a second smtpd-session with submission = yes and
    auth_users, on a 587-like port (STARTTLS) and a 465-like one (SMTPS)."""
    login = "s@local.test"            # submission: the sender must be the login
    users = tempfile.mkdtemp(prefix="mailsock-users-")
    os.chmod(users, 0o755)
    hashed = subprocess.run(["openssl", "passwd", "-6", PASSWORD], capture_output=True, text=True,
                            check=True).stdout.strip()
    with open(os.path.join(users, "users"), "w") as f:
        f.write("%s:%s\n" % (login, hashed))
    os.chmod(os.path.join(users, "users"), 0o644)
    secret = os.path.join(top, "auth-session")
    with open(secret, "w") as f:
        f.write("%s:%s\n" % (login, PASSWORD))
    os.chmod(secret, 0o600)
    try:
        for label, server_extra, relay_extra in (
                ("smtpd-session on 587 (STARTTLS, submission, AUTH)", "", ""),
                ("smtpd-session on 465 (SMTPS, submission, AUTH)", "tls_wrapper = yes\n",
                 "smarthost_tls = wrapper\n")):
            srv = Server(SESSION, extra="auth_users = %s/users\nsubmission = yes\n%s" % (users, server_extra))
            try:
                case = Case(top, "smarthost-session-%d" % srv.port, srv.port,
                            relay_extra + "smarthost_auth = %s\nrelay_tls = encrypt\n" % secret)
                expect_sent(case, label, "TLSv1.3")
                files = srv.files("bob")
                body = open(files[-1], "rb").read() if files else b""
                check("%s: Received says ESMTPSA with version and cipher" % label,
                      b"with ESMTPSA (TLSv1.3 TLS_" in body, body[:400])
                check("%s: the password is in no log" % label,
                      PASSWORD not in case.log() and PASSWORD not in srv.logtext())
            finally:
                srv.stop()
    finally:
        shutil.rmtree(users, ignore_errors=True)


def main():
    global SESSION, RELAY
    SESSION, RELAY = (os.path.abspath(a) for a in sys.argv[1:3])
    if Controller is None:
        skip("all", "python3-aiosmtpd is not installed")
        finish()
    for tool in ("systemd-socket-activate", "openssl", "ss"):
        if not shutil.which(tool):
            skip("all", "%s is not installed" % tool)
            finish()
    top = tempfile.mkdtemp(prefix="mailsock-tlsrelay-")
    try:
        test_aiosmtpd_demands_starttls(top)
        test_no_starttls(top)
        test_handshake_fails(top)
        test_verify(top)
        test_smarthost_auth(top)
        test_smarthost_smtpd_session(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
