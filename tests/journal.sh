#!/bin/sh
# journal.sh - with stderr connected to the journal, the log carries
# structured fields (SESSION_ID=, PEER=, MESSAGE_ID=): a real
# systemd-journald of the test's own in a private mount and network
# namespace, read back with journalctl (tests/journal_fields.py).
set -u
: "${top_srcdir:=$(dirname "$0")/..}"
. "$top_srcdir/tests/lib.sh"
need unshare:util-linux systemd-cat:systemd journalctl:systemd
need_root "the test mounts /run and runs systemd-journald"
JOURNALD=
for j in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
	[ -x "$j" ] && JOURNALD=$j && break
done
skip() {
	echo "SKIP: $*"
	[ "${CI:-}" = true ] && exit 1
	exit 77
}
[ -n "$JOURNALD" ] || skip "systemd-journald not found (Debian package systemd)"
unshare --mount --net true 2>/dev/null || skip "no mount or network namespace here (unshare failed)"
workdir journal
# Not exec: the trap of workdir removes $W once the namespace is gone.
unshare --mount --net "$PYTHON3" "$S/tests/journal_fields.py" "$W" \
	"$B/smtpd-session/smtpd-session" "$JOURNALD"
