#!/usr/bin/env python3
"""STARTTLS and SMTPS of smtpd-session on real loopback sockets, driven by
real clients: swaks --tls/--tlsc, openssl s_client -starttls smtp, Python's
smtplib (starttls, SMTP_SSL), curl --ssl-reqd; and hostile ones (plaintext
injected behind STARTTLS, garbage instead of a ClientHello, a client that
vanishes halfway, TLS 1.1, a non-forward-secret cipher).  Per connection
(systemd-socket-activate --accept --inetd) and the fast way (a listening
socket: the parent loads the key once before it forks).

Usage: server_test.py SMTPD-SESSION
Exit 77 when a part was skipped and nothing failed (1 under CI=true)."""
import os
import pwd
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from socket_test import check, skip, finish, free_port, wait_for, read_file  # noqa: E402

HOST = "127.0.0.1"


def make_cert(d, cn="mx.example.org"):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" + cn],
                   check=True, capture_output=True)
    return cert, key


class Server:
    """smtpd-session on a free loopback port.  accept: one process per
    connection (Accept=yes); otherwise the fast way (a listening socket)."""

    def __init__(self, binary, extra="", accept=True, tls=True, cert=None):
        self.root = tempfile.mkdtemp(prefix="mailsock-tls-")
        self.mail = os.path.join(self.root, "mail")
        for user in ("alice", "bob"):
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(self.mail, "example.org", user, sub))
        if cert:
            self.cert, self.key = (shutil.copy(f, self.root) for f in cert)
        else:
            self.cert, self.key = make_cert(self.root)
        self.conf = os.path.join(self.root, "mailsock.conf")
        with open(self.conf, "w") as f:
            f.write("hostname = mx.example.org\ndomains = example.org\nmail_root = %s\n"
                    "queue_dir = %s/queue\n%s" % (self.mail, self.root, extra))
            if tls:
                f.write("tls_cert = %s\ntls_key = %s\n" % (self.cert, self.key))
            if os.geteuid() == 0:
                f.write("user = nobody\n")
        os.chmod(self.key, 0o600)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            for d, dirs, files in os.walk(self.root):
                for name in [d] + [os.path.join(d, n) for n in dirs + files]:
                    os.lchown(name, pw.pw_uid, pw.pw_gid)
        self.logpath = os.path.join(self.root, "log")
        self.log = open(self.logpath, "wb")
        for _ in range(5):
            self.port = free_port()
            cmd = ["systemd-socket-activate", "-l", "%s:%d" % (HOST, self.port)]
            if accept:
                cmd += ["--accept", "--inetd"]
            self.proc = subprocess.Popen(cmd + [binary, "-c", self.conf],
                                         stdout=subprocess.DEVNULL, stderr=self.log)
            if self.wait_listening():
                return
            self.stop_listener()
        raise RuntimeError("no server on a free port in 5 tries:\n" + self.logtext())

    def wait_listening(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.proc.poll() is None:
            out = subprocess.run(["ss", "-Hltn", "sport = :%d" % self.port], capture_output=True, text=True)
            if str(self.port) in out.stdout:
                return self.proc.poll() is None
            time.sleep(0.05)
        return False

    def stop_listener(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def files(self, user):
        d = os.path.join(self.mail, "example.org", user, "new")
        return sorted(os.path.join(d, f) for f in os.listdir(d))

    def all_files(self):
        n = 0
        for d, _, files in os.walk(self.mail):
            n += len(files)
        return n

    def logtext(self):
        self.log.flush()
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        self.stop_listener()
        # sessions still running are children of the listener (fast way) or of systemd-socket-activate
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


def client_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def lines_of(f):
    """One multi-line reply: its lines."""
    out = []
    while True:
        line = f.readline().decode()
        out.append(line.rstrip("\r\n"))
        if len(line) < 4 or line[3] != "-":
            return out


def test_swaks(srv, name, flag):
    before = len(srv.files("alice"))
    r = subprocess.run(["swaks", "--server", "%s:%d" % (HOST, srv.port), flag, "--from", "s@remote.example",
                        "--to", "alice@example.org", "--helo", "swaks.example", "--body", "over tls"],
                       capture_output=True, text=True, timeout=60)
    check("%s: swaks %s exit 0" % (name, flag), r.returncode == 0, r.stdout[-800:])
    files = srv.files("alice")
    check("%s: swaks %s delivered" % (name, flag), len(files) == before + 1)
    body = read_file(files[-1]) if files else b""
    check("%s: Received says ESMTPS with version and cipher" % name,
          b"with ESMTPS (TLSv1.3 TLS_" in body, body[:300])
    check("%s: log says tls= and cipher=" % name,
          wait_for(lambda: "event=tls tls=TLSv1.3 cipher=TLS_" in srv.logtext()), srv.logtext()[-500:])


def test_smtplib_starttls(srv):
    with smtplib.SMTP(HOST, srv.port, timeout=20) as c:
        c.ehlo("client.example")
        check("smtplib: STARTTLS offered in clear", c.has_extn("starttls"))
        code, _ = c.starttls(context=client_ctx())
        check("smtplib: starttls 220", code == 220)
        # RFC 3207 4.2: the session starts over; MAIL before EHLO is refused
        code, _ = c.docmd("MAIL FROM:<a@remote.example>")
        check("smtplib: after the handshake MAIL needs EHLO again (503)", code == 503, code)
        c.ehlo("client.example")
        check("smtplib: no STARTTLS offered under TLS", not c.has_extn("starttls"), c.esmtp_features)
        code, text = c.docmd("STARTTLS")
        check("smtplib: a second STARTTLS is 503 5.5.1", code == 503 and text.startswith(b"5.5.1"), text)
        refused = c.sendmail("a@remote.example", ["bob@example.org"], "Subject: t\r\n\r\nsmtplib tls\r\n")
        check("smtplib: accepted under TLS", refused == {})


def test_smtplib_ssl(srv):
    with smtplib.SMTP_SSL(HOST, srv.port, timeout=20, context=client_ctx()) as c:
        code, _ = c.ehlo("client.example")
        check("SMTP_SSL: EHLO 250, no STARTTLS listed", code == 250 and not c.has_extn("starttls"))
        refused = c.sendmail("a@remote.example", ["bob@example.org"], "Subject: t\r\n\r\nsmtps\r\n")
        check("SMTP_SSL: accepted", refused == {})
    body = read_file(srv.files("bob")[-1])
    check("SMTP_SSL: Received says ESMTPS", b"with ESMTPS (TLSv1.3" in body, body[:300])


def test_curl(srv):
    before = len(srv.files("bob"))
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "-k", "--url", "smtp://%s:%d" % (HOST, srv.port),
                        "--mail-from", "c@remote.example", "--mail-rcpt", "bob@example.org",
                        "--upload-file", "-"], input=b"Subject: curl\r\n\r\nhi\r\n",
                       capture_output=True, timeout=60)
    check("curl --ssl-reqd: exit 0", r.returncode == 0, r.stderr[-300:])
    check("curl --ssl-reqd: delivered", len(srv.files("bob")) == before + 1)


