"""A malicious remote SMTP server against smtp-relay: a greeting that never
ends, a reply dripped one octet at a time, a 10 MB reply line, invalid
codes, control characters in the reply, a server that stalls.  The relay
must finish its run within its timeouts, never die by a signal, keep the
message queued for a later try (or bounce it on a 5xx), and never write a
raw control character from the server into the queue."""
import os
import socket
import subprocess
import threading
import time

from harness import TOP_BUILDDIR, Root

RELAY = os.path.join(TOP_BUILDDIR, "smtp-relay", "smtp-relay")
TIMEOUT = 2          # each of the relay's timeouts, in seconds
RUN_LIMIT = 30       # a whole relay run must end within this


class EvilServer:
    """Accepts on a loopback port of its own (bound here and kept: no
    free-port race) and runs behaviour(conn, stopping) per client, each in
    a thread.  stop() wakes every thread and waits for it before closing a
    descriptor, so that no thread of one test ever writes to a descriptor
    number that the next test's server has been given."""

    def __init__(self, behaviour):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.stopping = threading.Event()
        self.conns = []
        self.threads = [threading.Thread(target=self.accept, daemon=True)]
        self.threads[0].start()

    def accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            t = threading.Thread(target=self.serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def serve(self, conn):
        try:
            self.behaviour(conn, self.stopping)
        except OSError:
            pass

    def stop(self):
        self.stopping.set()
        for s in [self.sock] + self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)    # wakes accept(), recv() and send()
            except OSError:
                pass
        for t in self.threads:
            t.join(10)
            assert not t.is_alive(), "an evil server thread did not stop"
        for s in [self.sock] + self.conns:
            s.close()


def run_relay_against(behaviour, sender="a@example.org"):
    """Queue one message for v@elsewhere.test, run smtp-relay with the evil
    server as smarthost; returns (exit status, seconds, root, stderr).  The
    relay must leave the queued message file as the session wrote it."""
    root = Root("/dev/shm")
    server = EvilServer(behaviour)
    try:
        data = (b"EHLO c\r\nMAIL FROM:<%s>\r\nRCPT TO:<v@elsewhere.test>\r\n"
                b"DATA\r\nSubject: to the evil server\r\n\r\nhi\r\n.\r\nQUIT\r\n" % sender.encode())
        env = {k: v for k, v in os.environ.items() if k != "TCPREMOTEIP"}
        p = subprocess.run([os.path.join(TOP_BUILDDIR, "smtpd-session", "smtpd-session")]
                           + root.options(), input=data, env=env, capture_output=True, timeout=20)
        assert b"queued as" in p.stdout, p.stdout
        (msgid,) = root.queued()
        msg_path = os.path.join(root.queue, "msg", msgid)
        msg = open(msg_path, "rb").read()
        args = [RELAY] + root.options(smarthost=f"127.0.0.1:{server.port}")
        for key in ("connect_timeout", "greeting_timeout", "command_timeout", "data_timeout"):
            args += ["-o", f"{key}={TIMEOUT}s"]
        start = time.monotonic()
        try:
            r = subprocess.run(args, capture_output=True, timeout=RUN_LIMIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"smtp-relay still running after {RUN_LIMIT}s")
        took = time.monotonic() - start
        assert r.returncode >= 0, f"smtp-relay died by signal {-r.returncode}"
        check_log(r.stderr)
        if os.path.exists(msg_path):
            assert open(msg_path, "rb").read() == msg, "the relay changed the queued message"
        return r.returncode, took, root, r.stderr
    except BaseException:
        root.remove()
        raise
    finally:
        server.stop()


def check_log(stderr):
    """One log line per event, each its own: nothing from the server can
    start a line of its own or put a raw control character in one."""
    for line in stderr.split(b"\n")[:-1]:
        assert line.startswith(b"smtp-relay: "), f"forged log line {line!r}"
        assert not any(b < 0x20 or b == 0x7f for b in line), f"control character in log: {line!r}"
    assert stderr.endswith(b"\n") or not stderr, stderr[-200:]


ENV_KEYS = {b"version", b"id", b"arrival", b"peer", b"helo", b"sender", b"body", b"smtputf8",
            b"attempts", b"next", b"error", b"rcpt", b"rcpt-error", b"session", b"rcpt-via"}


def check_deferred(root, status, stderr, reason=None):
    """The message is kept for a retry after one attempt, its envelope
    holds only lines the queue format knows, and (when given) the error
    recorded says why."""
    assert status == 0, f"exit {status}: {stderr[-500:]!r}"
    entries = root.queued()
    assert len(entries) == 1, f"message not kept for a retry: {entries}"
    env = open(os.path.join(root.queue, "env", entries[0]), "rb").read()
    assert b"\nattempts 1\n" in env, env
    for line in env.split(b"\n")[:-1]:
        assert not any(b < 0x20 and b != 0x09 for b in line), f"control character in queue: {line!r}"
        assert line.split(b" ", 1)[0] in ENV_KEYS, f"forged line in the envelope: {line!r}"
    if reason is not None:
        errors = [l for l in env.split(b"\n") if l.startswith(b"error ")]
        assert len(errors) == 1 and reason in errors[0], f"want {reason!r} in {errors}"
    return env


def greet_then(reply_lines):
    def behaviour(conn, stopping):
        conn.sendall(b"220 evil.test ESMTP\r\n")
        f = conn.makefile("rb")
        f.readline()                                  # EHLO
        conn.sendall(reply_lines)
        while not stopping.is_set() and f.readline():
            pass
    return behaviour


