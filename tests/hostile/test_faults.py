"""Faults of the store: a full disk, a read-only file system, Maildir
subdirectories that are missing or unwritable, a missing queue_dir.  The
client gets a 4xx (452 4.3.1 for a full disk), never a 250 and never a
crash; the log names the path; the session goes on; mail accepted before
is intact; delivery works again once the fault is gone.

Each scenario that mounts runs in its own mount namespace (unshare -m,
private propagation), so no mount outlives it or leaks to the host."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from harness import Root, Session, give_to_nobody

HERE = os.path.abspath(__file__)
NOBODY = 65534


def in_mount_namespace(scenario):
    """Run `scenario` of this file under unshare -m; skip when not root."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "skip: needs root and unshare for tmpfs mounts"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"],
                           stderr=subprocess.DEVNULL)
    if probe.returncode != 0:
        return "skip: unshare -m is not allowed here"
    p = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, HERE, scenario],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert p.returncode == 0, f"{scenario}:\n{p.stdout.decode(errors='replace')}"
    return None


def mount_tmpfs(path, size):
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path], check=True)


def fill(directory):
    """Write a file until the file system is full, to the last block."""
    path = os.path.join(directory, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return path


def send_message(s, rcpts, body):
    """One transaction; returns the final reply line (of DATA or earlier)."""
    s.send(b"RSET\r\nMAIL FROM:<a@b.test>\r\n" + b"".join(b"RCPT TO:<%s>\r\n" % r for r in rcpts)
           + b"DATA\r\n")
    s.expect(rb"^250 2\.0\.0 Ok")                     # RSET
    s.expect(rb"^250 2\.1\.0")
    for _ in rcpts:
        line = s.expect(rb"^\d\d\d ")
        if not line.startswith(b"250"):
            s.expect(rb"^\d\d\d ")        # the DATA reply
            return line
    line = s.expect(rb"^(354|4\d\d|5\d\d) ")
    if not line.startswith(b"354"):
        return line
    s.send(body + b".\r\n")
    return s.expect(rb"^\d\d\d ")


def body(tag, size=0):
    return b"Subject: %s\r\n\r\n" % tag + b"filler filler filler\r\n" * (size // 22) + b"end\r\n"


def noop_still_works(s):
    s.send(b"NOOP\r\n")
    assert s.expect(rb"^\d\d\d ").startswith(b"250"), "session did not go on"


# ---- scenarios, each run in its own mount namespace -------------------------

def scenario_disk_full():
    base = tempfile.mkdtemp(prefix="mailsock-full-")
    mount_tmpfs(base, "2m")
    root = Root(base)
    s = Session(root, stranger=False)
    try:
        s.send(b"EHLO full.test\r\n")
        s.expect(rb"^250 ")
        assert send_message(s, [b"u@example.org"], body(b"before")).startswith(b"250 2.0.0")
        before = root.messages("example.org/u")
        filler = fill(base)
        for size in (100, 300000):                       # small and large
            for rcpt in (b"u@example.org", b"v@elsewhere.test"):
                line = send_message(s, [rcpt], body(b"while full", size))
                assert line.startswith(b"452 4.3.1"), f"{rcpt} {size}: {line!r}"
                noop_still_works(s)
        assert root.messages("example.org/u") == before, "accepted mail damaged"
        os.unlink(filler)
        assert send_message(s, [b"u@example.org"], body(b"after")).startswith(b"250 2.0.0")
        assert send_message(s, [b"v@elsewhere.test"], body(b"after")).startswith(b"250 2.0.0")
        s.send(b"QUIT\r\n")
        status, _, log = s.finish()
        assert status == 0 and len(root.messages("example.org/u")) == 2
        assert root.tmp_leftovers() == [], root.tmp_leftovers()
        assert re.search(rb"event=store-failed msgid=\S+ path=example\.org/u/tmp/\S+ "
                         rb"error=\"No space left on device\"", log), log
    finally:
        s.kill()
        subprocess.run(["umount", base])
        shutil.rmtree(base, ignore_errors=True)


def scenario_queue_full():
    """Only the queue's file system is full: relaying fails with 452, local
    delivery goes on."""
    root = Root()
    os.makedirs(root.queue)
    mount_tmpfs(root.queue, "1m")
    give_to_nobody(root.queue)
    s = Session(root, stranger=False)
    try:
        s.send(b"EHLO full.test\r\n")
        s.expect(rb"^250 ")
        filler = fill(root.queue)
        line = send_message(s, [b"v@elsewhere.test"], body(b"relay", 200000))
        assert line.startswith(b"452 4.3.1"), line
        line = send_message(s, [b"u@example.org", b"v@elsewhere.test"], body(b"both", 200000))
        assert line.startswith(b"452 4.3.1"), line
        assert root.names("example.org/u") == [], "u kept a copy of a refused message"
        assert send_message(s, [b"u@example.org"], body(b"local")).startswith(b"250 2.0.0")
        os.unlink(filler)
        assert send_message(s, [b"v@elsewhere.test"], body(b"relay")).startswith(b"250 2.0.0")
        s.send(b"QUIT\r\n")
        status, _, _ = s.finish()
        assert status == 0 and len(root.queued()) == 1
    finally:
        s.kill()
        subprocess.run(["umount", root.queue])
        root.remove()


def scenario_read_only_file_system():
    base = tempfile.mkdtemp(prefix="mailsock-ro-")
    mount_tmpfs(base, "4m")
    root = Root(base)
    s = Session(root, stranger=False)
    try:
        s.send(b"EHLO ro.test\r\n")
        s.expect(rb"^250 ")
        assert send_message(s, [b"u@example.org"], body(b"before")).startswith(b"250 2.0.0")
        subprocess.run(["mount", "-o", "remount,ro", base], check=True)
        for rcpt in (b"u@example.org", b"v@elsewhere.test"):
            line = send_message(s, [rcpt], body(b"while ro"))
            assert line.startswith(b"4"), f"{rcpt}: {line!r}"
            noop_still_works(s)
        subprocess.run(["mount", "-o", "remount,rw", base], check=True)
        assert send_message(s, [b"u@example.org"], body(b"after")).startswith(b"250 2.0.0")
        s.send(b"QUIT\r\n")
        status, _, log = s.finish()
        assert status == 0 and len(root.messages("example.org/u")) == 2
        assert re.search(rb"path=\S*example\.org/u/tmp/\S+ error=\"Read-only file system\"", log), log
    finally:
        s.kill()
        subprocess.run(["umount", base])
        shutil.rmtree(base, ignore_errors=True)


# ---- scenarios without mounts ----------------------------------------------

def expect_trouble(root, rcpt, path_pattern, stranger=False, as_nobody=False, **opts):
    """One message to rcpt must get a 4xx and a log line naming the path."""
    s = Session(root, stranger=stranger, run_as=NOBODY if as_nobody else None, **opts)
    try:
        s.send(b"EHLO fault.test\r\n")
        s.expect(rb"^250 ")
        line = send_message(s, [rcpt], body(b"fault"))
        assert line.startswith(b"4"), f"{rcpt}: {line!r}"
        noop_still_works(s)
        s.send(b"QUIT\r\n")
        status, _, log = s.finish()
        assert status == 0, status
        assert re.search(path_pattern, log), f"no log line naming {path_pattern!r}: {log!r}"
    finally:
        s.kill()


def test_missing_maildir_subdirectories_get_4xx_and_a_log_line():
    for sub in ("tmp", "new", "cur"):
        root = Root()
        try:
            os.rmdir(os.path.join(root.mail, "example.org/u", sub))
            expect_trouble(root, b"u@example.org", rb"path=example\.org/u ")
            assert root.stored_count() == 0
        finally:
            root.remove()


def test_unwritable_maildir_subdirectories_get_4xx_and_a_log_line():
    if os.geteuid() != 0:
        return "skip: needs root to run the session as nobody"
    for sub in ("tmp", "new"):
        root = Root()
        try:
            for dirpath, dirnames, filenames in os.walk(root.dir):
                os.chown(dirpath, NOBODY, NOBODY)
            os.chmod(os.path.join(root.mail, "example.org/u", sub), 0o500)
            expect_trouble(root, b"u@example.org", rb"path=\S*example\.org/u/%s" % sub.encode(),
                           as_nobody=True)
            assert root.stored_count() == 0 and root.tmp_leftovers() == []
        finally:
            root.remove()


def test_failure_for_one_recipient_takes_back_the_others_copies():
    """alice's copy is linked first, then u's new/ refuses: the client gets
    a 4xx and will retry, so alice must not keep a copy (no duplicate)."""
    if os.geteuid() != 0:
        return "skip: needs root to run the session as nobody"
    root = Root()
    try:
        for dirpath, dirnames, filenames in os.walk(root.dir):
            os.chown(dirpath, NOBODY, NOBODY)
        os.chmod(os.path.join(root.mail, "example.org/u/new"), 0o500)
        s = Session(root, stranger=False, run_as=NOBODY)
        try:
            s.send(b"EHLO fault.test\r\n")
            s.expect(rb"^250 ")
            line = send_message(s, [b"alice@example.org", b"u@example.org", b"v@elsewhere.test"],
                                body(b"two"))
            assert line.startswith(b"451 4.3.0"), line
            s.send(b"QUIT\r\n")
            assert s.finish()[0] == 0
        finally:
            s.kill()
        assert root.stored_count() == 0 and root.queued() == [], "a copy was kept"
        assert root.tmp_leftovers() == []
    finally:
        root.remove()


def test_missing_mail_root_gets_4xx_and_a_log_line():
    root = Root()
    try:
        missing = os.path.join(root.dir, "no-such-root")
        expect_trouble(root, b"u@example.org", re.escape(b"path=" + missing.encode()),
                       mail_root=missing)
    finally:
        root.remove()


def test_missing_queue_dir_gets_4xx_and_a_log_line():
    root = Root()
    try:
        missing = os.path.join(root.dir, "no-such-parent", "queue")
        for rcpts in ([b"v@elsewhere.test"],):
            expect_trouble(root, rcpts[0], re.escape(b"path=" + missing.encode()),
                           queue_dir=missing)
    finally:
        root.remove()


def test_disk_full_gets_452_and_recovers():
    return in_mount_namespace("scenario_disk_full")


def test_full_queue_file_system_gets_452_and_local_mail_goes_on():
    return in_mount_namespace("scenario_queue_full")


def test_read_only_file_system_gets_4xx_and_recovers():
    return in_mount_namespace("scenario_read_only_file_system")


if __name__ == "__main__":
    if sys.flags.optimize:
        sys.exit("test_faults.py: asserts are stripped (-O or PYTHONOPTIMIZE): refusing to run")
    sys.path.insert(0, os.path.dirname(HERE))
    globals()[sys.argv[1]]()
