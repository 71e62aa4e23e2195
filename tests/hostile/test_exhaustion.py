"""Resource exhaustion: a client that sends too much, too many, or too
slowly.  The session must end (or go on) cleanly within its limits, and
its peak memory (VmHWM) must stay small whatever the client sends."""
import os
import threading
import time

from harness import Root, Session, codes

_baseline = []


def rss_limit_kb():
    """Peak RSS of a session that only says EHLO and QUIT, plus 8 MiB: the
    session holds a few 64 KiB buffers, never a message or a line.  Measured,
    so that a sanitizer build (larger baseline) is held to the same margin."""
    if not _baseline:
        root = Root("/dev/shm")
        s = Session(root)
        try:
            s.send(b"EHLO a\r\n")
            s.expect(rb"^250 ")
            _baseline.append(s.peak_rss_kb())
            s.send(b"QUIT\r\n")
            s.finish()
        finally:
            s.kill()
            root.remove()
    return _baseline[0] + 8 * 1024


def feeder(session, chunks):
    """Write chunks from a thread, so that replies can be read meanwhile."""
    def run():
        try:
            for chunk in chunks:
                session.send(chunk)
        except (BrokenPipeError, ValueError):
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_one_megabyte_command_line_without_newline():
    root = Root("/dev/shm")
    s = Session(root)
    try:
        s.expect(rb"^220 ")
        s.send(b"EHLO " + b"A" * (1024 * 1024))
        time.sleep(0.2)
        rss = s.peak_rss_kb()
        s.send(b"\r\nNOOP\r\nQUIT\r\n")
        assert s.expect(rb"^5\d\d ").startswith(b"500 5.5.2"), "not one 500 for the long line"
        s.expect(rb"^250 2\.0\.0")
        s.expect(rb"^221 ")
        status, rest, _ = s.finish()
        assert status == 0 and b"500" not in rest
        assert rss < rss_limit_kb(), f"peak RSS {rss} kB"
    finally:
        s.kill()
        root.remove()


def test_ten_thousand_recipients_over_the_limit_end_in_421():
    """max_recipients (100) are taken, each RCPT after them gets 452 and
    counts as an error; the 21st error (max_errors 20) ends the session
    with 421, so the DATA sent after the recipients is never read and
    nothing is queued."""
    root = Root("/dev/shm")
    s = Session(root, stranger=False)
    try:
        rcpts = b"".join(b"RCPT TO:<v%d@elsewhere.test>\r\n" % i for i in range(10000))
        feeder(s, [b"EHLO a\r\nMAIL FROM:<a@b.test>\r\n", rcpts,
                   b"DATA\r\nSubject: after 421\r\n\r\nhi\r\n.\r\nQUIT\r\n"])
        status, _, log = s.finish_after(rb"^421 4\.7\.0")
        got = codes(s.output)
        want = [220, 250, 250] + [250] * 100 + [452] * 21 + [421]
        assert got == want, (f"{got.count(250)} x 250, {got.count(452)} x 452, "
                             f"then {got[-3:]}; want 102, 21, then 421 last")
        assert s.output.count(b"452 4.5.3 Too many recipients\r\n") == 21, s.output[-300:]
        assert root.queued() == [] and root.tmp_leftovers() == [], "the DATA after 421 was read"
        assert b"reason=too-many-errors messages=0 rcpts=100 " in log, log[-500:]
        assert status == 0
    finally:
        s.kill()
        root.remove()


def test_ten_thousand_recipients_within_a_raised_limit():
    """A relay client with max_recipients=10000: all are taken, one queue
    entry holds them all, memory stays bounded."""
    root = Root("/dev/shm")
    s = Session(root, stranger=False, max_recipients=10000)
    try:
        rcpts = b"".join(b"RCPT TO:<v%d@elsewhere.test>\r\n" % i for i in range(10000))
        feeder(s, [b"EHLO a\r\nMAIL FROM:<a@b.test>\r\n", rcpts,
                   b"DATA\r\nSubject: many\r\n\r\nhi\r\n.\r\n"])
        # a hang guard, not a speed test: counts below say what was done
        s.expect(rb"^250 2\.0\.0 Ok: queued", timeout=300)
        rss = s.peak_rss_kb()
        s.send(b"QUIT\r\n")
        status, _, _ = s.finish()
        assert status == 0 and len(root.queued()) == 1
        assert s.output.count(b"\r\n250 2.1.5 ") == 10000, "not every recipient taken"
        env = open(os.path.join(root.queue, "env", root.queued()[0]), "rb").read()
        assert env.count(b"\nrcpt pending v") == 10000, "not every recipient queued"
        assert rss < rss_limit_kb() + 8 * 1024, f"peak RSS {rss} kB"
    finally:
        s.kill()
        root.remove()


