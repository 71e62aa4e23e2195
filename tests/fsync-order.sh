#!/bin/sh
# fsync-order.sh - 250 only after the file and its directory are fsynced
# (README): the order read from strace of real sessions, for one recipient,
# several (hard links), the queue, and both (tests/fsync_order.py).
set -u
: "${top_srcdir:=$(dirname "$0")/..}"
. "$top_srcdir/tests/lib.sh"
need strace:strace
B=$(cd "$top_builddir" && pwd)
exec "$PYTHON3" "$top_srcdir/tests/fsync_order.py" "$B/smtpd-session/smtpd-session"
