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
    """Accepts on a free loopback port and runs behaviour(conn) per client,
    each in a thread; stop() closes everything."""

    def __init__(self, behaviour):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.stopping = threading.Event()
        self.conns = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn):
        try:
            self.behaviour(conn, self.stopping)
        except OSError:
            pass

    def stop(self):
        self.stopping.set()
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def run_relay_against(behaviour):
    """Queue one message for v@elsewhere.test, run smtp-relay with the evil
    server as smarthost; returns (exit status, seconds, root)."""
    root = Root("/dev/shm")
    server = EvilServer(behaviour)
    try:
        data = (b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<v@elsewhere.test>\r\n"
                b"DATA\r\nSubject: to the evil server\r\n\r\nhi\r\n.\r\nQUIT\r\n")
        env = {k: v for k, v in os.environ.items() if k != "TCPREMOTEIP"}
        p = subprocess.run([os.path.join(TOP_BUILDDIR, "smtpd-session", "smtpd-session")]
                           + root.options(), input=data, env=env, capture_output=True, timeout=20)
        assert b"queued as" in p.stdout, p.stdout
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
        return r.returncode, took, root, r.stderr
    except BaseException:
        root.remove()
        raise
    finally:
        server.stop()


def check_deferred(root, status, stderr):
    assert status == 0, f"exit {status}: {stderr[-500:]!r}"
    entries = root.queued()
    assert len(entries) == 1, f"message not kept for a retry: {entries}"
    env = open(os.path.join(root.queue, "env", entries[0]), "rb").read()
    assert b"attempts 1" in env, env
    for line in env.split(b"\n"):
        assert not any(b < 0x20 and b != 0x09 for b in line), f"control character in queue: {line!r}"
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
    def flood(conn, stopping):
        line = b"220-" + b"x" * 70 + b"\r\n"
        while not stopping.is_set():
            conn.sendall(line * 100)
    status, took, root, err = run_relay_against(flood)
    try:
        check_deferred(root, status, err)
        assert took < 4 * TIMEOUT + 5, f"took {took:.1f}s"
    finally:
        root.remove()


def test_reply_dripped_one_octet_at_a_time_is_cut_off():
    def drip(conn, stopping):
        for b in b"220-evil.test a very slow greeting that never ends " * 100:
            if stopping.is_set():
                return
            conn.sendall(bytes([b]))
            time.sleep(TIMEOUT / 4)
    status, took, root, err = run_relay_against(drip)
    try:
        check_deferred(root, status, err)
        assert took < 4 * TIMEOUT + 5, f"took {took:.1f}s"
    finally:
        root.remove()


def test_ten_megabyte_reply_line_is_refused():
    def huge(conn, stopping):
        conn.sendall(b"220 " + b"x" * (10 * 1024 * 1024) + b"\r\n")
    status, took, root, err = run_relay_against(huge)
    try:
        check_deferred(root, status, err)
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


def test_control_characters_in_a_reply_stay_out_of_the_queue():
    reply = b"451 4.\r7.1 try\x1b[31m later\rX-Forged: yes\x00\r\n"
    status, took, root, err = run_relay_against(greet_then(reply))
    try:
        env = check_deferred(root, status, err)
        assert b"X-Forged: yes" not in env.replace(b"\n", b"|") or b"\r" not in env
    finally:
        root.remove()


def test_server_that_never_greets_times_out():
    def silent(conn, stopping):
        stopping.wait(RUN_LIMIT)
    status, took, root, err = run_relay_against(silent)
    try:
        check_deferred(root, status, err)
        assert took < 2 * TIMEOUT + 5, f"took {took:.1f}s"
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
        check_deferred(root, status, err)
    finally:
        root.remove()
