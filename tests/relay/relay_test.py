#!/usr/bin/python3
"""smtp-relay against real parts, inside a private network namespace.

tests/relay.sh starts this under `unshare --net`: the loopback device is
ours, so receivers listen on port 25 of 127.0.0.x and fd00:99::5, and no
traffic leaves the namespace.  Parts:

  nsd              127.0.0.1@5353, zone tests/relay/test.zone
  smtpd-session    127.0.0.4:25 under systemd-socket-activate (remote.test)
  aiosmtpd sinks   127.0.0.5, .7, .8, .11-.13, [fd00:99::5], 127.0.0.10:2525
  a black hole     127.0.0.9:25 accepts TCP and never greets
  scripted peers   127.0.0.61-63:25 for replies aiosmtpd cannot give: a 554
                   greeting, EHLO and HELO refused, a drop after the final dot
  a DNS proxy      127.0.0.1, a free port, in front of nsd: counts the
                   questions of the DNS cache cases

Mail goes into the relay's queue through a real smtpd-session (a local
session on a pipe, which may relay), then smtp-relay runs.  Each case gets a
fresh queue and mail root.  Prints PASS/FAIL/SKIP lines and "N passed, N
failed, N skipped"; exits 1 on a failure, 77 when a case was skipped (under
CI=true a skip is a failure: exit 1), else 0.
"""
import asyncio
import email
import email.policy
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from aiosmtpd.controller import Controller

SRC = os.environ["top_srcdir"]
BUILD = os.environ["top_builddir"]
RELAY = os.path.join(BUILD, "smtp-relay", "smtp-relay")
SESSION = os.path.join(BUILD, "smtpd-session", "smtpd-session")
DNS_PORT = 5353

LAST_LOG = None
children = []          # Popen objects of long-running parts, killed at exit


def stop_children():
    for p in children:
        if p.poll() is None:
            p.kill()
            p.wait()


def on_signal(signum, _frame):
    stop_children()
    sys.exit(128 + signum)


def sh(*args):
    subprocess.run(args, check=True)


# ---- receivers ------------------------------------------------------------

class Sink:
    """An aiosmtpd handler with failure injection by local part:
    reject*  -> 550 5.1.1 at RCPT          defer*  -> 450 once, then accepted
    multiline* -> a two-line 550 5.1.1 at RCPT (reason first, URL last)
    tempfail* -> 451 at RCPT, always       slow mode -> DATA hangs, then 451
    notat-NAME-* -> 451 at RCPT at the sink called NAME only
    """

    def __init__(self, name):
        self.name = name
        self.reset()

    def reset(self):
        self.messages = []
        self.options = []
        self.deferred = set()
        self.slow = False
        self.data_delay = 0.0
        self.in_data = threading.Event()
        self.ehlos = 0
        self.max_rcpts = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.ehlos += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("reject"):
            return "550 5.1.1 no such user here"
        if local.startswith("multiline"):
            return ("550-5.1.1 The account you tried to reach does not exist.\r\n"
                    "550 5.1.1 https://help.real.test/bounce")
        if local.startswith("tempfail"):
            return "451 4.3.0 temporary trouble"
        if local.startswith(f"notat-{self.name}-"):
            return "451 4.3.0 not at this server"
        if local.startswith("defer") and address not in self.deferred:
            self.deferred.add(address)
            return "450 4.2.0 mailbox busy, try again later"
        if self.max_rcpts is not None and len(envelope.rcpt_tos) >= self.max_rcpts:
            return "452 4.5.3 too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.in_data.set()
        if self.slow:
            await asyncio.sleep(20)
            return "451 4.3.0 too slow"
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content))
        self.options.append(list(envelope.mail_options))
        return "250 2.0.0 Ok: queued"


SINKS = {
    "backup": ("127.0.0.5", 25), "real": ("127.0.0.7", 25), "aonly": ("127.0.0.8", 25),
    "smart": ("127.0.0.10", 2525), "a.tie": ("127.0.0.11", 25),
    "b.tie": ("127.0.0.12", 25), "c.tie": ("127.0.0.13", 25), "v6": ("fd00:99::5", 25),
    "small": ("127.0.0.14", 25),
}
OPTIONS = {"small": {"data_size_limit": 1024, "enable_SMTPUTF8": False}}
sinks = {}
BLACK_HOLE = None


def start_sinks():
    for name, (host, port) in SINKS.items():
        handler = Sink(name)
        ctl = Controller(handler, hostname=host, port=port, ready_timeout=5,
                         **OPTIONS.get(name, {}))
        ctl.start()
        sinks[name] = (handler, ctl)


class BlackHole:
    """Accepts TCP and never says a word.  Records when each connection
    came and went (time.monotonic()), so that a case can tell whether two
    of them were open at once."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, 25))
        self.sock.listen(16)
        self.lock = threading.Lock()
        self.reset()
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def reset(self):
        with self.lock:
            self.conns = []       # [accepted, closed or None]

    def accept_loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return            # closed at the end of the run
            rec = [time.monotonic(), None]
            with self.lock:
                self.conns.append(rec)
            threading.Thread(target=self.drain, args=(conn, rec), daemon=True).start()

    def drain(self, conn, rec):
        with conn:
            try:
                while conn.recv(4096):
                    pass
            except OSError:
                pass
        rec[1] = time.monotonic()

    def settled(self, timeout=10):
        """The connections, once every one is closed (the relay has exited:
        only our reader threads may still be on their way)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if all(rec[1] is not None for rec in self.conns):
                    break
            time.sleep(0.02)
        with self.lock:
            return [list(rec) for rec in self.conns]

    def close(self):
        self.sock.close()


