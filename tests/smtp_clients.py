"""SMTP clients for the service tests (nspawn.sh, listen.sh, unit-cost.sh).

burst N CONCURRENCY RCPT [PORT]
                           send N messages, CONCURRENCY at a time; print
                           "sent=S failed=F retried=R" and the first errors;
                           a message that needed a second try (up to 3) is
                           still sent, but exits 1 like a failed one: an
                           intermittent failure is a failure
hold PORT SRC:COUNT...     open COUNT connections from each source address
                           at once, read each greeting, print the codes
                           seen ("220=100 421=10 closed=0"), then QUIT all
"""
import smtplib
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def send_one(i, rcpt, port):
    """Send message i; return (sent, the errors of the tries that failed)."""
    msg = "Subject: burst %d\r\n\r\nmessage %d\r\n" % (i, i)
    errors = []
    for _ in range(3):
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
                c.sendmail("burst@client.example", [rcpt], msg)
            return True, errors
        except (OSError, smtplib.SMTPException) as e:
            errors.append("%d: %r" % (i, e))
            time.sleep(0.05)
    return False, errors


def burst(n, conc, rcpt, port=25):
    failed = retried = 0
    errors = []
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=conc) as pool:
        for sent, errs in pool.map(lambda i: send_one(i, rcpt, port), range(n)):
            failed += not sent
            retried += bool(sent and errs)
            errors += errs
    took = time.monotonic() - start
    print("sent=%d failed=%d retried=%d seconds=%.1f" % (n - failed, failed, retried, took))
    for e in errors[:5]:
        print("error:", e)
    return 1 if failed or retried else 0


def greet(src, port, results, socks, lock):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(20)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        line = b""
        while not line.endswith(b"\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            line += chunk
        code = line[:3].decode("ascii", "replace") if line else "closed"
    except OSError as e:
        code = "error:%s" % e.__class__.__name__
    with lock:
        results[code] = results.get(code, 0) + 1
        socks.append(s)


def hold(port, specs):
    results, socks, lock, threads = {}, [], threading.Lock(), []
    for spec in specs:
        src, count = spec.split(":")
        for _ in range(int(count)):
            t = threading.Thread(target=greet, args=(src, port, results, socks, lock))
            t.start()
            threads.append(t)
    for t in threads:
        t.join()
    print(" ".join("%s=%d" % kv for kv in sorted(results.items())))
    for s in socks:
        try:
            s.sendall(b"QUIT\r\n")
            s.close()
        except OSError:
            pass
    return 0


def main():
    if sys.argv[1] == "burst":
        port = int(sys.argv[5]) if len(sys.argv) > 5 else 25
        sys.exit(burst(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], port))
    if sys.argv[1] == "hold":
        sys.exit(hold(int(sys.argv[2]), sys.argv[3:]))
    sys.exit(__doc__)


main()
