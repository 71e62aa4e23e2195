#!/bin/sh
# exdev.sh - one message to recipients on three file systems: alice's
# Maildir, bob's on a tmpfs and the queue on another (a private mount
# namespace).  linkat fails with EXDEV, the copy fallback must give every
# recipient the same bytes, fsynced before the one 250
# (tests/fsync_order.py --cross-fs).
set -u
: "${top_srcdir:=$(dirname "$0")/..}"
. "$top_srcdir/tests/lib.sh"
need strace:strace unshare:util-linux
need_root "the test mounts tmpfs file systems"
if ! unshare --mount true 2>/dev/null; then
	echo "SKIP: no mount namespace here (unshare --mount failed)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
B=$(cd "$top_builddir" && pwd)
exec unshare --mount "$PYTHON3" "$top_srcdir/tests/fsync_order.py" --cross-fs \
	"$B/smtpd-session/smtpd-session"