def test_greeting_that_never_ends_is_cut_off():
    """Cut off by its line count, not by a clock."""
    def flood(conn, stopping):
        line = b"220-" + b"x" * 70 + b"\r\n"
        while not stopping.is_set():
            conn.sendall(line * 100)
    status, took, root, err = run_relay_against(flood)
    try:
        check_deferred(root, status, err, b"reply of too many lines")
    finally:
        root.remove()


def test_reply_dripped_one_octet_at_a_time_is_cut_off():
    """An octet every TIMEOUT/4 never lets a read time out: the deadline
    is for the whole reply.  Counted in octets, not seconds: the relay
    must hang up within 4 timeouts' worth of them (a busy machine only
    makes the drip slower, so fewer octets)."""
    sent = []

    def hung_up(conn):
        try:
            return conn.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
        except BlockingIOError:
            return False

    def drip(conn, stopping):
        for b in b"220-evil.test a very slow greeting that never ends " * 100:
            conn.sendall(bytes([b]))
            sent.append(b)
            if stopping.wait(TIMEOUT / 4) or hung_up(conn):
                return

    status, took, root, err = run_relay_against(drip)
    try:
        check_deferred(root, status, err, b"timeout waiting for a reply")
        assert 1 <= len(sent) <= 4 * 4, f"{len(sent)} octets dripped before the relay hung up"
    finally:
        root.remove()


def test_ten_megabyte_reply_line_is_refused():
    def huge(conn, stopping):
        conn.sendall(b"220 " + b"x" * (10 * 1024 * 1024) + b"\r\n")
    status, took, root, err = run_relay_against(huge)
    try:
        check_deferred(root, status, err, b"reply line too long")
    finally:
        root.remove()


def test_invalid_reply_codes_are_trouble_not_success():
    for reply in (b"999 what\r\n", b"2500 ok\r\n", b"25 ok\r\n", b"abc\r\n", b"-250 ok\r\n",
                  b"\x00\x00\x00\r\n", b"250\x00ok\r\n"):
        status, took, root, err = run_relay_against(greet_then(reply))
        try:
            check_deferred(root, status, err)
        finally:
            root.remove()


FORGERY = b"4.\r7.1 try\x1b[31m later\rX-Forged: yes\x00\r\n"


def forged_lines(text):
    """Lines of text that start with the header the server tried to forge."""
    return [l for l in text.replace(b"\r", b"\n").split(b"\n") if l.startswith(b"X-Forged")]


def test_control_characters_in_a_reply_stay_out_of_the_queue():
    """A CR in a 451 reply tries to start an "X-Forged:" line in the
    envelope (and the log): the text must arrive flattened into the one
    error line, and no line of its own may start with it."""
    status, took, root, err = run_relay_against(greet_then(b"451 " + FORGERY))
    try:
        env = check_deferred(root, status, err, b"later X-Forged: yes")
        assert forged_lines(env) == [], env
        assert forged_lines(err) == [] and b"later X-Forged: yes" in err, err
    finally:
        root.remove()


def refuse_rcpt_with(reply):
    """A server that takes EHLO and MAIL and answers RCPT with reply."""
    def behaviour(conn, stopping):
        conn.sendall(b"220 evil.test ESMTP\r\n")
        f = conn.makefile("rb")
        for line in iter(f.readline, b""):
            verb = line[:4].upper()
            conn.sendall(reply if verb == b"RCPT" else b"221 bye\r\n" if verb == b"QUIT"
                         else b"250 ok\r\n")
            if verb == b"QUIT" or stopping.is_set():
                return
    return behaviour


def test_control_characters_in_a_refusal_stay_out_of_the_bounce():
    """The same forgery in a 550 for the recipient: the bounce (a DSN in
    the sender's Maildir) quotes the text in its Diagnostic-Code, but has
    no "X-Forged:" line, in its headers or anywhere else."""
    status, took, root, err = run_relay_against(refuse_rcpt_with(b"550 " + FORGERY),
                                                sender="alice@example.org")
    try:
        assert status == 0, f"exit {status}: {err[-500:]!r}"
        assert root.queued() == [], "refused recipient still queued"
        (dsn,) = root.messages("example.org/alice")
        assert b"later X-Forged: yes" in dsn, dsn
        assert forged_lines(dsn) == [], dsn
        assert not any(b < 0x20 and b not in (0x09, 0x0a) for b in dsn), dsn
        assert forged_lines(err) == [], err
    finally:
        root.remove()


def test_server_that_never_greets_times_out():
    """The relay gives up on its own greeting timeout: the reason says so,
    and it ends well before the run limit (a wide bound: a loaded machine
    must not make this fail)."""
    def silent(conn, stopping):
        stopping.wait(RUN_LIMIT)
    status, took, root, err = run_relay_against(silent)
    try:
        check_deferred(root, status, err, b"timeout waiting for a reply")
        assert took < RUN_LIMIT / 2, f"took {took:.1f}s"
    finally:
        root.remove()


def test_server_that_stalls_after_data_times_out():
    def stall(conn, stopping):
        conn.sendall(b"220 evil.test\r\n")
        f = conn.makefile("rb")
        while not stopping.is_set():
            line = f.readline()
            if not line:
                return
            if line.upper().startswith(b"DATA"):
                conn.sendall(b"354 go\r\n")
                stopping.wait(RUN_LIMIT)                # never answers the final dot
                return
            conn.sendall(b"250 ok\r\n")
    status, took, root, err = run_relay_against(stall)
    try:
        check_deferred(root, status, err, b"timeout waiting for a reply")
    finally:
        root.remove()
