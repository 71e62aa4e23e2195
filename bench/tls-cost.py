#!/usr/bin/env python3
"""CPU per session of smtpd-session: plaintext vs STARTTLS vs SMTPS, one
process per connection (systemd-socket-activate --accept --inetd, as
Accept=yes) and the fast way (a listening socket: the parent forks per
connection).  Each session: EHLO, [STARTTLS, EHLO,] one 1 KiB message, QUIT,
from Python's smtplib.  The server's CPU is read from /proc/PID/stat of the
launcher (its own time plus its reaped children's), before and after N
sessions; the client's CPU is not counted.

Usage: bench/tls-cost.py BUILD-DIR [N]    (as root: sessions run as nobody)"""
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

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK     # utime stime cutime cstime


def start(binary, conf, accept):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = ["systemd-socket-activate", "-l", "127.0.0.1:%d" % port]
    if accept:
        cmd += ["--accept", "--inetd"]
    p = subprocess.Popen(cmd + [binary, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            time.sleep(0.2)
            return p, port
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def session(port, mode, ctx, body):
    if mode == "smtps":
        c = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx, timeout=30)
    else:
        c = smtplib.SMTP("127.0.0.1", port, timeout=30)
    c.ehlo("bench.example")
    if mode == "starttls":
        c.starttls(context=ctx)
        c.ehlo("bench.example")
    c.sendmail("a@remote.example", ["alice@example.org"], body)
    c.quit()


def main():
    build = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    binary = os.path.abspath(os.path.join(build, "smtpd-session", "smtpd-session"))
    root = tempfile.mkdtemp(prefix="mailsock-tlscost-")
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    body = "Subject: bench\r\n\r\n" + ("x" * 62 + "\r\n") * 16
    try:
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(root, "mail", "example.org", "alice", sub))
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", root + "/key.pem", "-out", root + "/cert.pem", "-days", "2",
                        "-subj", "/CN=mx.example.org"], check=True, capture_output=True)
        print("| launcher | plaintext | STARTTLS | SMTPS |")
        print("|---|---:|---:|---:|")
        for accept, name in ((True, "per connection (`--accept`, as Accept=yes)"), (False, "fast way (listening, fork)")):
            row = []
            for mode in ("plain", "starttls", "smtps"):
                conf = os.path.join(root, "%s-%s.conf" % (mode, accept))
                with open(conf, "w") as f:
                    f.write("hostname = mx.example.org\ndomains = example.org\nmail_root = %s/mail\n"
                            "queue_dir = %s/queue\nlog_level = error\ntls_cert = %s/cert.pem\n"
                            "tls_key = %s/key.pem\n%s%s" % (root, root, root, root,
                                                             "tls_wrapper = yes\n" if mode == "smtps" else "",
                                                             "user = nobody\n" if os.geteuid() == 0 else ""))
                if os.geteuid() == 0:
                    pw = pwd.getpwnam("nobody")
                    for d, dirs, files in os.walk(root):
                        for x in [d] + [os.path.join(d, y) for y in dirs + files]:
                            os.lchown(x, pw.pw_uid, pw.pw_gid)
                p, port = start(binary, conf, accept)
                try:
                    session(port, mode, ctx, body)       # warm-up (and the parent's first load)
                    time.sleep(0.2)
                    before = cpu_seconds(p.pid)
                    for _ in range(n):
                        session(port, mode, ctx, body)
                    time.sleep(0.5)                      # the last children reaped
                    used = cpu_seconds(p.pid) - before
                finally:
                    p.terminate()
                    p.wait()
                row.append("%.2f ms" % (used / n * 1000))
            print("| %s | %s |" % (name, " | ".join(row)))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
