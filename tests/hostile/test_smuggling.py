"""SMTP smuggling (CVE-2023-51764/51765/51766 and kin): a client hides a
second message behind a fake end-of-data that some server might accept.
Only <CR><LF>.<CR><LF> ends DATA here, so every variant below must yield
at most one message (to u), never one for the smuggled recipient (alice),
and the smuggled MAIL/RCPT must never be answered as commands."""
import time

from harness import Root, Server, codes, recv_until_closed, run_session

PRE = (b"EHLO attacker.test\r\nMAIL FROM:<a@attacker.test>\r\n"
       b"RCPT TO:<u@example.org>\r\nDATA\r\n")
SMUGGLED = b"MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\nx\r\n"
END = b"\r\n.\r\n"

# The published fake ends of data, and a few more of the same family.
VARIANTS = {
    "bare_lf_dot_bare_lf": b"\n.\n",
    "bare_lf_dot_crlf": b"\n.\r\n",
    "crlf_dot_bare_lf": b"\r\n.\n",
    "bare_cr_dot_bare_cr": b"\r.\r",
    "bare_cr_dot_crlf": b"\r.\r\n",
    "crlf_dot_bare_cr": b"\r\n.\r",
    "lf_lf_dot_crlf": b"\n\n.\r\n",
    "bare_lf_dot_bare_cr": b"\n.\r",
    "nul_before_dot": b"\r\n\x00.\r\n",
    "nul_after_dot": b"\r\n.\x00\r\n",
    "crlf_dot_cr_crlf": b"\r\n.\r\r\n",
    "space_before_dot": b"\r\n .\r\n",
    "space_after_dot": b"\r\n. \r\n",
    "stuffed_dot": b"\r\n..\r\n",
    "crlf_dot_lf_lf": b"\r\n.\n\n",
}


def body(variant):
    return b"hi" + variant + SMUGGLED + END


def check_outcome(root, replies, name, where):
    # the replies after the whole 354 line
    after_data = replies.split(b"354 ", 1)[1].partition(b"\r\n")[2] if b"354 " in replies else b""
    assert b"evil@attacker.test" not in replies, f"{name} {where}: smuggled MAIL answered"
    assert root.names("example.org/alice") == [], f"{name} {where}: smuggled message stored"
    assert root.stored_count() <= 1, f"{name} {where}: more than one message"
    got = codes(after_data)
    assert got[:1] in ([250], [554]) and got[-1:] == [221], f"{name} {where}: replies {got}"
    assert root.queued() == [] and root.tmp_leftovers() == [], f"{name} {where}: leftovers"


def test_smuggling_variants_in_one_write_over_a_pipe():
    root = Root("/dev/shm")
    try:
        for name, variant in VARIANTS.items():
            status, replies, _ = run_session(root, PRE + body(variant) + b"QUIT\r\n")
            assert status == 0, f"{name}: exit {status}"
            check_outcome(root, replies, name, "one write")
            root.clear()
    finally:
        root.remove()


def send_split(server, data, cut):
    """The DATA phase in two writes cut at octet `cut`, then QUIT."""
    with server.connect() as s:
        s.sendall(PRE)
        got = b""
        while b"354 " not in got:
            chunk = s.recv(4096)
            assert chunk, f"no 354: {got!r}"
            got += chunk
        s.sendall(data[:cut])
        time.sleep(0.002)        # let the server read the first part alone
        s.sendall(data[cut:] + b"QUIT\r\n")
        return got + recv_until_closed(s)


def split_all(variants):
    """Every variant cut at every octet, on a server and root of its own."""
    root = Root("/dev/shm")
    # 127.0.0.1 is outside relay_networks here: a stranger on the internet
    server = Server(root, relay_networks="192.0.2.0/24")
    try:
        for name, variant in variants:
            data = body(variant)
            for cut in range(1, len(data)):
                replies = send_split(server, data, cut)
                check_outcome(root, replies, name, f"cut at {cut}")
                root.clear()
    finally:
        server.stop()
        root.remove()


def test_smuggling_variants_split_at_every_octet_over_a_socket():
    """Two servers side by side (two cores), half of the variants each."""
    from concurrent.futures import ThreadPoolExecutor
    items = sorted(VARIANTS.items())
    with ThreadPoolExecutor(2) as pool:
        for result in [pool.submit(split_all, items[k::2]) for k in (0, 1)]:
            result.result()


def test_real_end_of_data_right_after_bare_cr_is_still_one_message():
    """'\\r\\r\\n.\\r\\n' holds a real <CRLF>.<CRLF>: the data ends there, the
    message (with its bare CR) is refused, and what follows is commands."""
    root = Root("/dev/shm")
    try:
        data = PRE + b"x\r\r\n.\r\nNOOP\r\nQUIT\r\n"
        status, replies, _ = run_session(root, data)
        assert codes(replies)[-3:] == [554, 250, 221], replies
        assert root.stored_count() == 0
    finally:
        root.remove()