def s_client(srv, *args):
    return subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", "%s:%d" % (HOST, srv.port),
                           "-servername", "mx.example.org", "-ign_eof"] + list(args),
                          input=b"QUIT\r\n", capture_output=True, timeout=60)


def test_openssl(srv):
    r = s_client(srv, "-tls1_2")
    out = r.stdout.decode("utf-8", "replace")
    check("s_client -tls1_2: handshake, ECDHE AEAD cipher",
          r.returncode == 0 and "Protocol  : TLSv1.2" in out and "ECDHE" in out
          and ("GCM" in out or "CHACHA" in out),
          out[-600:])
    r = s_client(srv)
    out = r.stdout.decode("utf-8", "replace")
    check("s_client: TLSv1.3 and QUIT answered 221", "TLSv1.3" in out and "221 2.0.0" in out, out[-600:])
    check("s_client: no session ticket", "TLS session ticket:" not in out, out[-600:])
    for old in ("-tls1_1", "-tls1"):
        r = s_client(srv, old, "-cipher", "DEFAULT@SECLEVEL=0")
        check("s_client %s refused" % old, r.returncode != 0 and b"221 2.0.0" not in r.stdout, r.stdout[-300:])
    r = s_client(srv, "-tls1_2", "-cipher", "AES128-SHA:AES256-GCM-SHA384")
    check("s_client: RSA key exchange (no forward secrecy) refused",
          r.returncode != 0 and b"221 2.0.0" not in r.stdout, r.stdout[-300:])


def test_injection(srv):
    """CVE-2011-0411: commands sent in clear behind STARTTLS, in the same
    packet, are thrown away, never executed under TLS."""
    before = srv.all_files()
    with socket.create_connection((HOST, srv.port), timeout=20) as s:
        f = s.makefile("rb")
        lines_of(f)
        s.sendall(b"EHLO client.example\r\n")
        lines_of(f)
        s.sendall(b"STARTTLS\r\nEHLO evil\r\nMAIL FROM:<evil@remote.example>\r\n"
                  b"RCPT TO:<alice@example.org>\r\nDATA\r\nSubject: injected\r\n\r\nx\r\n.\r\n")
        check("injection: 220 to STARTTLS", lines_of(f)[0].startswith("220 2.0.0"))
        t = client_ctx().wrap_socket(s, server_hostname="mx.example.org")
        tf = t.makefile("rb")
        t.sendall(b"NOOP\r\n")
        first = lines_of(tf)
        check("injection: the first reply under TLS answers our NOOP, not the injected EHLO",
              first == ["250 2.0.0 Ok"], first)
        t.sendall(b"RCPT TO:<alice@example.org>\r\n")
        rcpt = lines_of(tf)
        check("injection: no injected MAIL counts (RCPT is 503)", rcpt[0].startswith("503"), rcpt)
        t.sendall(b"QUIT\r\n")
        lines_of(tf)
        t.close()
    check("injection: logged as dropped", wait_for(lambda: "event=tls-dropped-input" in srv.logtext()))
    check("injection: no file written", srv.all_files() == before)


