"""Header and log injection: CR, LF, NUL and other control characters in
HELO names, addresses and parameters must never reach the stored
Received/Return-Path fields or the log unescaped (no forged header, no
forged log line)."""
import re

from harness import Root, run_session

CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")

# Each hostile line is followed by enough to deliver one clean message.
HOSTILE = [
    b"EHLO evil\rReceived: from forged",
    b"EHLO evil\x00forged",
    b"EHLO evil\x1b[31mred",
    b"HELO evil\tX-Injected: yes",
    b"EHLO evil\x0bvt",
    b"MAIL FROM:<a\rX-Injected: yes@b.test>",
    b"MAIL FROM:<\"a\rb\"@b.test>",
    b"MAIL FROM:<a@b.test\x00evil>",
    b"MAIL FROM:<a@b.test> X-INJ=a\rb",
    b"MAIL FROM:<a@b.test> SIZE=1\x01",
    b"MAIL FROM:<a@b.\x7ftest>",
    b"RCPT TO:<u\r@example.org>",
    b"RCPT TO:<u@example.org\x1b>",
    b"RCPT TO:<\"u\x01\"@example.org>",
    b"VRFY u\x07",
    b"X\x01Y\rZ",
]


def session_with(line):
    return (line + b"\r\nRSET\r\nEHLO clean.test\r\nMAIL FROM:<a@b.test>\r\n"
            b"RCPT TO:<u@example.org>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n")


def header_block(message):
    return message.split(b"\n\n", 1)[0]


def check_log(log, line):
    for entry in log.split(b"\n"):
        if not entry:
            continue
        assert entry.startswith(b"smtpd-session: "), f"{line!r}: forged log line {entry!r}"
        assert not CONTROL.search(entry) and b"\r" not in entry, f"{line!r}: raw control in log {entry!r}"
        assert all(b < 0x80 for b in entry), f"{line!r}: raw 8-bit in log {entry!r}"


def test_control_characters_never_reach_received_header_or_log():
    root = Root("/dev/shm")
    try:
        for line in HOSTILE:
            for stranger in (True, False):
                status, replies, log = run_session(root, session_with(line), stranger=stranger,
                                                   log_level="debug")
                assert status == 0, f"{line!r}: exit {status}"
                stored = root.messages("example.org/u")
                assert len(stored) == 1, f"{line!r}: {replies!r}"
                head = header_block(stored[0])
                assert not CONTROL.search(head) and b"\r" not in head, f"{line!r}: {head!r}"
                assert b"forged" not in head and b"X-Injected" not in head, f"{line!r}: {head!r}"
                assert head.startswith(b"Return-Path: <a@b.test>\nReceived: from clean.test ")
                check_log(log, line)
                root.clear()
    finally:
        root.remove()


def test_replies_never_echo_raw_control_characters():
    root = Root("/dev/shm")
    try:
        for line in HOSTILE:
            _, replies, _ = run_session(root, session_with(line))
            for reply in replies.split(b"\r\n"):
                assert not CONTROL.search(reply) and b"\r" not in reply, f"{line!r}: {reply!r}"
            root.clear()
    finally:
        root.remove()


def test_eight_bit_and_utf8_in_helo_and_addresses_are_escaped_in_the_log():
    root = Root("/dev/shm")
    try:
        data = ("EHLO évil\r\nEHLO c\r\nMAIL FROM:<jörg@b.test> SMTPUTF8\r\n"
                "RCPT TO:<u@example.org>\r\nDATA\r\n\r\nx\r\n.\r\nQUIT\r\n").encode()
        status, replies, log = run_session(root, data, log_level="debug")
        assert status == 0 and b"250 2.0.0 Ok: queued" in replies, replies
        check_log(log, data)
    finally:
        root.remove()
