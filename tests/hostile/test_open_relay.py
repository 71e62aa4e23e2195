"""Open relay: a stranger (TCPREMOTEIP, or a socket peer, outside
relay_networks) tries every known trick to make us carry mail to a
foreign domain.  Nothing may be queued, and nothing may land anywhere but
in a Maildir of a real local user."""
from harness import USERS, Root, Server, recv_until_closed, run_session

# Addresses that must never be relayed.  Some are plain local mail in
# disguise (uppercase, +detail): those may be delivered, but only locally.
TRICKS = [
    "<victim%elsewhere.test@example.org>",          # percent hack
    "<victim%elsewhere.test>",
    "<@example.org:victim@elsewhere.test>",         # source route
    "<@example.org,@relay.test:victim@elsewhere.test>",
    "<victim!elsewhere.test@example.org>",           # bang path
    "<elsewhere.test!victim@example.org>",
    '<"victim@elsewhere.test"@example.org>',        # quoted local parts
    '<"victim%elsewhere.test"@example.org>',
    '<"u"@example.org>',
    "<victim@[192.0.2.99]>",                        # address literals
    "<victim@[127.0.0.1]>",
    "<victim@[IPv6:::1]>",
    "<postmaster@[127.0.0.1]>",
    "<victim@elsewhere.test.>",                     # trailing dots
    "<u@example.org.>",
    "<victim@ELSEWHERE.TEST>",                      # uppercase
    "<U@EXAMPLE.ORG>",
    "<victim@example.org.elsewhere.test>",          # local domain as a part
    "<victim@elsewhere.example.org>",
    "<victim@sub.example.org>",
    "<victim@example.org@elsewhere.test>",
    "<victim@elsewhere.test@example.org>",
    "<victim@elsewhere.test>",                      # plain foreign
    "<victim@localhost>",
    "<u+victim%elsewhere.test@example.org>",
    "<victim@elsewhere.test\x00@example.org>",
    "<victim@elsewhere.test>\r\nRCPT TO:<x@y.test>",
]


def attempt(root, rcpt, transport):
    data = (b"EHLO attacker.test\r\nMAIL FROM:<spammer@attacker.test>\r\n"
            b"RCPT TO:" + rcpt.encode("latin-1") + b"\r\nDATA\r\nSubject: spam\r\n\r\nbuy\r\n.\r\nQUIT\r\n")
    return transport(data)


def check_no_relay(root, rcpt, replies):
    assert root.queued() == [], f"{rcpt!r}: queued for relay"
    for name in sorted(_all_dirs(root.mail)):
        assert name in _allowed_dirs(), f"{rcpt!r}: created {name}"
    for user in USERS:
        if root.names(user):
            assert user == "example.org/u", f"{rcpt!r}: delivered to {user}"
    # a 250 for the message only when it went to the local user
    assert b"queued as" not in replies or root.names("example.org/u"), f"{rcpt!r}: {replies!r}"


def _all_dirs(top):
    import os
    for dirpath, dirnames, _ in os.walk(top):
        for d in dirnames:
            yield os.path.relpath(os.path.join(dirpath, d), top)


def _allowed_dirs():
    dirs = {"example.org", "example.net"}
    for user in USERS:
        dirs.add(user)
        dirs.update(f"{user}/{s}" for s in ("tmp", "new", "cur"))
    return dirs


def test_open_relay_tricks_from_a_stranger_by_tcpremoteip():
    root = Root("/dev/shm")
    try:
        for rcpt in TRICKS:
            status, replies, _ = attempt(root, rcpt, lambda d: run_session(root, d))
            assert status == 0, f"{rcpt!r}: exit {status}"
            check_no_relay(root, rcpt, replies)
            root.clear()
    finally:
        root.remove()


def test_open_relay_tricks_from_a_stranger_on_a_socket():
    root = Root("/dev/shm")
    server = Server(root, relay_networks="192.0.2.0/24 ::1/128")
    try:
        def over_socket(data):
            with server.connect() as s:
                s.sendall(data)
                return recv_until_closed(s)
        for rcpt in TRICKS:
            replies = attempt(root, rcpt, over_socket)
            check_no_relay(root, rcpt, replies)
            root.clear()
    finally:
        server.stop()
        root.remove()


def test_inherited_tcpremoteip_does_not_make_a_socket_peer_trusted():
    """On a socket the peer is getpeername(0): a TCPREMOTEIP in the
    environment (here one inside relay_networks) is ignored."""
    root = Root("/dev/shm")
    server = Server(root, relay_networks="192.0.2.0/24")
    try:
        import os
        os.environ["TCPREMOTEIP"] = "192.0.2.1"   # inherited by the launcher
        try:
            with server.connect() as s:
                s.sendall(b"EHLO a\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<v@elsewhere.test>\r\nQUIT\r\n")
                replies = recv_until_closed(s)
        finally:
            del os.environ["TCPREMOTEIP"]
        assert b"554 5.7.1" in replies, replies
    finally:
        server.stop()
        root.remove()


def test_relay_client_may_relay_the_control_case():
    """The same foreign recipient from inside relay_networks is queued:
    proof that the tests above test the relay check, not a broken queue."""
    root = Root("/dev/shm")
    try:
        status, replies, _ = attempt(root, "<victim@elsewhere.test>",
                                     lambda d: run_session(root, d, env_extra={"TCPREMOTEIP": "127.0.0.1"}))
        assert status == 0 and len(root.queued()) == 1, replies
    finally:
        root.remove()
