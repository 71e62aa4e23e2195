#!/bin/sh
# tests/sendmail.sh - local submission as a user sees it: mailsock-sendmail
# run by unprivileged users through a setgid copy of mailsock-postdrop,
# then smtp-relay's pickup into Maildirs and the queue; s-nail (mail -s) and a
# cron-style Python script as real callers.  Needs root (to make the
# setgid copy and to become other users) and runs in its own network and
# mount namespaces: the built-in configuration path is bind-mounted there.
# Run: top_builddir=build tests/sendmail.sh [case...]
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$PWD}"
: "${PYTHON3:=/usr/bin/python3}"
export top_srcdir top_builddir PYTHON3

skip() {
	if [ "${CI:-}" = true ]; then echo "FAIL (skip under CI=true): $*"; exit 1; fi
	echo "SKIP: $*"; exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (a setgid copy of mailsock-postdrop, setpriv to other users)"
PATH=$PATH:/usr/sbin:/sbin
for tool in unshare setpriv mount ip; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool not installed (util-linux, iproute2)"
done
unshare --net --mount true 2>/dev/null || skip "cannot create network and mount namespaces"
exec unshare --net --mount --propagation private -- "$PYTHON3" "$top_srcdir/tests/sendmail_test.py" "$@"
