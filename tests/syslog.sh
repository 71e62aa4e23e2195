#!/bin/sh
# syslog.sh - under xinetd (stderr is the client's socket) the log goes to
# syslog with facility mail, never to the client (tests/inetd_syslog.py, in
# a private mount and network namespace with its own /dev/log).
set -u
: "${top_srcdir:=$(dirname "$0")/..}"
. "$top_srcdir/tests/lib.sh"
need xinetd:xinetd unshare:util-linux ip:iproute2
need_root "the test mounts /dev and runs the session as nobody"
if ! unshare --mount --net true 2>/dev/null; then
	echo "SKIP: no mount or network namespace here (unshare failed)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
workdir syslog
# Not exec: the trap of workdir removes $W once the namespace is gone.
unshare --mount --net "$PYTHON3" "$S/tests/inetd_syslog.py" "$W" \
	"$B/smtpd-session/smtpd-session" "$B/units/xinetd.smtp"
