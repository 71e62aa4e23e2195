#!/bin/sh
# tests/relay.sh - smtp-relay against real parts: nsd for DNS, aiosmtpd
# receivers with failure injection, and a second smtpd-session (under
# systemd-socket-activate) as a remote MX, all inside a private network
# namespace so that port 25 and extra loopback addresses are ours.
# The packages: scripts/test-packages.txt.  Exit 77 (skip) when missing, or
# when some cases were skipped and none failed; under CI=true a skip is a
# failure (exit 1), since CI is meant to run everything.
set -u
# An inherited PYTHONOPTIMIZE would strip every bare assert of the Python side.
unset PYTHONOPTIMIZE
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$PWD}"
: "${PYTHON3:=/usr/bin/python3}"
export top_srcdir top_builddir PYTHON3

skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: skipped under CI=true: $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}
for tool in nsd unshare ip systemd-socket-activate; do
	command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$tool" >/dev/null 2>&1 ||
		skip "$tool not installed (see scripts/test-packages.txt)"
done
PATH=$PATH:/usr/sbin:/sbin
"$PYTHON3" -c 'import aiosmtpd.controller' 2>/dev/null ||
	skip "$PYTHON3 has no aiosmtpd (Debian package python3-aiosmtpd)"
# Arguments name single cases (e.g. tests/relay.sh test_smarthost).
ns="unshare --net --mount"
[ "$(id -u)" = 0 ] || ns="$ns --map-root-user"
$ns true 2>/dev/null || skip "cannot create network and mount namespaces ($ns)"
RELAY_TEST_OWN_MOUNT_NS=1 exec $ns -- "$PYTHON3" "$top_srcdir/tests/relay/relay_test.py" "$@"