def test_hundred_thousand_noops():
    root = Root("/dev/shm")
    s = Session(root)
    try:
        feeder(s, [b"NOOP\r\n" * 10000] * 10 + [b"QUIT\r\n"])
        s.expect(rb"^221 ", timeout=300)            # a hang guard, not a speed test
        status, _, _ = s.finish()
        rss = s.peak_rss_kb()
        assert status == 0
        assert codes(s.output) == [220] + [250] * 100000 + [221], "not one 250 per NOOP"
        assert rss < rss_limit_kb(), f"peak RSS {rss} kB"
    finally:
        s.kill()
        root.remove()


def test_slowloris_pause_in_a_command_times_out():
    """Half a command, then silence: the idle timeout (1 s) ends the
    session with 421 and the half command is never answered.  Timed only
    where load cannot make it fail: the 421 may not come before the
    timeout has passed since the last octet."""
    root = Root("/dev/shm")
    s = Session(root, timeout=1)
    try:
        s.expect(rb"^220 ")
        for b in b"NOO":                  # one octet at a time, then silence
            s.send(bytes([b]))
            last = time.monotonic()
            time.sleep(0.3)
        s.expect(rb"^421 4\.4\.2", timeout=60)
        waited = time.monotonic() - last
        status, _, log = s.finish()
        assert status == 0 and codes(s.output) == [220, 421], s.output
        assert waited >= 1, f"421 after {waited:.2f}s of silence, before the 1 s timeout"
        assert b"event=disconnect reason=timeout" in log, log
    finally:
        s.kill()
        root.remove()


def test_slowloris_pause_inside_data_times_out_and_stores_nothing():
    root = Root("/dev/shm")
    s = Session(root, timeout=1)
    try:
        s.send(b"EHLO a\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n")
        s.expect(rb"^354 ")
        for b in b"Subject: slow\r\n\r\nbo":
            s.send(bytes([b]))
            time.sleep(0.05)
        s.expect(rb"^421 4\.4\.2", timeout=5)
        status, _, _ = s.finish()
        assert status == 0
        assert root.stored_count() == 0 and root.tmp_leftovers() == []
    finally:
        s.kill()
        root.remove()


def test_huge_header_line_is_refused_and_memory_stays_flat():
    """A 20 MB header line without a line end, then a second message: the
    first is refused (552), the second stored; memory stays flat."""
    root = Root("/dev/shm")
    s = Session(root, max_message_size="1M")
    try:
        s.send(b"EHLO a\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n")
        s.expect(rb"^354 ")
        feeder(s, [b"X-Huge: "] + [b"h" * 65536] * 320 + [
            b"\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\n"
            b"DATA\r\nSubject: after\r\n\r\nok\r\n.\r\n"])
        assert s.expect(rb"^5\d\d ", timeout=60).startswith(b"552 5.3.4")
        s.expect(rb"^250 2\.0\.0 Ok: queued", timeout=30)
        rss = s.peak_rss_kb()
        s.send(b"QUIT\r\n")
        status, _, _ = s.finish()
        assert status == 0 and root.stored_count() == 1 and root.tmp_leftovers() == []
        assert rss < rss_limit_kb(), f"peak RSS {rss} kB"
    finally:
        s.kill()
        root.remove()


def test_many_header_lines_stream_to_disk():
    """100 000 header lines (about 10 MB) within the size limit: stored
    whole, memory flat: the body streams to disk."""
    root = Root("/dev/shm")
    s = Session(root, max_message_size="32M")
    try:
        s.send(b"EHLO a\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<u@example.org>\r\nDATA\r\n")
        s.expect(rb"^354 ")
        line = b"X-Filler: " + b"f" * 90 + b"\r\n"
        feeder(s, [line * 1000] * 100 + [b"\r\nbody\r\n.\r\n"])
        s.expect(rb"^250 2\.0\.0 Ok: queued", timeout=60)
        rss = s.peak_rss_kb()
        s.send(b"QUIT\r\n")
        status, _, _ = s.finish()
        assert status == 0 and root.stored_count() == 1
        stored = root.messages("example.org/u")[0]
        assert stored.count(b"\nX-Filler: ") == 100000
        assert rss < rss_limit_kb(), f"peak RSS {rss} kB"
    finally:
        s.kill()
        root.remove()
