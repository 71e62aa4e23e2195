"""Shared helpers for the hostile-client tests: a private mail root, the
session over a pipe or over a real socket, and counting what got stored.

Every process started here is stopped by its PID (see Server.stop and
Session.kill); nothing talks to anything but 127.0.0.1."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

TOP_BUILDDIR = os.environ.get("top_builddir", os.getcwd())
SESSION = os.path.join(TOP_BUILDDIR, "smtpd-session", "smtpd-session")
HOSTNAME = "mx.example.org"
USERS = ["example.org/u", "example.org/alice", "example.net/bob"]
# VALGRIND="valgrind -q --error-exitcode=99" runs the piped sessions under
# valgrind (the socket tests start their sessions through the launcher).
WRAPPER = os.environ.get("VALGRIND", "").split()
QUEUED = re.compile(rb"^250 2\.0\.0 Ok: queued as (\S+)\r$", re.M)


# Started as root, smtpd-session serves the network only as the configured
# user: the tests then run it as nobody, in a tree that nobody owns.
AS_ROOT = os.geteuid() == 0
NOBODY = pwd.getpwnam("nobody") if AS_ROOT else None


def give_to_nobody(path):
    """chown -R path to nobody (when we are root)."""
    if not AS_ROOT:
        return
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath] + [os.path.join(dirpath, f) for f in filenames]:
            os.chown(name, NOBODY.pw_uid, NOBODY.pw_gid)


class Root:
    """A temporary mail root with Maildirs for USERS and a queue dir."""

    def __init__(self, base=None):
        self.dir = tempfile.mkdtemp(prefix="mailsock-hostile-", dir=base)
        self.mail = os.path.join(self.dir, "mail")
        self.queue = os.path.join(self.dir, "queue")
        for user in USERS:
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(self.mail, user, sub))
        give_to_nobody(self.dir)

    def options(self, **extra):
        opts = {"hostname": HOSTNAME, "domains": "example.org example.net",
                "mail_root": self.mail, "queue_dir": self.queue,
                "relay_networks": "127.0.0.0/8"}
        if AS_ROOT:
            opts["user"] = "nobody"
        opts.update(extra)
        args = ["-c", "/dev/null"]
        for key, value in opts.items():
            args += ["-o", f"{key}={value}"]
        return args

    def messages(self, user):
        """Contents of the files in user's new/, sorted by name."""
        new = os.path.join(self.mail, user, "new")
        return [open(os.path.join(new, n), "rb").read() for n in sorted(os.listdir(new))]

    def names(self, user, sub="new"):
        path = os.path.join(self.mail, user, sub)
        return sorted(os.listdir(path)) if os.path.isdir(path) else []

    def stored_count(self):
        return sum(len(self.names(u)) for u in USERS)

    def queued(self):
        env = os.path.join(self.queue, "env")
        return sorted(os.listdir(env)) if os.path.isdir(env) else []

    def tmp_leftovers(self):
        left = [n for u in USERS for n in self.names(u, "tmp")]
        qtmp = os.path.join(self.queue, "tmp")
        return left + (os.listdir(qtmp) if os.path.isdir(qtmp) else [])

    def clear(self):
        for user in USERS:
            for sub in ("tmp", "new", "cur"):
                d = os.path.join(self.mail, user, sub)
                for n in os.listdir(d):
                    os.unlink(os.path.join(d, n))
        shutil.rmtree(self.queue, ignore_errors=True)

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def run_session(root, data, stranger=True, timeout=60, env_extra=None, **opts):
    """One session over a pipe: all of data at once; returns (status, replies, log)."""
    env = dict(os.environ)
    env.pop("TCPREMOTEIP", None)
    if stranger:
        env["TCPREMOTEIP"] = "192.0.2.1"
    env.update(env_extra or {})
    p = subprocess.run(WRAPPER + [SESSION] + root.options(**opts), input=data, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Session:
    """A session over a pipe that the test drives step by step."""

    def __init__(self, root, stranger=True, run_as=None, **opts):
        env = dict(os.environ)
        env.pop("TCPREMOTEIP", None)
        if stranger:
            env["TCPREMOTEIP"] = "192.0.2.1"
        self.log = tempfile.TemporaryFile()
        prefix = []
        if run_as is not None:          # an unprivileged session, as in production
            prefix = ["setpriv", f"--reuid={run_as}", f"--regid={run_as}", "--clear-groups", "--"]
        self.proc = subprocess.Popen(prefix + WRAPPER + [SESSION] + root.options(**opts), env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, bufsize=0)
        self.buf = b""          # read but not yet returned by expect()
        self.output = b""       # everything the session wrote so far, in order
        self.peak_kb = 0
        self.sampler = threading.Thread(target=self._sample_rss, daemon=True)
        self.sampler.start()

    def _sample_rss(self):
        """VmHWM is the peak so far: sample it until the process is gone."""
        while self.proc.poll() is None:
            try:
                with open(f"/proc/{self.proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            except OSError:
                break
            time.sleep(0.01)

    def send(self, data):
        self.proc.stdin.write(data)

    def expect(self, pattern, timeout=20):
        """Read replies until a line matches pattern (bytes regex); returns
        that line.  What came before it is skipped here, but kept in
        self.output for tests that count every reply."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, re.M)
        while True:
            m = regex.search(self.buf)
            if m:
                line_end = self.buf.find(b"\n", m.end())
                line_end = len(self.buf) if line_end < 0 else line_end + 1
                found, self.buf = self.buf[m.start():line_end], self.buf[line_end:]
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in {self.buf[-300:]!r}")
            chunk = self.read_some(deadline - time.monotonic())
            if chunk is None:
                continue
            if chunk == b"":
                raise AssertionError(f"EOF before {pattern!r}; got {self.buf[-300:]!r}")
            self.buf += chunk
            self.output += chunk

    def read_some(self, timeout):
        import select
        r, _, _ = select.select([self.proc.stdout], [], [], max(timeout, 0))
        return os.read(self.proc.stdout.fileno(), 65536) if r else None

    def peak_rss_kb(self):
        """The session's peak resident memory (VmHWM) seen so far, in kB."""
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
        except OSError:
            pass
        assert self.peak_kb > 0, "no VmHWM sampled"
        return self.peak_kb

    def finish(self, timeout=20):
        """Close our side, read everything, return (status, rest of replies,
        log); self.output then holds the whole output of the session."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        tail = self.proc.stdout.read()
        self.output += tail
        rest, self.buf = self.buf + tail, b""
        status = self.proc.wait(timeout)
        self.log.seek(0)
        return status, rest, self.log.read()

    def finish_after(self, pattern, timeout=60):
        """Wait for a reply line matching pattern, then finish(); returns
        that line and what followed it (self.output has it all)."""
        found = self.expect(pattern, timeout)
        status, rest, log = self.finish()
        return status, found + rest, log

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """smtpd-session behind systemd-socket-activate --accept --inetd on a
    free loopback port: one real process per real TCP connection."""

    def __init__(self, root, **opts):
        self.log = tempfile.TemporaryFile()
        self.greeting = b"220 %s " % opts.get("hostname", HOSTNAME).encode()
        for _ in range(5):          # free_port() hands on a port someone may take
            self.port = free_port()
            self.proc = subprocess.Popen(
                ["systemd-socket-activate", "--accept", "--inetd",
                 "-l", f"127.0.0.1:{self.port}", SESSION] + root.options(**opts),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)
            if self.wait_listening():
                return
            self.stop()
        raise AssertionError("systemd-socket-activate did not start")

    def wait_listening(self):
        for _ in range(200):
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    # our greeting: our session ran, not another program's
                    # listener that took the port after free_port()
                    return s.recv(512).startswith(self.greeting)
            except OSError:
                time.sleep(0.02)
        return False

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self):
        self.log.seek(0)
        return self.log.read()


def recv_until_closed(sock, limit=10 * 1024 * 1024):
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def codes(replies):
    """The reply codes of the last line of each reply, in order."""
    return [int(line[:3]) for line in replies.split(b"\r\n") if len(line) >= 4 and line[3:4] == b" "]