def raw_after_starttls(srv, payload, close_early=False):
    with socket.create_connection((HOST, srv.port), timeout=20) as s:
        f = s.makefile("rb")
        lines_of(f)
        s.sendall(b"EHLO c\r\n")
        lines_of(f)
        s.sendall(b"STARTTLS\r\n")
        lines_of(f)
        s.sendall(payload)
        if close_early:
            return b""
        s.settimeout(20)
        try:
            return s.recv(4096)
        except OSError:
            return b""


def test_hostile_handshakes(srv):
    before = srv.all_files()
    n_failed = srv.logtext().count("reason=tls-failed")
    got = raw_after_starttls(srv, b"MAIL FROM:<a@b.example>\r\n" * 40)
    check("garbage handshake: no SMTP reply, only a TLS alert or close", b"250" not in got and b"SMTP" not in got, got)
    check("garbage handshake: logged, session ends (reason=tls-failed)",
          wait_for(lambda: srv.logtext().count("reason=tls-failed") > n_failed), srv.logtext()[-600:])
    # half a ClientHello, then gone
    hello = bytes.fromhex("16030100a5010000a10303") + os.urandom(20)
    raw_after_starttls(srv, hello, close_early=True)
    check("vanished client: logged, session ends",
          wait_for(lambda: srv.logtext().count("reason=tls-failed") > n_failed + 1), srv.logtext()[-600:])
    check("hostile handshakes: no file written", srv.all_files() == before)
    check("hostile handshakes: never a crash (no signal, no sanitizer report)",
          "runtime error" not in srv.logtext() and "AddressSanitizer" not in srv.logtext())


def session_maps(srv):
    """The memory maps of the one session process running now."""
    out = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True, text=True)
    pids = out.stdout.split()
    if len(pids) != 1:
        return None
    with open("/proc/%s/maps" % pids[0]) as f:
        return f.read()


def test_openssl_only_when_needed(srv):
    """A plaintext session never loads OpenSSL; STARTTLS does."""
    with socket.create_connection((HOST, srv.port), timeout=20) as s:
        f = s.makefile("rb")
        lines_of(f)
        s.sendall(b"EHLO client.example\r\n")
        lines_of(f)
        maps = session_maps(srv)
        check("plaintext session: libssl and libcrypto not loaded",
              maps is not None and "libssl" not in maps and "libcrypto" not in maps)
        s.sendall(b"STARTTLS\r\n")
        lines_of(f)
        t = client_ctx().wrap_socket(s, server_hostname="mx.example.org")
        maps = session_maps(srv)
        check("after STARTTLS: libssl loaded", maps is not None and "libssl.so" in maps)
        t.sendall(b"QUIT\r\n")
        t.recv(100)
        t.close()


def test_fast_way(binary):
    """The parent loads the key once before forking: a session still gets
    TLS after the key file is gone."""
    srv = Server(binary, accept=False)
    try:
        test_swaks(srv, "fast way", "--tls")
        os.unlink(srv.key)
        test_swaks(srv, "fast way, key file removed after start", "--tls")
    finally:
        srv.stop()


def test_wrapper(binary):
    srv = Server(binary, extra="tls_wrapper = yes\n")
    try:
        test_swaks(srv, "smtps", "--tlsc")
        test_smtplib_ssl(srv)
        with socket.create_connection((HOST, srv.port), timeout=20) as s:
            s.sendall(b"EHLO plain\r\n")
            s.settimeout(20)
            try:
                got = s.recv(4096)
            except OSError:
                got = b""
        check("smtps: a plaintext client gets no SMTP", b"220" not in got and b"250" not in got, got)
    finally:
        srv.stop()
    srv = Server(binary, extra="tls_wrapper = yes\n")
    try:
        os.chmod(srv.key, 0)
        os.rename(srv.key, srv.key + ".gone")
        with socket.create_connection((HOST, srv.port), timeout=20) as s:
            s.settimeout(20)
            got = s.recv(4096)
        check("smtps with an unreadable key: connection closed, nothing said", got == b"", got)
        check("smtps with an unreadable key: logged",
              wait_for(lambda: "event=tls-unavailable" in srv.logtext() and "reason=tls-unavailable" in srv.logtext()),
              srv.logtext()[-400:])
    finally:
        srv.stop()


def main():
    for tool, pkg in (("systemd-socket-activate", "systemd"), ("openssl", "openssl"), ("swaks", "swaks"),
                      ("curl", "curl"), ("ss", "iproute2")):
        if not shutil.which(tool):
            skip("all", "%s is not installed (Debian package %s)" % (tool, pkg))
            finish()
    binary = os.path.abspath(sys.argv[1])
    srv = Server(binary)
    try:
        test_swaks(srv, "starttls", "--tls")
        test_smtplib_starttls(srv)
        test_curl(srv)
        test_openssl(srv)
        test_injection(srv)
        test_hostile_handshakes(srv)
        wait_for(lambda: session_maps(srv) is None)
        test_openssl_only_when_needed(srv)
    finally:
        srv.stop()
    test_fast_way(binary)
    test_wrapper(binary)
    finish()


if __name__ == "__main__":
    main()