class Scripted:
    """A hand-rolled SMTP peer for what aiosmtpd cannot do: greet with
    `greeting`, answer each command by its verb from `replies` (else 250),
    take the data after 354, and after the final dot either reply 250 or,
    with drop_after_dot, close the connection without a word.  Counts
    connections, commands by verb and messages received whole."""

    def __init__(self, addr, greeting, replies=None, drop_after_dot=False):
        self.greeting = greeting
        self.replies = {"QUIT": "221 2.0.0 bye", **(replies or {})}
        self.drop_after_dot = drop_after_dot
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, 25))
        self.sock.listen(16)
        self.lock = threading.Lock()
        self.reset()
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def reset(self):
        with self.lock:
            self.connections = 0
            self.finished = 0
            self.verbs = []
            self.messages = 0

    def accept_loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def settled(self, connections, timeout=10):
        """Wait (the relay has exited) until our threads took `connections`
        connections and finished each; True when they did."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if self.connections >= connections and self.finished == self.connections:
                    return True
            time.sleep(0.02)
        return False

    def serve(self, conn):
        try:
            self.converse(conn)
        finally:
            with self.lock:
                self.finished += 1

    def converse(self, conn):
        with conn, conn.makefile("rb") as f:
            try:
                conn.sendall(self.greeting.encode() + b"\r\n")
                while True:
                    line = f.readline()
                    if not line:
                        return
                    verb = line.split()[0].upper().decode() if line.split() else ""
                    with self.lock:
                        self.verbs.append(verb)
                    reply = self.replies.get(verb, "250 2.0.0 OK")
                    conn.sendall(reply.encode() + b"\r\n")
                    if verb == "QUIT":
                        return
                    if verb == "DATA" and reply.startswith("354"):
                        while line not in (b".\r\n", b""):
                            line = f.readline()
                        if not line:
                            return
                        with self.lock:
                            self.messages += 1
                        if self.drop_after_dot:
                            conn.shutdown(socket.SHUT_RDWR)
                            return
                        conn.sendall(b"250 2.0.0 queued\r\n")
            except OSError:
                return

    def close(self):
        self.sock.close()


SCRIPTED = {}


def start_scripted():
    SCRIPTED["greet554"] = Scripted("127.0.0.61", "554 5.3.2 mx.greet5xx.test no service today",
                                    {"EHLO": "503 5.5.1 no service", "HELO": "503 5.5.1 no service",
                                     "MAIL": "503 5.5.1 no service"})
    SCRIPTED["helo550"] = Scripted("127.0.0.62", "220 mx.helo5xx.test ESMTP",
                                   {"EHLO": "550 5.7.1 not you", "HELO": "550 5.7.1 not you either",
                                    "MAIL": "503 5.5.1 say hello first"})
    SCRIPTED["dropdot"] = Scripted("127.0.0.63", "220 mx.dropdot.test ESMTP",
                                   {"EHLO": "250 mx.dropdot.test", "DATA": "354 go ahead"},
                                   drop_after_dot=True)


# postfix's smtp-sink: name -> (address, failure flags)
SMTP_SINK = shutil.which("smtp-sink") or (os.path.exists("/usr/sbin/smtp-sink") and "/usr/sbin/smtp-sink")
SMTP_SINKS = {
    "sink450": ("127.0.0.21", ["-r", "RCPT"]),          # 450 at RCPT
    "sink5xx": ("127.0.0.22", ["-f", "MAIL"]),          # 5xx at MAIL
    "sink421": ("127.0.0.23", ["-Q", "MAIL"]),          # 421 and hang up at MAIL
    "sinkslow": ("127.0.0.24", ["-W", "connect:6"]),   # greeting after 6 s
    "sinkhelo": ("127.0.0.25", ["-f", "EHLO"]),         # EHLO refused: HELO
    "sinkpipe": ("127.0.0.26", []),                     # plain, with PIPELINING
    "sink7bit": ("127.0.0.27", ["-8"]),                # no 8BITMIME
}
sink_dumps = {}


class Skip(Exception):
    pass


def real_root():
    """Root of the host, not root mapped from an ordinary user (unshare -r)."""
    with open("/proc/self/uid_map") as f:
        return f.read().split()[:2] == ["0", "0"]


def start_smtp_sinks(top):
    global SMTP_SINK, SMTP_SINK_WHY
    if not SMTP_SINK:
        return
    if not real_root():         # smtp-sink -u calls initgroups(), denied to a mapped root
        SMTP_SINK, SMTP_SINK_WHY = None, "smtp-sink needs real root (it drops privileges)"
        return
    user = "nobody"
    os.chmod(top, 0o711)          # nobody must reach the dump directories
    started = []
    for name, (addr, flags) in SMTP_SINKS.items():
        dump = os.path.join(top, "dump-" + name)
        os.makedirs(dump)
        os.chmod(dump, 0o777)
        p = subprocess.Popen([SMTP_SINK, "-u", user, "-d", dump + "/%H%M%S.", *flags,
                              f"{addr}:25", "16"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        children.append(p)
        started.append(p)
        sink_dumps[name] = dump
    try:
        for name, (addr, _) in SMTP_SINKS.items():
            wait_port(addr, 25)
        time.sleep(0.2)
        if any(p.poll() is not None for p in started):
            raise RuntimeError("exited")
    except RuntimeError:
        SMTP_SINK, SMTP_SINK_WHY = None, "smtp-sink did not start"


def sink_messages(name):
    d = sink_dumps[name]
    return [open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))]


SMTP_SINK_WHY = "smtp-sink not installed (Debian package postfix; optional)"


def need_smtp_sink():
    if not SMTP_SINK:
        raise Skip(SMTP_SINK_WHY)


def wait_port(host, port, timeout=5):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"{host}:{port} never listened")


def start_remote_session(top):
    """A second smtpd-session, the MX of remote.test, on 127.0.0.4:25."""
    conf = os.path.join(top, "remote.conf")
    mail = os.path.join(top, "remote-mail")
    os.makedirs(os.path.join(mail, "remote.test", "bob", "new"))
    for sub in ("tmp", "cur"):
        os.makedirs(os.path.join(mail, "remote.test", "bob", sub))
    os.makedirs(os.path.join(top, "remote-queue"))
    with open(conf, "w") as f:
        f.write(f"hostname = mx1.remote.test\ndomains = remote.test\nmail_root = {mail}\n"
                f"queue_dir = {top}/remote-queue\nrelay_networks =\n")
        if real_root():         # root never serves the network: become nobody
            f.write("user = nobody\n")
    if real_root():
        os.chmod(top, 0o711)
        pw = pwd.getpwnam("nobody")
        for base in (mail, os.path.join(top, "remote-queue")):
            for d, dirs, files in os.walk(base):
                for name in [d] + [os.path.join(d, n) for n in dirs + files]:
                    os.lchown(name, pw.pw_uid, pw.pw_gid)
    p = subprocess.Popen(["systemd-socket-activate", "--accept", "--inetd", "-l",
                          "127.0.0.4:25", SESSION, "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(top, "remote.log"), "w"))
    children.append(p)
    wait_port("127.0.0.4", 25)
    return mail


def start_nsd(top):
    zone = os.path.join(top, "test.zone")
    shutil.copy(os.path.join(SRC, "tests", "relay", "test.zone"), zone)
    conf = os.path.join(top, "nsd.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
  ip-address: 127.0.0.1@{DNS_PORT}
  ip-address: 127.0.0.1@53
  username: ""
  chroot: ""
  database: ""
  zonesdir: "{top}"
  pidfile: "{top}/nsd.pid"
  logfile: "{top}/nsd.log"
  xfrdfile: "{top}/xfrd.state"
  xfrdir: "{top}"
  zonelistfile: "{top}/zone.list"
  verbosity: 1
remote-control:
  control-enable: no
zone:
  name: test
  zonefile: "{zone}"
""")
    p = subprocess.Popen(["nsd", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    children.append(p)
    end = time.time() + 5
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x06\x00\x01"
    while time.time() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", DNS_PORT))
            if s.recv(512)[:2] == b"\x12\x34":
                return
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    raise RuntimeError("nsd did not answer")


# ---- the relay's side -----------------------------------------------------

class Case:
    """A fresh queue, mail root and config for one test."""
    counter = 0

    def __init__(self, top, name, extra=""):
        self.dir = os.path.join(top, name)
        self.queue = os.path.join(self.dir, "queue")
        self.mail = os.path.join(self.dir, "mail")
        os.makedirs(self.dir)
        for user in ("alice", "postmaster"):
            for sub in ("tmp", "new", "cur"):
                os.makedirs(os.path.join(self.mail, "local.test", user, sub))
        self.conf = os.path.join(self.dir, "mailsock.conf")
        with open(self.conf, "w") as f:
            f.write(f"""# smtp-relay test: {name}
hostname = relay.test
domains = local.test
mail_root = {self.mail}
queue_dir = {self.queue}
nameservers = 127.0.0.1@{DNS_PORT}
smtp_port = 25
connect_timeout = 2s
greeting_timeout = 2s
command_timeout = 5s
data_timeout = 10s
log_level = debug
allow_loopback_mx = yes
{extra}""")
        self.log = os.path.join(self.dir, "relay.log")
        global LAST_LOG
        LAST_LOG = self.log

    def submit(self, sender, rcpts, body="Subject: test\n\nHello.\n", params=""):
        """Queue a message through a real smtpd-session on a pipe."""
        lines = ["EHLO client.local.test", f"MAIL FROM:<{sender}>{params}"]
        lines += [f"RCPT TO:<{r}>" for r in rcpts]
        lines += ["DATA"] + body.rstrip("\n").split("\n") + [".", "QUIT"]
        script = "".join(l + "\r\n" for l in lines).encode("utf-8")
        out = subprocess.run([SESSION, "-c", self.conf], input=script, capture_output=True,
                             timeout=20).stdout.decode()
        check("queued as" in out, f"the session queued the message: {out}")
        return out.split("queued as ")[1].split()[0]

    def put_entry(self, sender, rcpts, message, age=0, attempts=0):
        """Write a queue entry directly, as doc/queue.md describes it; it
        arrived `age` seconds ago and was tried `attempts` times."""
        for sub in ("tmp", "msg", "env"):
            os.makedirs(os.path.join(self.queue, sub), exist_ok=True)
        Case.counter += 1
        now = int(time.time())
        qid = f"{now}.M000000P{os.getpid()}Q{Case.counter}"
        with open(os.path.join(self.queue, "msg", qid), "wb") as f:
            f.write(message)
        env = (f"version 1\nid {qid}\narrival {now - age}\npeer local\nhelo test\n"
               f"sender {sender}\nbody 7BIT\nsmtputf8 no\nattempts {attempts}\nnext {now}\n")
        env += "".join(f"rcpt pending {r}\n" for r in rcpts)
        with open(os.path.join(self.queue, "env", qid), "w") as f:
            f.write(env)
        return qid

    def relay(self, *args, timeout=60):
        with open(self.log, "a") as log:
            r = subprocess.run([RELAY, "-c", self.conf, *args], stdout=subprocess.PIPE,
                               stderr=log, timeout=timeout)
        # 0 whatever happened to the mail; anything else (a sanitizer's report
        # included) is a failure of the case
        check(r.returncode == 0, f"smtp-relay exited {r.returncode}")
        return r

    def start_relay(self, *args):
        log = open(self.log, "a")
        p = subprocess.Popen([RELAY, "-c", self.conf, *args], stdout=subprocess.DEVNULL, stderr=log)
        children.append(p)
        return p

    def entries(self):
        return sorted(os.listdir(os.path.join(self.queue, "env")))

    def envelope(self, qid):
        with open(os.path.join(self.queue, "env", qid)) as f:
            return f.read()

    def maildir(self, user, domain="local.test"):
        d = os.path.join(self.mail, domain, user, "new")
        return [open(os.path.join(d, n), "rb").read() for n in sorted(os.listdir(d))]


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def delivered(sink):
    return sinks[sink][0].messages


def reset_sinks():
    for handler, _ in sinks.values():
        handler.reset()
    for peer in SCRIPTED.values():
        peer.reset()
    if BLACK_HOLE:
        BLACK_HOLE.reset()


def parse_dsn(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    check(msg.get_content_type() == "multipart/report", "DSN is multipart/report")
    check(msg.get_param("report-type") == "delivery-status", "report-type=delivery-status")
    parts = list(msg.iter_parts())
    check(len(parts) == 3, f"DSN has 3 parts, not {len(parts)}")
    check(parts[0].get_content_type() == "text/plain", "first part is human-readable")
    check(parts[1].get_content_type() == "message/delivery-status", "second part is the report")
    check(parts[2].get_content_type() == "text/rfc822-headers", "third part: original headers")
    # message/delivery-status: a list of header blocks, first per-message, then per-recipient
    blocks = parts[1].get_payload()
    per_rcpt = [b for b in blocks if b.get("Final-Recipient")]
    return msg, parts, blocks[0], per_rcpt


# ---- the cases ------------------------------------------------------------

def test_best_mx_end_to_end(top):
    """best MX is a second smtpd-session: byte-exact, one more Received"""
    c = Case(top, "best_mx")
    body = ("Subject: end to end\nFrom: alice@local.test\n\n"
            ".leading dot survives dot-stuffing\n..two dots\nline\n\nlast line\n")
    qid = c.submit("alice@local.test", ["bob@remote.test"], body)
    queued = open(os.path.join(c.queue, "msg", qid), "rb").read()
    r = c.relay()
    check(r.returncode == 0, f"relay exit {r.returncode}")
    check(c.entries() == [], "entry removed after delivery")
    check(not os.path.exists(os.path.join(c.queue, "msg", qid)), "message file removed")
    got = [open(os.path.join(REMOTE_MAIL, "remote.test/bob/new", n), "rb").read()
           for n in os.listdir(os.path.join(REMOTE_MAIL, "remote.test/bob/new"))]
    mine = [g for g in got if qid.encode() in g]
    check(len(mine) == 1, f"one copy in the remote Maildir, got {len(mine)}")
    remote = mine[0]
    check(remote.startswith(b"Return-Path: <alice@local.test>\n"), "remote Return-Path")
    # strip the remote's Return-Path and its Received field: the rest is ours, byte for byte
    lines = remote.split(b"\n")
    check(lines[1].startswith(b"Received: from relay.test"), f"remote Received: {lines[1]!r}")
    i = 2
    while lines[i].startswith(b"\t"):
        i += 1
    rest = b"\n".join(lines[i:])
    ours = queued.split(b"\n", 1)[1]           # without our Return-Path
    check(rest == ours, "message byte-exact after the new Received field")
    check(remote.count(b"\nReceived:") == queued.count(b"\nReceived:") + 1, "one more Received")
    check(delivered("backup") == [], "backup MX not used")


def test_failover_refused(top):
    """first MX refuses the connection: the next one gets the mail"""
    c = Case(top, "failover_refused")
    c.submit("alice@local.test", ["carol@failover.test"])
    c.relay()
    check(len(delivered("real")) == 1, "delivered by the second MX")
    check(c.entries() == [], "entry removed")


def test_failover_timeout(top):
    """first MX never greets: greeting timeout, then the next MX"""
    # the other timeouts far apart from greeting_timeout (2s): a relay that
    # waited for the greeting by one of them could not pass for it
    c = Case(top, "failover_timeout", "command_timeout = 30s\ndata_timeout = 30s\n")
    c.submit("alice@local.test", ["carol@slowmx.test"])
    c.relay()
    check(len(delivered("real")) == 1, "delivered by the second MX")
    check(c.entries() == [], "entry removed")
    conns = BLACK_HOLE.settled()
    check(len(conns) == 1 and conns[0][1] is not None,
          f"one connection to the silent MX, closed by the relay: {conns}")
    held = conns[0][1] - conns[0][0]
    check(1.9 <= held < 20, f"greeting_timeout (2s) honoured, not 30s: held {held:.1f}s")
    check("addr=127.0.0.9 code=451 enh=4.4.2 reply=\"trouble: timeout" in open(c.log).read(),
          "the timeout logged")


def test_deferral_then_success(top):
    """450 on RCPT: deferred with a retry time, delivered by a later run"""
    c = Case(top, "deferral")
    qid = c.submit("alice@local.test", ["defer-dan@real.test"])
    before = int(time.time())
    c.relay()
    after = int(time.time())
    check(c.entries() == [qid], "entry kept after 450")
    env = c.envelope(qid)
    check("rcpt pending defer-dan@real.test" in env, "recipient still pending")
    check("rcpt-error 450 4.2.0 mx.real.test" in env, f"error recorded: {env}")
    check("attempts 1" in env, "attempt counted")
    nxt = next_attempt(env)
    check(before + 300 <= nxt <= after + 300,
          f"next attempt 5m (retry_min) after the run: {nxt - before}s after its start")
    listing = c.relay("-l").stdout.decode()
    check(qid in listing and "defer-dan@real.test" in listing and "450 4.2.0" in listing,
          f"-l lists the entry: {listing}")
    c.relay()                                   # not due yet: nothing happens
    check(delivered("real") == [], "not retried before it is due")
    c.relay("-f")
    check(len(delivered("real")) == 1, "delivered on the flush run")
    check(c.entries() == [], "entry removed")
    check(c.maildir("alice") == [], "no bounce")


def next_attempt(env):
    return int(env.split("\nnext ")[1].split()[0])


def test_retry_schedule(top):
    """retry delays double from retry_min and stop at retry_max"""
    c = Case(top, "retry", "retry_min = 100s\nretry_max = 250s\n")
    qid = c.submit("alice@local.test", ["tempfail-r@real.test"])
    for attempt, delay in enumerate((100, 200, 250, 250), 1):
        before = int(time.time())
        c.relay("-f")
        after = int(time.time())
        env = c.envelope(qid)
        check(f"\nattempts {attempt}\n" in env, f"attempt {attempt} counted: {env}")
        nxt = next_attempt(env)
        check(before + delay <= nxt <= after + delay,
              f"after attempt {attempt} the next is {delay}s later, not {nxt - before}s")
    check(c.maildir("alice") == [], "no bounce")


def test_delivered_not_sent_again(top):
    """two domains, one deferred: the next run sends only to that one"""
    c = Case(top, "partial")
    qid = c.submit("alice@local.test", ["ok@real.test", "defer-p@aonly.test"])
    c.relay()
    env = c.envelope(qid)
    check("rcpt delivered ok@real.test" in env and "rcpt pending defer-p@aonly.test" in env, env)
    c.relay("-f")
    check(c.entries() == [], "entry removed")
    check(len(delivered("real")) == 1, f"real.test got it once: {len(delivered('real'))}")
    check(len(delivered("aonly")) == 1, "aonly.test got it on the second run")


def test_envelope_without_message(top):
    """an envelope whose message is gone: logged, left alone, the run goes on"""
    c = Case(top, "orphan")
    qid = c.put_entry("alice@local.test", ["x@real.test"], b"Subject: x\n\nx\n")
    c.put_entry("alice@local.test", ["y@real.test"], b"Subject: y\n\ny\n")
    os.unlink(os.path.join(c.queue, "msg", qid))
    orphan = c.envelope(qid)
    r = c.relay()
    check(r.returncode == 0, "exit 0")
    check([m[1] for m in delivered("real")] == [["y@real.test"]],
          f"the good entry delivered once, after the broken one: {delivered('real')}")
    check(c.entries() == [qid], "the good entry removed, the broken one kept")
    check(c.envelope(qid) == orphan, "the broken one left alone")
    check("envelope without message" in open(c.log).read(), "logged")


def test_corrupt_envelope_moved(top):
    """an unparsable envelope moves to corrupt/ with its message, logged once"""
    c = Case(top, "corrupt")
    qid = c.put_entry("alice@local.test", ["x@real.test"], b"Subject: x\n\nx\n")
    c.put_entry("alice@local.test", ["y@real.test"], b"Subject: y\n\ny\n")
    with open(os.path.join(c.queue, "env", qid), "w") as f:
        f.write("version 1\nid " + qid + "\narrival yesterday\n")
    c.relay()
    c.relay()
    check(c.entries() == [], f"no entry left: {c.entries()}")
    check(not os.path.exists(os.path.join(c.queue, "msg", qid)), "message moved")
    corrupt = sorted(os.listdir(os.path.join(c.queue, "corrupt")))
    check(corrupt == [qid + ".env", qid + ".msg"], corrupt)
    check(open(c.log).read().count("event=corrupt") == 1, "logged once")
    check(len(delivered("real")) == 1, "the good entry delivered")


def test_permanent_failure_dsn(top):
    """550 for one of two recipients: one DSN in the sender's Maildir"""
    c = Case(top, "permanent")
    qid = c.submit("alice@local.test", ["reject-x@real.test", "ok@real.test"],
                   "Subject: doomed\nMessage-ID: <doomed@local.test>\n\nbody\n")
    c.relay()
    check(c.entries() == [], "entry removed")
    check([m[1] for m in delivered("real")] == [["ok@real.test"]], "the good recipient got it")
    dsns = c.maildir("alice")
    check(len(dsns) == 1, f"one DSN, got {len(dsns)}")
    msg, parts, per_msg, per_rcpt = parse_dsn(dsns[0])
    check(dsns[0].startswith(b"Return-Path: <>\n"), "DSN has a null return path")
    check("MAILER-DAEMON@relay.test" in msg["From"], "from bounce_sender")
    check(per_msg["Reporting-MTA"] == "dns; relay.test", "Reporting-MTA")
    check(len(per_rcpt) == 1, "one failed recipient reported")
    b = per_rcpt[0]
    check(b["Final-Recipient"] == "rfc822; reject-x@real.test", b["Final-Recipient"])
    check(b["Action"] == "failed", "Action: failed")
    check(b["Status"] == "5.1.1", f"Status {b['Status']}")
    check(b["Remote-MTA"] == "dns; mx.real.test", f"Remote-MTA {b['Remote-MTA']}")
    check("550" in b["Diagnostic-Code"], "Diagnostic-Code")
    check("Message-ID: <doomed@local.test>" in parts[2].get_content(), "original headers")
    check(qid in parts[0].get_content(), "human part names the queue id")


def test_multiline_reply_diagnostic(top):
    """a two-line 550: the DSN's Diagnostic-Code keeps the reason, not only the URL"""
    c = Case(top, "multiline")
    c.submit("alice@local.test", ["multiline-x@real.test"])
    c.relay()
    dsns = c.maildir("alice")
    check(len(dsns) == 1, f"one DSN, got {len(dsns)}")
    _, _, _, per_rcpt = parse_dsn(dsns[0])
    diag = per_rcpt[0]["Diagnostic-Code"] if per_rcpt else ""
    check("does not exist" in diag and "https://help.real.test/bounce" in diag, diag)
    check(per_rcpt and per_rcpt[0]["Status"] == "5.1.1", "Status from the first line")


def test_dsn_unknown_local_sender(top):
    """a local sender without a Maildir: the DSN goes to the domain's postmaster"""
    c = Case(top, "ghost")
    c.submit("Ghost+tag@Local.Test", ["reject-g@real.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    check(len(c.maildir("postmaster")) == 1, "DSN at postmaster@local.test")


def test_debris_reaped(top):
    """files a crash left: tmp/ and orphan msg/ older than a day go, young ones stay"""
    c = Case(top, "debris")
    c.put_entry("alice@local.test", ["x@real.test"], b"Subject: x\n\nx\n")
    old = time.time() - 2 * 86400
    paths = {name: os.path.join(c.queue, name) for name in
             ("tmp/old", "tmp/young", "msg/1.M1P1Q1", "msg/2.M2P2Q2")}
    for path in paths.values():
        open(path, "w").close()
    for name in ("tmp/old", "msg/1.M1P1Q1"):
        os.utime(paths[name], (old, old))
    c.relay()
    check(not os.path.exists(paths["tmp/old"]) and not os.path.exists(paths["msg/1.M1P1Q1"]),
          "old debris removed")
    check(os.path.exists(paths["tmp/young"]) and os.path.exists(paths["msg/2.M2P2Q2"]),
          "young files kept (a session may be writing them)")
    check(c.entries() == [] and len(delivered("real")) == 1, "the real entry delivered")


def test_null_mx(top):
    """null MX: immediate DSN with 5.1.10, no connection"""
    c = Case(top, "nullmx")
    c.submit("alice@local.test", ["x@nullmx.test"])
    c.relay()
    check(c.entries() == [], "entry removed at once")
    dsns = c.maildir("alice")
    check(len(dsns) == 1, "one DSN")
    _, _, _, per_rcpt = parse_dsn(dsns[0])
    check(per_rcpt[0]["Status"] == "5.1.10", per_rcpt[0]["Status"])
    check("Diagnostic-Code" not in per_rcpt[0], "no Diagnostic-Code: no server said it")


def test_nxdomain(top):
    """NXDOMAIN: permanent, DSN"""
    c = Case(top, "nxdomain")
    c.submit("alice@local.test", ["x@nosuch.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "5.1.2", per_rcpt[0]["Status"])


def test_null_sender_not_bounced(top):
    """a message from <> that fails for good is dropped, never bounced"""
    c = Case(top, "nullsender")
    c.submit("", ["reject-y@real.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    check(c.maildir("alice") == [] and c.maildir("postmaster") == [], "no DSN anywhere")
    check(delivered("real") == [], "nothing delivered")
    check("suppressed" in open(c.log).read(), "logged")


def test_foreign_sender_dsn_queued(top):
    """a foreign sender's DSN goes through the queue, from <>"""
    c = Case(top, "foreign_dsn")
    c.submit("carol@elsewhere.test", ["reject-z@real.test"])
    c.relay()
    entries = c.entries()
    check(len(entries) == 1, f"the DSN is queued: {entries}")
    env = c.envelope(entries[0])
    check("\nsender \n" in env and "rcpt pending carol@elsewhere.test" in env, env)
    check("\nbody 7BIT\n" in env, f"an ASCII DSN is 7BIT: {env}")
    c.relay()
    check(c.entries() == [], "DSN delivered")
    got = delivered("real")
    check(len(got) == 1 and got[0][0] in ("", "<>"), f"sent from <>: {got}")
    parse_dsn(got[0][2])


def test_foreign_sender_dsn_8bit(top):
    """a DSN that quotes 8-bit headers is queued as BODY=8BITMIME"""
    c = Case(top, "foreign_dsn_8bit")
    c.submit("carol@elsewhere.test", ["reject-z@real.test"], "Subject: caf\u00e9\n\nx\n",
             params=" BODY=8BITMIME")
    c.relay()
    entries = c.entries()
    check(len(entries) == 1, f"the DSN is queued: {entries}")
    env = c.envelope(entries[0])
    check("\nbody 8BITMIME\n" in env, env)


def test_expiry_dsn(top):
    """still deferred after queue_lifetime: DSN with 4.4.7"""
    c = Case(top, "expiry", "queue_lifetime = 1s\n")
    c.submit("alice@local.test", ["tempfail-t@real.test"])
    time.sleep(1.2)
    c.relay()
    check(c.entries() == [], "entry removed")
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "4.4.7", per_rcpt[0]["Status"])
    check("Diagnostic-Code" not in per_rcpt[0], "no Diagnostic-Code for expiry")
    check(per_rcpt[0]["Action"] == "failed", "Action: failed")


def test_smarthost(top):
    """smarthost: everything to one host:port, no MX"""
    c = Case(top, "smarthost", "smarthost = 127.0.0.10:2525\n")
    c.submit("alice@local.test", ["a@remote.test", "b@nosuch.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    got = delivered("smart")
    check(len(got) == 1 and sorted(got[0][1]) == ["a@remote.test", "b@nosuch.test"],
          f"one transaction with both: {got}")


def test_routes(top):
    """A-only domain, IPv6-only MX, CNAME domain, CNAME MX target, MX without address"""
    c = Case(top, "routes")
    c.submit("alice@local.test", ["a@aonly.test", "b@v6only.test", "c@cname.test",
                                  "d@mxcname.test", "e@noaddr.test"])
    c.relay()
    check(c.entries() == [], f"entry removed: {open(c.log).read()}")
    check(len(delivered("aonly")) == 1, "implicit MX")
    check(len(delivered("v6")) == 1, "IPv6 MX")
    rcpts = sorted(r for m in delivered("real") for r in m[1])
    check(rcpts == ["c@cname.test", "d@mxcname.test", "e@noaddr.test"], rcpts)


def test_dns_refused_deferred(top):
    """the DNS server refuses (a zone it does not serve): deferred, 4.4.3"""
    c = Case(top, "dnsrefused")
    qid = c.submit("alice@local.test", ["x@example.org"])
    c.relay()
    check(c.entries() == [qid], "entry kept")
    check("rcpt-error 451 4.4.3 -" in c.envelope(qid), c.envelope(qid))


def test_ipv6_then_ipv4(top):
    """a host's IPv6 address first; unreachable, so its IPv4 address"""
    c = Case(top, "dual")
    c.submit("alice@local.test", ["x@dual.test"])
    c.relay()
    check(c.entries() == [] and len(delivered("real")) == 1, "delivered over IPv4")
    log = open(c.log).read()
    check(log.index("addr=fd00:99::66") < log.index("addr=127.0.0.7"), "IPv6 tried first")


def test_dns_down_deferred(top):
    """no DNS server answers: deferred (4.4.3), nothing lost"""
    c = Case(top, "dnsdown", "nameservers = 127.0.0.1@5399\n")
    qid = c.submit("alice@local.test", ["x@real.test"])
    c.relay()
    check(c.entries() == [qid], "entry kept")
    check("rcpt-error 451 4.4.3 -" in c.envelope(qid), c.envelope(qid))


def test_no_address_deferred(top):
    """the only MX has no address: deferred, not lost"""
    c = Case(top, "noaddr")
    qid = c.submit("alice@local.test", ["x@noaddronly.test"])
    c.relay()
    check(c.entries() == [qid], "entry kept")
    check("4.4.4" in c.envelope(qid), c.envelope(qid))


def test_self_mx_loop(top):
    """this host is the best MX: 5.4.6, never the worse MX"""
    c = Case(top, "selfmx")
    c.submit("alice@local.test", ["x@selfmx.test"])
    c.relay()
    check(delivered("real") == [], "worse MX not used")
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "5.4.6", per_rcpt[0]["Status"])


def test_mx_on_localhost_loop(top):
    """an MX whose address is 127.0.0.1 is this host: 5.4.6, never sent"""
    c = Case(top, "loopmx")
    c.submit("alice@local.test", ["x@loopmx.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "5.4.6", per_rcpt[0]["Status"])


def test_mx_limits(top):
    """a zone of many dead MX hosts: at most 5 hosts and 10 addresses tried"""
    c = Case(top, "manymx")
    qid = c.submit("alice@local.test", ["x@manymx.test"])
    c.relay()
    check(c.entries() == [qid], "deferred, not delivered by the 7th MX")
    check(delivered("real") == [], "the 7th MX is past the limit")
    tried = [l.split("addr=")[1].split()[0] for l in open(c.log) if "event=attempt" in l]
    hosts = {l.split("host=")[1].split()[0] for l in open(c.log) if "event=attempt" in l}
    check(len(tried) == 10, f"10 addresses tried: {tried}")
    check(len(hosts) == 4, f"hosts tried: {hosts}")
    # one address per host: the host limit stops the list first
    c2 = Case(top, "manyhosts")
    qid = c2.submit("alice@local.test", ["x@manyhosts.test"])
    c2.relay()
    check(c2.entries() == [qid], "deferred, not delivered by the 8th MX")
    check(delivered("real") == [], "the 8th MX is past the limit")
    tried = [l.split("host=")[1].split()[0] for l in open(c2.log) if "event=attempt" in l]
    check(tried == [f"h{i}.manyhosts.test" for i in range(1, 6)],
          f"the 5 best hosts, in order, once each: {tried}")


def test_self_mx_after_dns_failure(top):
    """best MX not resolvable, next MX is us: deferred (4.4.3), no bounce"""
    c = Case(top, "dnsfailself")
    qid = c.submit("alice@local.test", ["x@dnsfailself.test"])
    c.relay()
    check(c.entries() == [qid], "entry kept")
    check("rcpt-error 451 4.4.3 -" in c.envelope(qid), c.envelope(qid))
    check(c.maildir("alice") == [], "no DSN")


def test_self_address_drops_worse_mx(top):
    """the best MX's address is this host: 5.4.6, the worse MX never used"""
    c = Case(top, "selfaddr")
    c.submit("alice@local.test", ["x@selfaddr.test"])
    c.relay()
    check(delivered("real") == [], "worse MX not used")
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "5.4.6", per_rcpt[0]["Status"])


def test_self_address_spellings(top):
    """0.0.0.0, ::ffff:127.0.0.1, and 127.0.0.7 without allow_loopback_mx: this host"""
    c = Case(top, "selfspell")
    c.submit("alice@local.test", ["x@zeromx.test"])
    c.submit("alice@local.test", ["y@mappedmx.test"])
    c.relay()
    strict = Case(top, "selfstrict", "allow_loopback_mx = no\n")
    strict.submit("alice@local.test", ["z@real.test"])
    strict.relay()
    check(delivered("real") == [], "127.0.0.7 not used without allow_loopback_mx")
    dsns = c.maildir("alice") + strict.maildir("alice")
    check(len(dsns) == 3, f"three DSNs: {len(dsns)}")
    for raw in dsns:
        _, _, _, per_rcpt = parse_dsn(raw)
        check(per_rcpt[0]["Status"] == "5.4.6", per_rcpt[0]["Status"])


def test_unprintable_mx_name_skipped(top):
    """an MX name with no usable text form is skipped, not taken for a null MX"""
    c = Case(top, "badname")
    c.submit("alice@local.test", ["x@badname.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    check(len(delivered("real")) == 1, "delivered by the next MX")
    check(c.maildir("alice") == [], "no DSN")


def test_no_reply_to_dot_not_resent(top):
    """no reply to the final dot: deferred, never sent to the next MX in the same run"""
    c = Case(top, "dupmx", "data_timeout = 2s\n")
    qid = c.submit("alice@local.test", ["x@dupmx.test"])
    sinks["real"][0].slow = True
    c.relay()
    check(sinks["real"][0].in_data.is_set(), "the first MX got the data")
    check(delivered("backup") == [], "no copy at the second MX")
    check(c.entries() == [qid], "entry kept")
    check("rcpt-error 451 4.4.2 mx.real.test" in c.envelope(qid), c.envelope(qid))


def test_host_refusal_is_temporary(top):
    """a 554 greeting, or EHLO and HELO refused: next MX; as the only MX: deferred, never bounced"""
    c = Case(top, "hostrefused")
    c.submit("alice@local.test", ["a@greet5xx.test"])
    c.submit("alice@local.test", ["b@helo5xx.test"])
    only = {c.submit("alice@local.test", ["c@greet5xxonly.test"]): "mx.greet5xx.test",
            c.submit("alice@local.test", ["d@helo5xxonly.test"]): "mx.helo5xx.test"}
    for run in (1, 2):           # and again: still no bounce on the next attempt
        c.relay("-f")
        check(c.entries() == sorted(only), f"run {run}: only the entries without another MX kept")
        for qid, host in only.items():
            env = c.envelope(qid)
            check("\nrcpt pending " in env and f"rcpt-error 451 4.4.0 {host}" in env
                  and f"\nattempts {run}\n" in env, f"run {run}: deferred, 4.4.0: {env}")
        check(c.maildir("alice") == [] and c.maildir("postmaster") == [], f"run {run}: no DSN")
    rcpts = sorted(r for m in delivered("real") for r in m[1])
    check(rcpts == ["a@greet5xx.test", "b@helo5xx.test"], f"the next MX got them once: {rcpts}")
    greet, helo = SCRIPTED["greet554"], SCRIPTED["helo550"]
    # each host: its two messages in the first run, the one left in the second
    greet.settled(3)
    helo.settled(3)
    check(greet.connections == 3 and "MAIL" not in greet.verbs,
          f"the 554 host: tried once per message and run, no MAIL: {greet.connections} {greet.verbs}")
    check(helo.connections == 3 and helo.verbs.count("HELO") == 3 and "MAIL" not in helo.verbs,
          f"EHLO refused: HELO tried, then no MAIL: {helo.connections} {helo.verbs}")


def test_dropped_after_dot_not_resent(top):
    """the connection drops after the final dot: deferred, no copy at the next MX"""
    c = Case(top, "dropdot")
    qid = c.submit("alice@local.test", ["x@dropdot.test"])
    c.relay()
    SCRIPTED["dropdot"].settled(1)
    check(SCRIPTED["dropdot"].messages == 1, "the first MX got the whole message, dot and all")
    check(delivered("real") == [], "no second copy at the next MX")
    check(c.entries() == [qid], "entry kept")
    env = c.envelope(qid)
    check("rcpt pending x@dropdot.test" in env and "rcpt-error 451 4.4.2 mx.dropdot.test" in env,
          env)
    check(c.maildir("alice") == [], "no DSN")


STRACE = shutil.which("strace")
SYSCALL = re.compile(r"^(\d+) +(\w+)\((.*)\) += (-?\d+)")
SYSCALL_ARG = re.compile(r'(?:\d+|AT_FDCWD)<([^>]*)>|"((?:[^"\\]|\\.)*)"')


def traced_calls(path):
    """strace -y output -> [(name, [absolute paths])]: a file descriptor
    argument is its path, a quoted name relative to the one before it."""
    calls = []
    for line in open(path):
        m = SYSCALL.match(line)
        if not m or int(m.group(4)) < 0:
            continue
        paths, base = [], None
        for fd_path, name in SYSCALL_ARG.findall(m.group(3)):
            if fd_path:
                base = fd_path
                if m.group(2) in ("fsync", "fdatasync"):
                    paths.append(fd_path)
            else:
                paths.append(os.path.join(base or "/", name))
        calls.append((m.group(2), paths))
    return calls


def first(calls, name, path, after=-1):
    """Index of the first call `name` on `path` after index `after`, or None."""
    for i in range(after + 1, len(calls)):
        if calls[i][0] == name and path in calls[i][1]:
            return i
    return None


def test_bounce_stored_before_marked(top):
    """a DSN is fsynced into the Maildir or the queue before its recipients are marked failed"""
    if not STRACE:
        raise Skip("strace not installed (Debian package strace)")
    if subprocess.run([STRACE, "-qq", "-o", "/dev/null", "true"]).returncode != 0:
        raise Skip("strace cannot trace here (ptrace denied)")
    c = Case(top, "bounceorder", "max_parallel = 1\n")
    gone = c.submit("alice@local.test", ["reject-a@real.test"])        # all failed: removed
    kept = c.submit("alice@local.test", ["reject-b@real.test", "tempfail-b@real.test"])
    foreign = c.submit("carol@elsewhere.test", ["reject-c@real.test"])  # DSN through the queue
    trace = os.path.join(c.dir, "strace.out")
    env = dict(os.environ)      # LeakSanitizer cannot run under ptrace; the other cases check leaks
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    with open(c.log, "a") as log:
        r = subprocess.run([STRACE, "-f", "-y", "-qq", "-e", "signal=none", "-o", trace, "-e",
                            "trace=openat,fsync,fdatasync,linkat,renameat,renameat2,unlinkat",
                            RELAY, "-c", c.conf], stderr=log, env=env, timeout=60)
    check(r.returncode == 0, f"smtp-relay under strace exited {r.returncode}")
    calls = traced_calls(trace)
    queue, mail = os.path.realpath(c.queue), os.path.realpath(c.mail)
    new = os.path.join(mail, "local.test/alice/new")

    def marks(qid):
        """The calls that change env/QID: the envelope rewritten or removed."""
        env = os.path.join(queue, "env", qid)
        return [i for i, (name, paths) in enumerate(calls)
                if name in ("renameat", "renameat2", "unlinkat") and paths[-1] == env]

    dsns = sorted(os.listdir(new))
    check(len(dsns) == 2, f"two DSNs for alice: {dsns}")
    for name in dsns:
        text = open(os.path.join(new, name), "rb").read().decode()
        qid = gone if gone in text else kept
        check(qid in text, f"the DSN {name} names its message")
        link = first(calls, "linkat", os.path.join(new, name))
        check(link is not None, f"the DSN {name} was linked into new/")
        src = calls[link][1][0]
        synced = first(calls, "fsync", src)
        check(synced is not None and synced < link, f"the DSN file fsynced before its link: {src}")
        dir_synced = first(calls, "fsync", new, after=link)
        check(dir_synced is not None, "new/ fsynced after the link")
        check(marks(qid) and min(marks(qid)) > dir_synced,
              f"{qid} marked only after its DSN is on disk: calls {marks(qid)}, "
              f"DSN linked at {link}, new/ fsynced at {dir_synced}")
    check(kept in c.entries() and gone not in c.entries(), c.entries())
    check("rcpt failed reject-b@real.test" in c.envelope(kept), c.envelope(kept))
    queued = [q for q in c.entries() if q != kept]
    check(len(queued) == 1 and foreign not in queued, f"the foreign DSN queued: {queued}")
    dsn_msg = first(calls, "linkat", os.path.join(queue, "msg", queued[0]))
    msg_synced = first(calls, "fsync", os.path.join(queue, "msg"), after=dsn_msg or 0)
    dsn_env = first(calls, "renameat", os.path.join(queue, "env", queued[0]))
    check(None not in (dsn_msg, msg_synced, dsn_env) and dsn_msg < msg_synced < dsn_env,
          f"the DSN's message linked into msg/ ({dsn_msg}), msg/ fsynced ({msg_synced}), "
          f"then its envelope renamed into env/ ({dsn_env})")
    env_synced = first(calls, "fsync", os.path.join(queue, "env"), after=dsn_env)
    check(marks(foreign) and env_synced is not None and min(marks(foreign)) > env_synced,
          f"{foreign} removed only after the DSN's envelope is on disk: calls "
          f"{marks(foreign)}, DSN envelope at {dsn_env}, env/ fsynced at {env_synced}")


LOG_PAIR = re.compile(r'([a-z][a-z0-9_-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def log_events(path, event):
    """The log lines of one event as dicts, in order; values unquoted."""
    out = []
    for line in open(path):
        pairs = [(k, v[1:-1].replace('\\"', '"').replace("\\\\", "\\") if v.startswith('"') else v)
                 for k, v in LOG_PAIR.findall(line.split(": ", 1)[-1])]
        d = dict(pairs)
        if d.get("event") == event:
            d["_keys"] = [k for k, _ in pairs]
            out.append(d)
    return out


def test_log_events(top):
    """event=delivery per recipient and run, event=bounce per DSN, event=removed per finished entry"""
    c = Case(top, "logevents")
    qid = c.put_entry("alice@local.test",
                      ["ok-l@real.test", "reject-l@real.test", "tempfail-l@real.test"],
                      b"Subject: log\n\nx\n", age=1000, attempts=3)
    done = c.put_entry("alice@local.test", ["ok-m@real.test"], b"Subject: log\n\nx\n")
    null = c.put_entry("", ["reject-n@real.test"], b"Subject: log\n\nx\n")
    c.relay()
    first_run = log_events(c.log, "delivery")
    c.relay("-f")
    deliveries = log_events(c.log, "delivery")
    second_run = deliveries[len(first_run):]

    def one(rcpt, lines):
        got = [d for d in lines if d.get("rcpt") == rcpt]
        check(len(got) == 1, f"one event=delivery for {rcpt}: {got}")
        return got[0]

    want = {"ok-l@real.test": ("sent", "250", "2.0.0", "Ok: queued"),
            "reject-l@real.test": ("bounced", "550", "5.1.1", "no such user here"),
            "tempfail-l@real.test": ("deferred", "451", "4.3.0", "temporary trouble")}
    for rcpt, (status, code, enh, reply) in want.items():
        d = one(rcpt, first_run)
        check(d["_keys"][:2] == ["msgid", "event"] and d["msgid"] == qid, f"queue id first: {d}")
        check((d["status"], d["relay"], d["addr"], d["code"], d["enh"], d["reply"], d["attempts"])
              == (status, "mx.real.test", "127.0.0.7", code, enh, reply, "4"), d)
        check(1000 <= int(d["delay"]) < 1000 + 300, f"delay: seconds since arrival: {d}")
    check(one("ok-m@real.test", first_run)["status"] == "sent", first_run)
    check(one("reject-n@real.test", first_run)["status"] == "bounced", first_run)
    check(len(first_run) == 5, f"one per recipient in the first run: {len(first_run)}")
    d = one("tempfail-l@real.test", second_run)
    check(len(second_run) == 1 and d["status"] == "deferred" and d["attempts"] == "5",
          f"the second run: only the recipient still pending, attempt 5: {second_run}")

    bounces = log_events(c.log, "bounce")
    dsns = sorted(os.listdir(os.path.join(c.mail, "local.test/alice/new")))
    check(len(bounces) == 2 and len(dsns) == 1, f"two bounce events, one DSN: {bounces} {dsns}")
    stored = [b for b in bounces if b["msgid"] == qid]
    check(len(stored) == 1 and stored[0]["to"] == "alice@local.test"
          and stored[0]["result"] == "stored" and dsns[0].startswith(stored[0]["dsn"] + "."),
          f"the DSN stored, named by its id: {stored} {dsns}")
    suppressed = [b for b in bounces if b["msgid"] == null]
    check(len(suppressed) == 1 and suppressed[0]["to"] == "<>"
          and suppressed[0]["result"].startswith("suppressed"), f"null sender: {suppressed}")

    removed = [d["msgid"] for d in log_events(c.log, "removed")]
    check(sorted(removed) == sorted([done, null]) and c.entries() == [qid],
          f"event=removed once for each finished entry, never for the one left: {removed}")


def test_delivered_saved_per_transaction(top):
    """a recipient accepted by the first MX is saved before the next MX is tried"""
    c = Case(top, "savetx")
    qid = c.submit("alice@local.test", ["ok@dupmx.test", "notat-real-b@dupmx.test"])
    handler = sinks["backup"][0]
    handler.slow = True
    p = c.start_relay()
    check(handler.in_data.wait(20), "relay reached DATA at the second MX")
    p.kill()
    p.wait()
    env = c.envelope(qid)
    check("rcpt delivered ok@dupmx.test" in env and "rcpt pending notat-real-b@dupmx.test" in env,
          env)


def test_recipients_per_transaction(top):
    """at most 100 RCPTs per transaction; 452 too many: the rest in the next one"""
    c = Case(top, "rcptmax")
    many = [f"r{i}@real.test" for i in range(150)]
    c.put_entry("alice@local.test", many, b"Subject: many\n\nx\n")
    c.relay()
    sizes = [len(m[1]) for m in delivered("real")]
    check(sizes == [100, 50], f"two transactions of 100 and 50: {sizes}")
    check(c.entries() == [], "entry removed")
    reset_sinks()
    sinks["real"][0].max_rcpts = 3
    c2 = Case(top, "rcpt452")
    c2.submit("alice@local.test", [f"s{i}@dupmx.test" for i in range(7)])
    c2.relay()
    sizes = [len(m[1]) for m in delivered("real")]
    check(sizes == [3, 3, 1], f"transactions of 3, 3 and 1 at the first MX: {sizes}")
    check(delivered("backup") == [], "452 is no reason for the next MX")
    check(sinks["real"][0].ehlos == 1, "one connection")
    check(c2.entries() == [], "entry removed")


def test_tie_random(top):
    """equal preference: both hosts used over many messages, the worse never"""
    c = Case(top, "tie", "max_parallel = 1\n")
    for i in range(16):
        c.submit("alice@local.test", [f"u{i}@tie.test"])
    c.relay()
    check(c.entries() == [], "all delivered")
    a, b = len(delivered("a.tie")), len(delivered("b.tie"))
    check(a + b == 16 and a > 0 and b > 0, f"spread over the tie: {a} and {b}")
    check(delivered("c.tie") == [], "worse preference unused")


def test_overlapping_runs(top):
    """two runs at once: every message delivered exactly once"""
    c = Case(top, "overlap", "max_parallel = 2\n")
    for i in range(6):
        c.submit("alice@local.test", [f"o{i}@real.test"])
    sinks["real"][0].data_delay = 0.3
    p1 = c.start_relay()
    p2 = c.start_relay()
    check(p1.wait(60) == 0 and p2.wait(60) == 0, "both runs exit 0")
    rcpts = sorted(r for m in delivered("real") for r in m[1])
    check(rcpts == sorted(f"o{i}@real.test" for i in range(6)), f"exactly once each: {rcpts}")
    check(c.entries() == [], "all removed")


def test_workers_take_entries_as_free(top):
    """max_parallel 2, slow entries 1st and 3rd: the free worker takes the 3rd"""
    # greeting_timeout 5s: the worker that took the 1st entry waits that long
    # at the black hole; the other must deliver the 2nd and reach the 3rd
    # within it -- a few milliseconds' work, with room for a loaded machine
    c = Case(top, "dealing", "max_parallel = 2\ngreeting_timeout = 5s\n")
    Case.counter = max(Case.counter, 1000)       # ids of one length: sorted as made
    for domain in ("slowmx", "real", "slowmx", "real"):
        c.put_entry("alice@local.test", [f"x@{domain}.test"], b"Subject: d\n\nd\n")
    c.relay()
    check(c.entries() == [] and len(delivered("real")) == 4, "all delivered")
    conns = BLACK_HOLE.settled()
    check(len(conns) == 2 and None not in (conns[0][1], conns[1][1]),
          f"two connections to the silent MX, both closed: {conns}")
    check(conns[1][0] < conns[0][1],
          "the two greeting timeouts ran side by side: the 3rd entry's connection "
          f"came {conns[1][0] - conns[0][0]:.1f}s after the 1st's, which lasted "
          f"{conns[0][1] - conns[0][0]:.1f}s")


def traced_run(c, trace, calls="openat,flock,newfstatat"):
    """One relay run under strace; its calls as traced_calls gives them."""
    if not STRACE:
        raise Skip("strace not installed (Debian package strace)")
    if subprocess.run([STRACE, "-qq", "-o", "/dev/null", "true"]).returncode != 0:
        raise Skip("strace cannot trace here (ptrace denied)")
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    with open(c.log, "a") as log:
        r = subprocess.run([STRACE, "-f", "-y", "-qq", "-e", "signal=none", "-o", trace,
                            "-e", f"trace={calls}", RELAY, "-c", c.conf],
                           stderr=log, env=env, timeout=60)
    check(r.returncode == 0, f"smtp-relay under strace exited {r.returncode}")
    return [(name, paths) for name, paths in traced_calls(trace)]


def test_due_index(top):
    """entries not due are not opened (env/ID's mtime is the next attempt); then, nothing due is noted"""
    c = Case(top, "dueindex")
    later = int(time.time()) + 3600
    waiting = []
    for i in range(30):
        qid = c.put_entry("alice@local.test", [f"w{i}@real.test"], b"Subject: w\n\nw\n")
        path = os.path.join(c.queue, "env", qid)
        text = re.sub(r"\nnext \d+", f"\nnext {later}", open(path).read())
        with open(path, "w") as f:
            f.write(text)
        os.utime(path, (later, later))          # as smtp-relay writes a deferred entry
        waiting.append(qid)
    legacy = c.put_entry("alice@local.test", ["old@real.test"], b"Subject: o\n\no\n")
    calls = traced_run(c, os.path.join(c.dir, "strace1.out"))
    touched = {os.path.basename(p) for name, paths in calls if name in ("openat", "flock")
               for p in paths if "/queue/env/" in p or "/queue/msg/" in p}
    check(legacy in touched, f"the entry without the index is due: opened {sorted(touched)}")
    check(not touched & set(waiting), f"no envelope or message of an entry not due opened: "
          f"{sorted(touched & set(waiting))}")
    check(len(delivered("real")) == 1 and sorted(c.entries()) == sorted(waiting),
          "the due entry delivered, the 30 others kept")
    time.sleep(1.1)     # env/ must be a second old for its state to be noted
    c.relay()
    check(os.path.exists(os.path.join(c.queue, "due")), "nothing due: noted in QUEUE_DIR/due")
    calls = traced_run(c, os.path.join(c.dir, "strace3.out"))
    per_entry = [p for name, paths in calls for p in paths if "/queue/env/" in p]
    check(per_entry == [], f"a run over a noted queue looks at no entry: {per_entry[:5]}")
    check(sorted(c.entries()) == sorted(waiting), "the 30 entries still there")
    # a new entry changes env/: the note no longer holds
    fresh = c.put_entry("alice@local.test", ["fresh@real.test"], b"Subject: f\n\nf\n")
    c.relay()
    check(fresh not in c.entries() and len(delivered("real")) == 2, "a new entry is seen")


def test_delivered_entry_removed_not_rewritten(top):
    """a message whose last pending recipient is delivered: its entry is removed, not rewritten first"""
    c = Case(top, "norewrite")
    qid = c.submit("alice@local.test", ["x@real.test"])
    calls = traced_run(c, os.path.join(c.dir, "strace.out"), "renameat,renameat2,unlinkat")
    env = os.path.join(c.queue, "env", qid)
    check(len(delivered("real")) == 1 and c.entries() == [], "delivered and removed")
    check(first(calls, "unlinkat", env) is not None, f"env/{qid} unlinked")
    rewrites = [n for n, paths in calls if n.startswith("renameat") and env in paths]
    check(rewrites == [], f"env/{qid} not rewritten before its removal: {rewrites}")


def test_arrival_during_slow_backlog(top):
    """a message queued while every worker is stuck on a slow backlog goes out in the same run"""
    c = Case(top, "arrival", "max_parallel = 2\ngreeting_timeout = 10s\n")
    for i in range(2):
        c.put_entry("alice@local.test", [f"b{i}@slowmx.test"], b"Subject: b\n\nb\n")
    p = c.start_relay()
    end = time.monotonic() + 20
    while time.monotonic() < end and len(BLACK_HOLE.conns) < 2:
        time.sleep(0.02)
    check(len(BLACK_HOLE.conns) == 2, "both workers held by the silent MX")
    qid = c.submit("alice@local.test", ["fresh@real.test"])
    while time.monotonic() < end + 10 and not delivered("real"):
        time.sleep(0.02)
    with BLACK_HOLE.lock:
        held = [rec[1] is None for rec in BLACK_HOLE.conns]
    got = [m[1] for m in delivered("real")]
    check(got == [["fresh@real.test"]], f"the new message delivered first: {got}")
    check(all(held), "while both backlog connections were still waiting for a greeting")
    p.wait(timeout=60)
    children.remove(p)
    check(p.returncode == 0, f"the run exited {p.returncode}")
    check(c.entries() == [] and len(delivered("real")) == 3,
          f"then the backlog went to the next MX: {c.entries()} {qid}")


def test_sigkill_mid_delivery(top):
    """SIGKILL while the server holds the data: the next run delivers"""
    c = Case(top, "sigkill")
    qid = c.submit("alice@local.test", ["k@real.test"])
    handler = sinks["real"][0]
    handler.slow = True
    p = c.start_relay()
    check(handler.in_data.wait(20), "relay reached DATA")
    p.kill()
    p.wait()
    check(c.entries() == [qid], "entry still queued after SIGKILL")
    check(os.path.exists(os.path.join(c.queue, "msg", qid)), "message still there")
    handler.reset()
    c.relay("-f")
    check(len(delivered("real")) == 1, "delivered by the next run")
    check(c.entries() == [], "entry removed")


def test_bad_config(top):
    """an unknown key or a bad relay value: clear message, non-zero exit"""
    c = Case(top, "badconfig", "smtp_port = 0\n")
    r = subprocess.run([RELAY, "-c", c.conf], capture_output=True)
    check(r.returncode != 0 and b"smtp_port" in r.stderr, r.stderr)
    good = Case(top, "badconfig2")
    r = subprocess.run([RELAY, "-c", good.conf, "-o", "nameservers=127.0.0.1@53 ::1@54"],
                       capture_output=True)
    check(r.returncode != 0 and b"same port" in r.stderr, r.stderr)
    r = subprocess.run([RELAY, "-c", good.conf, "-o", "no_such_key=1"], capture_output=True)
    check(r.returncode != 0 and b"no_such_key" in r.stderr, r.stderr)
    r = subprocess.run([RELAY, "-c", good.conf, "-o", "smarthost=[::1]:2525", "-l"],
                       capture_output=True)
    check(r.returncode == 0 and b"queue is empty" in r.stdout, r)


def test_exit_75_on_fault(top):
    """exit 75: the queue cannot be opened, no resolver, -l cannot write; nothing lost"""
    c = Case(top, "exit75")
    notdir = os.path.join(c.dir, "not-a-directory")
    open(notdir, "w").close()
    for args in ([], ["-l"]):
        r = subprocess.run([RELAY, "-c", c.conf, "-o", f"queue_dir={notdir}", *args],
                           capture_output=True, timeout=60)
        check(r.returncode == 75, f"queue_dir a file, {args}: exit {r.returncode} {r.stderr}")
    qid = c.submit("alice@local.test", ["x@real.test"])
    env = c.envelope(qid)
    missing = os.path.join(c.dir, "no-such-resolv.conf")
    for workers in ("1", "2"):        # one worker in the run's own process, or forked ones
        if workers == "2":
            c.submit("alice@local.test", ["y@real.test"])
        r = subprocess.run([RELAY, "-c", c.conf, "-o", f"nameservers={missing}",
                            "-o", f"max_parallel={workers}"], capture_output=True, timeout=60)
        check(r.returncode == 75, f"no resolver, {workers} worker(s): exit {r.returncode} {r.stderr}")
        check(missing.encode() in r.stderr, f"the log names the resolver file: {r.stderr}")
    check(c.envelope(qid) == env and delivered("real") == [], "nothing tried, nothing lost")
    with open("/dev/full", "w") as full:      # -l: the listing cannot be written
        r = subprocess.run([RELAY, "-c", c.conf, "-l"], stdout=full, stderr=subprocess.PIPE,
                           timeout=60)
    check(r.returncode == 75, f"-l onto /dev/full: exit {r.returncode} {r.stderr}")
    c.relay()
    check(c.entries() == [] and len(delivered("real")) == 2, "the next run delivers both")


def children_of(pid):
    kids = []
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(d))
        except (OSError, ValueError, IndexError):
            pass
    return kids


def test_exit_75_worker_killed(top):
    """a worker killed by a signal: the run exits 75; the next run delivers everything"""
    c = Case(top, "exit75kill", "max_parallel = 2\ndata_timeout = 3s\n")
    c.submit("alice@local.test", ["k1@real.test"])
    c.submit("alice@local.test", ["k2@real.test"])
    handler = sinks["real"][0]
    handler.slow = True
    p = c.start_relay()
    check(handler.in_data.wait(20), "a worker reached DATA")
    workers = children_of(p.pid)
    check(len(workers) == 2, f"two worker processes: {workers}")
    os.kill(workers[0], signal.SIGKILL)
    check(p.wait(60) == 75, f"exit 75 after a worker was killed, not {p.returncode}")
    handler.reset()
    c.relay("-f")
    rcpts = sorted(r for m in delivered("real") for r in m[1])
    check(rcpts == ["k1@real.test", "k2@real.test"] and c.entries() == [],
          f"the next run delivers both: {rcpts} {c.entries()}")


def test_smarthost_by_name(top):
    """smarthost = NAME:PORT: its AAAA then A addresses, from the configured resolver"""
    c = Case(top, "smartname", "smarthost = smarthost.test:2525\n")
    c.submit("alice@local.test", ["a@remote.test", "b@nosuch.test"])
    c.relay()
    check(c.entries() == [], f"entry removed: {open(c.log).read()}")
    got = delivered("smart")
    check(len(got) == 1 and sorted(got[0][1]) == ["a@remote.test", "b@nosuch.test"],
          f"one transaction with both at the smarthost: {got}")
    tried = [l.split(" addr=")[1].split()[0] for l in open(c.log) if "event=attempt" in l]
    check(list(dict.fromkeys(tried)) == ["fd00:99::66", "127.0.0.10"],
          f"its IPv6 address tried first, then the IPv4 one: {tried}")
    c6 = Case(top, "smartname6", "smarthost = smarthost6.test\n")
    c6.submit("alice@local.test", ["c@remote.test"])
    c6.relay()
    check(c6.entries() == [] and [m[1] for m in delivered("v6")] == [["c@remote.test"]],
          f"an IPv6-only smarthost name, port 25: {delivered('v6')}")
    bad = Case(top, "smartnone", "smarthost = nosuch.test\n")
    qid = bad.submit("alice@local.test", ["d@remote.test"])
    bad.relay()
    check(bad.entries() == [qid] and "4.4.3" in bad.envelope(qid) and bad.maildir("alice") == [],
          f"a smarthost name that does not resolve: deferred, not bounced: {bad.envelope(qid)}")


def test_bulk_connection_reuse(top):
    """200 messages to 10 domains in one run, sessions reused"""
    c = Case(top, "bulk")
    msg = b"Subject: bulk\n\nbody\n"
    for i in range(200):
        c.put_entry("alice@local.test", [f"u{i}@d{i % 10}.bulk.test"], msg)
    t = time.time()
    r = c.relay(timeout=120)
    check(r.returncode == 0, "exit 0")
    check(c.entries() == [], f"queue drained: {len(c.entries())} left")
    got = sorted(r for m in delivered("real") for r in m[1])
    check(len(got) == 200 and len(set(got)) == 200, f"200 distinct deliveries, got {len(got)}")
    ehlos = sinks["real"][0].ehlos
    check(ehlos <= 4 * 10, f"sessions reused: {ehlos} connections for 200 messages")
    print(f"  200 messages in {time.time() - t:.1f}s over {ehlos} connections")


class CountingProxy:
    """A UDP proxy in front of nsd that counts the questions it forwards,
    by (name, type): what the relay really asks the DNS server."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.asked = []
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def question(pkt):
        labels, i = [], 12
        while i < len(pkt) and pkt[i]:
            labels.append(pkt[i + 1:i + 1 + pkt[i]].decode("ascii", "replace").lower())
            i += 1 + pkt[i]
        qtype = int.from_bytes(pkt[i + 1:i + 3], "big")
        return ".".join(labels), {1: "A", 15: "MX", 28: "AAAA", 5: "CNAME"}.get(qtype, qtype)

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                pkt, client = self.sock.recvfrom(4096)
            except OSError:
                continue
            with self.lock:
                self.asked.append(self.question(pkt))
            up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            up.settimeout(2)
            try:
                up.sendto(pkt, ("127.0.0.1", DNS_PORT))
                self.sock.sendto(up.recv(4096), client)
            except OSError:
                pass
            finally:
                up.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()

    def count(self, name=None):
        with self.lock:
            return len([q for q in self.asked if name is None or q[0] == name])


def counted_case(top, name):
    proxy = CountingProxy()
    return proxy, Case(top, name, f"nameservers = 127.0.0.1@{proxy.port}\n")


def test_dns_cache_per_run(top):
    """200 messages to 2 domains: the run asks DNS at most 12 times, not 600"""
    proxy, c = counted_case(top, "dnscache")
    try:
        for i in range(200):
            c.put_entry("alice@local.test", [f"u{i}@d{i % 2}.bulk.test"], b"Subject: c\n\nc\n")
        c.relay(timeout=120)
        check(c.entries() == [] and len(delivered("real")) == 200, "all 200 delivered")
        asked = sorted(set(proxy.asked))
        check(0 < proxy.count() <= 12, f"{proxy.count()} questions (at most 12): {proxy.asked}")
        check(("d0.bulk.test", "MX") in asked and ("mx.real.test", "A") in asked,
              f"the questions went through the counting proxy: {asked}")
        print(f"  {proxy.count()} DNS questions for 200 messages")
    finally:
        proxy.close()


def test_dns_cache_negative_and_ttl0(top):
    """NXDOMAIN is kept for its SOA's negative TTL (RFC 2308); TTL 0 is never kept"""
    proxy, c = counted_case(top, "dnsneg")
    try:
        for i in range(10):
            c.put_entry("alice@local.test", [f"n{i}@nonexistent.test"], b"Subject: n\n\nn\n")
            c.put_entry("alice@local.test", [f"z{i}@ttl0.test"], b"Subject: z\n\nz\n")
        c.relay(timeout=120)
        check(c.entries() == [], "all done")
        check(proxy.count("nonexistent.test") == 1,
              f"NXDOMAIN asked once for 10 messages: {proxy.count('nonexistent.test')}")
        check(proxy.count("ttl0.test") == 10,
              f"the TTL 0 MX asked once per message: {proxy.count('ttl0.test')}")
    finally:
        proxy.close()


def test_wire_format(top):
    """bare CR and LF never reach the wire; dot-stuffing; no final newline"""
    c = Case(top, "wire")
    c.put_entry("alice@local.test", ["w@real.test"],
                b"Return-Path: <alice@local.test>\nSubject: wire\n\na\rb\n.dot\nx\r\nend")
    c.relay()
    raw = delivered("real")[0][2]
    check(raw == b"Subject: wire\r\n\r\na\r\nb\r\n.dot\r\nx\r\nend\r\n", repr(raw))


def test_size_limit(top):
    """a message over the server's SIZE: permanent 5.3.4, DSN"""
    c = Case(top, "size")
    c.submit("alice@local.test", ["big@small.test"], "Subject: big\n\n" + "x" * 70 + "\n" * 1 +
             ("y" * 70 + "\n") * 40)
    c.relay()
    check(delivered("small") == [], "not sent")
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "5.3.4", per_rcpt[0]["Status"])
    check("Diagnostic-Code" not in per_rcpt[0], "no Diagnostic-Code for our SIZE verdict")


def test_esmtp_params(top):
    """SIZE, BODY=8BITMIME and SMTPUTF8 passed on; SMTPUTF8 refused -> 5.6.7"""
    c = Case(top, "params")
    c.submit("alice@local.test", ["p@real.test"], "Subject: caf\u00e9\n\n\u00e9t\u00e9\n",
             params=" BODY=8BITMIME")
    c.submit("alice@local.test", ["\u03b4\u03bf\u03ba@real.test"], "Subject: u\n\nx\n",
             params=" SMTPUTF8")
    c.submit("alice@local.test", ["\u03b4\u03bf\u03ba@small.test"], "Subject: u\n\nx\n",
             params=" SMTPUTF8")
    c.relay()
    opts = {tuple(m[1]): o for m, o in zip(delivered("real"), sinks["real"][0].options)}
    o8 = opts[("p@real.test",)]
    check("BODY=8BITMIME" in o8 and any(x.startswith("SIZE=") for x in o8), o8)
    check("SMTPUTF8" in opts[("\u03b4\u03bf\u03ba@real.test",)], opts)
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "5.6.7", per_rcpt[0]["Status"])
    check(str(per_rcpt[0]["Final-Recipient"]) == "utf-8; \\x{3B4}\\x{3BF}\\x{3BA}@small.test",
          per_rcpt[0]["Final-Recipient"])     # RFC 6533 utf-8-addr-xtext


def test_sink_450_deferred(top):
    """smtp-sink 450 at RCPT: deferred with the reply recorded"""
    need_smtp_sink()
    c = Case(top, "sink450")
    qid = c.submit("alice@local.test", ["x@sink450.test"])
    c.relay()
    check(c.entries() == [qid], "entry kept")
    check("rcpt-error 450 4.3.0 mx.sink450.test" in c.envelope(qid), c.envelope(qid))


def test_sink_5xx_bounced(top):
    """smtp-sink 5xx at MAIL: every recipient bounced in one DSN"""
    need_smtp_sink()
    c = Case(top, "sink5xx")
    c.submit("alice@local.test", ["x@sink5xx.test", "y@sink5xx.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    dsns = c.maildir("alice")
    check(len(dsns) == 1, f"one DSN for both, got {len(dsns)}")
    _, _, _, per_rcpt = parse_dsn(dsns[0])
    check(len(per_rcpt) == 2 and all(b["Status"].startswith("5.") for b in per_rcpt), per_rcpt)


def test_sink_421_failover(top):
    """smtp-sink 421 at MAIL: the next MX gets the mail"""
    need_smtp_sink()
    c = Case(top, "sink421")
    c.submit("alice@local.test", ["x@sink421.test"])
    c.relay()
    check(c.entries() == [] and len(delivered("real")) == 1, "delivered by the backup MX")


def test_sink_slow_greeting(top):
    """smtp-sink greets after 6 s, greeting_timeout is 2 s: next MX"""
    need_smtp_sink()
    c = Case(top, "sinkslow")
    c.submit("alice@local.test", ["x@sinkslow.test"])
    c.relay()
    check(c.entries() == [] and len(delivered("real")) == 1, "delivered by the backup MX")
    check(sink_messages("sinkslow") == [], "nothing at the slow one")


def test_sink_helo_fallback(top):
    """smtp-sink refuses EHLO: HELO, then delivery"""
    need_smtp_sink()
    c = Case(top, "sinkhelo")
    c.submit("alice@local.test", ["x@sinkhelo.test"])
    c.relay()
    check(c.entries() == [], "entry removed")
    check(len(sink_messages("sinkhelo")) == 1, "one message dumped")


def test_sink_pipelining(top):
    """smtp-sink with PIPELINING: several recipients, one transaction, two messages"""
    need_smtp_sink()
    c = Case(top, "sinkpipe", "max_parallel = 1\n")
    c.submit("alice@local.test", ["a@sinkpipe.test", "b@sinkpipe.test", "c@sinkpipe.test"])
    c.submit("alice@local.test", ["d@sinkpipe.test"])
    c.relay()
    check(c.entries() == [], "entries removed")
    dumps = sink_messages("sinkpipe")
    check(len(dumps) == 2, f"two transactions, got {len(dumps)}")
    check(sum(d.count(b"a@sinkpipe.test") + d.count(b"d@sinkpipe.test") for d in dumps) >= 2,
          "recipients in the dumps")


def test_sink_8bit_to_7bit_server(top):
    """BODY=8BITMIME message, server without 8BITMIME: 5.6.3, not sent 8-bit"""
    need_smtp_sink()
    c = Case(top, "sink7bit")
    c.submit("alice@local.test", ["x@sink7bit.test"], "Subject: caf\u00e9\n\n\u00e9t\u00e9\n",
             params=" BODY=8BITMIME")
    c.relay()
    check(sink_messages("sink7bit") == [], "nothing sent")
    _, _, _, per_rcpt = parse_dsn(c.maildir("alice")[0])
    check(per_rcpt[0]["Status"] == "5.6.3", per_rcpt[0]["Status"])


def test_resolv_conf_file(top):
    """nameservers = /path/to/resolv.conf: ldns reads that file, not /etc/resolv.conf"""
    if not RESOLV_MOUNTED:
        raise Skip("could not bind-mount /etc/resolv.conf in the test's mount namespace")
    named = os.path.join(top, "resolv-named.conf")
    with open(named, "w") as f:
        f.write("nameserver 127.0.0.1\n")
    control = Case(top, "resolvfile_system", "nameservers =\n")
    cqid = control.submit("alice@local.test", ["y@real.test"])
    c = Case(top, "resolvfile", f"nameservers = {named}\n")
    c.submit("alice@local.test", ["x@real.test"])
    # For this case /etc/resolv.conf names a dead server (nothing listens on
    # 127.0.0.99 in this namespace): a relay that ignored the key would fail.
    with system_resolver("nameserver 127.0.0.99\n"):
        control.relay()
        check(control.entries() == [cqid] and "4.4.3" in control.envelope(cqid),
              "the system resolver really is dead for this case")
        c.relay()
    check(c.entries() == [] and [m[1] for m in delivered("real")] == [["x@real.test"]],
          f"delivered through the named file's server: {c.entries() or open(c.log).read()}")


def test_default_resolv_conf(top):
    """no nameservers: /etc/resolv.conf (bind-mounted in this mount namespace)"""
    if not RESOLV_MOUNTED:
        raise Skip("could not bind-mount /etc/resolv.conf in the test's mount namespace")
    c = Case(top, "resolvdefault", "nameservers =\n")
    c.submit("alice@local.test", ["x@real.test"])
    c.relay()
    check(c.entries() == [] and len(delivered("real")) == 1, "delivered")


class system_resolver:
    """Within `with`: /etc/resolv.conf (bind-mounted from TOP/resolv.conf)
    says `text`; after it, our nsd again."""

    def __init__(self, text):
        self.text = text

    def __enter__(self):
        with open(RESOLV_FILE, "w") as f:
            f.write(self.text)

    def __exit__(self, *exc):
        with open(RESOLV_FILE, "w") as f:
            f.write("nameserver 127.0.0.1\n")


def mount_resolv_conf(top):
    """Point /etc/resolv.conf at our nsd, in this mount namespace only."""
    global RESOLV_MOUNTED, RESOLV_FILE
    conf = RESOLV_FILE = os.path.join(top, "resolv.conf")
    with open(conf, "w") as f:
        f.write("nameserver 127.0.0.1\n")
    os.chmod(top, 0o711)
    os.chmod(conf, 0o644)
    own_ns = os.environ.get("RELAY_TEST_OWN_MOUNT_NS") == "1"    # set by tests/relay.sh
    RESOLV_MOUNTED = own_ns and subprocess.run(
        ["mount", "--bind", conf, "/etc/resolv.conf"], stderr=subprocess.DEVNULL).returncode == 0


# ---- the pipe transport (alias targets "|command", rcpt-via pipe) ----------

def pipe_case(top, name, script, extra=""):
    """A case whose alias list@local.test runs SCRIPT (a shell script in the
    case's directory), and a directory "got" any user may write to.  Run as
    root, the relay is given user = nobody (commands never run as root)."""
    os.chmod(top, 0o755)
    c = Case(top, name, f"aliases = {top}/{name}/aliases\n{extra}")
    os.chmod(c.dir, 0o755)
    path = os.path.join(c.dir, "cmd")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + script.replace("{dir}", c.dir))
    os.chmod(path, 0o755)
    got = os.path.join(c.dir, "got")
    os.makedirs(got)
    os.chmod(got, 0o777)
    with open(os.path.join(c.dir, "aliases"), "w") as f:
        f.write(f"list: \"|{path}\"\nboth: alice, \"|{path}\"\n")
    c.got = got
    c.as_user = ["-o", "user=nobody"] if real_root() else []
    return c


def got_file(c, name):
    p = os.path.join(c.got, name)
    return open(p, "rb").read() if os.path.exists(p) else None


RECORDER = """{ env | grep -E '^(SENDER|RECIPIENT|PEER|HELO|SESSION_ID|MESSAGE_ID)='
  echo "ARGC=$#"; echo "UID=$(id -u)"; } >{dir}/got/env
cat >{dir}/got/msg
"""


def test_pipe_delivered(top):
    """|command target: run once from the queue, message on stdin, envelope in the environment"""
    c = pipe_case(top, "pipeok", RECORDER)
    qid = c.submit("alice@local.test", ["list@local.test", "both@local.test"])
    c.relay(*c.as_user)
    check(c.entries() == [], "entry removed")
    env = dict(l.split("=", 1) for l in got_file(c, "env").decode().splitlines())
    check(env["SENDER"] == "alice@local.test" and env["MESSAGE_ID"] == qid, env)
    check(env["RECIPIENT"] == "list@local.test", f"one run, for the first alias: {env}")
    check(env["HELO"] == "client.local.test" and env["SESSION_ID"] and env["ARGC"] == "0", env)
    check(env["UID"] != "0", f"never as root: {env}")
    msg = got_file(c, "msg")
    check(msg.startswith(b"Return-Path: <alice@local.test>\nDelivered-To: list@local.test\n"),
          msg[:200])
    check(msg.endswith(b"\nHello.\n"), "the whole message")
    check(len(c.maildir("alice")) == 1, "alice's copy of both@ in her Maildir, no DSN")
    check("status=sent" in open(c.log).read(), "logged as sent")


def test_pipe_bounce_enhanced(top):
    """a command's other exit bounces, with the code of its first output line (pipe(8))"""
    c = pipe_case(top, "pipebounce", "cat >/dev/null; echo '5.1.1 no such list'; exit 67\n")
    c.submit("alice@local.test", ["list@local.test"])
    c.relay(*c.as_user)
    check(c.entries() == [], "entry removed")
    dsns = c.maildir("alice")
    check(len(dsns) == 1, f"one DSN, got {len(dsns)}")
    _, _, _, per_rcpt = parse_dsn(dsns[0])
    check(per_rcpt[0]["Status"] == "5.1.1", f"Status {per_rcpt[0]['Status']}")
    check("no such list" in per_rcpt[0]["Diagnostic-Code"], per_rcpt[0]["Diagnostic-Code"])
    check('line="5.1.1 no such list"' in open(c.log).read(), "its output in the log")


def test_pipe_tempfail_then_delivered(top):
    """exit 75, then 0: deferred, delivered by the next run, once"""
    c = pipe_case(top, "pipe75", "echo run >>{dir}/got/runs\n"
                  "[ -e {dir}/got/once ] || { touch {dir}/got/once; exit 75; }\n"
                  "cat >>{dir}/got/msg\n")
    qid = c.submit("alice@local.test", ["list@local.test"])
    c.relay(*c.as_user)
    check(c.entries() == [qid], "kept after exit 75")
    env = c.envelope(qid)
    check("rcpt pending list@local.test\n" in env and "rcpt-error 451 4.3.0 - command exited 75"
          in env and "rcpt-via pipe " in env, env)
    check(got_file(c, "msg") is None and c.maildir("alice") == [], "nothing delivered, no DSN")
    listing = c.relay("-l").stdout.decode()
    check("    list@local.test  [pipe]  (451 4.3.0" in listing, f"smtp-relay -l: {listing}")
    c.relay("-f", *c.as_user)
    check(c.entries() == [], "delivered by the second run")
    c.relay("-f", *c.as_user)
    check(got_file(c, "runs") == b"run\nrun\n", f"two runs in all: {got_file(c, 'runs')}")
    check(got_file(c, "msg").count(b"Return-Path:") == 1, "one copy")
    check(c.maildir("alice") == [], "no DSN")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_pipe_timeout_kills_group(top):
    """past message_command_timeout the command's whole process group is killed: deferred"""
    c = pipe_case(top, "pipeslow", "sleep 300 & echo $! >{dir}/got/child\nexec sleep 300\n",
                  "message_command_timeout = 1s\n")
    qid = c.submit("alice@local.test", ["list@local.test"])
    c.relay(*c.as_user, timeout=30)
    check(c.entries() == [qid], "kept")
    check("rcpt-error 451 4.3.0 - command timed out" in c.envelope(qid), c.envelope(qid))
    child = int(got_file(c, "child"))
    for _ in range(50):                   # the kill is sent; the reaper may take a moment
        if not pid_alive(child) or open(f"/proc/{child}/stat").read().split()[2] == "Z":
            break
        time.sleep(0.1)
    alive = pid_alive(child) and open(f"/proc/{child}/stat").read().split()[2] != "Z"
    check(not alive, f"the background child {child} was killed with the group")


def test_pipe_killed_mid_read(top):
    """a command killed while reading the message: deferred, the relay goes on"""
    c = pipe_case(top, "pipekilled", "head -c 1000 >/dev/null; kill -9 $$\n")
    body = "Subject: big\n\n" + ("x" * 70 + "\n") * 30000
    qid = c.submit("alice@local.test", ["list@local.test", "ok@real.test"], body)
    c.relay(*c.as_user)
    check(c.entries() == [qid], "kept for the command")
    env = c.envelope(qid)
    check("command killed by signal 9" in env, env)
    check("rcpt delivered ok@real.test" in env and len(delivered("real")) == 1,
          "the SMTP recipient of the same entry went out")


def test_pipe_never_as_root(top):
    """as root without a user the command is not run: deferred, never bounced"""
    if not real_root():
        raise Skip("needs the host's root (the relay runs as root here only then)")
    c = pipe_case(top, "piperoot", "touch {dir}/got/ran\n")
    qid = c.submit("alice@local.test", ["list@local.test"])
    c.relay()
    check(got_file(c, "ran") is None, "not run")
    check(c.entries() == [qid] and "never run as root" in c.envelope(qid), c.envelope(qid))


def test_bounce_to_local_alias(top):
    """a DSN for a local sender follows its alias: a user's Maildir, and a command through the queue"""
    c = pipe_case(top, "bouncealias", "cat >>{dir}/got/msg\n")
    with open(os.path.join(c.dir, "aliases"), "a") as f:
        f.write("owner: alice\nrobot: \"|%s/cmd\"\n" % c.dir)
    c.submit("owner@local.test", ["reject-o@real.test"])
    c.submit("robot@local.test", ["reject-r@real.test"])
    c.relay(*c.as_user)
    check(len(c.maildir("alice")) == 1, "owner's DSN in alice's Maildir")
    check(c.maildir("postmaster") == [], "not at postmaster")
    left = c.entries()
    check(len(left) == 1 and "rcpt-via pipe " in c.envelope(left[0])
          and "\nsender \n" in c.envelope(left[0]), f"robot's DSN queued for its command: {left}")
    c.relay(*c.as_user)
    check(c.entries() == [], "and delivered to it by the next run")
    check(b"Content-Type: multipart/report" in got_file(c, "msg"), "the command got the DSN")


def test_rcpt_via_never_smtp(top):
    """a rcpt-via this relay has no transport for is deferred, never sent by SMTP"""
    c = Case(top, "viaunknown")
    qid = c.put_entry("alice@local.test", ["x@real.test"], b"Subject: x\n\nbody\n")
    path = os.path.join(c.queue, "env", qid)
    with open(path, "a") as f:
        f.write("rcpt-via lmtp 127.0.0.1:8024\n")
    c.relay()
    check(delivered("real") == [], "not sent by SMTP")
    check(c.entries() == [qid], "kept")


RESOLV_MOUNTED = False
RESOLV_FILE = None
TESTS = [v for k, v in list(globals().items()) if k.startswith("test_")]


def main():
    global LAST_LOG
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "addr", "add", "fd00:99::5/128", "dev", "lo", "nodad")
    top = tempfile.mkdtemp(prefix="mailsock-relay.")
    keep = os.environ.get("KEEP")
    passed = failed = skipped = 0
    try:
        start_nsd(top)
        mount_resolv_conf(top)
        global REMOTE_MAIL
        REMOTE_MAIL = start_remote_session(top)
        global BLACK_HOLE
        BLACK_HOLE = BlackHole("127.0.0.9")
        start_scripted()
        start_sinks()
        start_smtp_sinks(top)
        only = sys.argv[1:]
        unknown = set(only) - {t.__name__ for t in TESTS}
        if unknown:             # a misspelt name would run nothing and pass
            print(f"FAIL: no such case: {' '.join(sorted(unknown))}")
            failed += 1
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            reset_sinks()
            LAST_LOG = None
            try:
                t(top)
                print(f"PASS: {t.__name__}: {t.__doc__}")
                passed += 1
            except Skip as why:
                print(f"SKIP: {t.__name__}: {why}")
                skipped += 1
            except Exception:
                print(f"FAIL: {t.__name__}: {t.__doc__}")
                traceback.print_exc(file=sys.stdout)
                log = LAST_LOG
                if log and os.path.exists(log):
                    print("---- relay log ----\n" + open(log).read()[-4000:])
                failed += 1
        BLACK_HOLE.close()
        for peer in SCRIPTED.values():
            peer.close()
        for _, ctl in sinks.values():
            ctl.stop()
    finally:
        stop_children()
        if keep:
            print(f"kept {top}")
        else:
            shutil.rmtree(top, ignore_errors=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if failed:
        return 1
    if skipped and os.environ.get("CI") == "true":
        print(f"FAIL: {skipped} case(s) skipped under CI=true, where everything must run "
              "(the SKIP lines above say why)")
        return 1
    return 77 if skipped else 0         # automake: SKIP


if __name__ == "__main__":
    sys.exit(main())
