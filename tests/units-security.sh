#!/bin/sh
# units-security.sh - the sandbox of each service stays within its exposure
# target (systemd-analyze security, offline): at most 0.5 for the session
# services (both ways), as README.md promises, at most 3.0 for
# smtp-relay.service (it needs the network).  A setting removed from a unit
# makes the score rise: this fails.
set -u
: "${top_builddir:?}"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
need systemd-analyze:systemd
cd "$top_builddir/units" || exit 99
fail=0

# check UNIT MAX: MAX is the highest exposure allowed, times ten
check() {
	out=$(systemd-analyze security --offline=true --no-pager --threshold="$2" "./$1" 2>&1)
	rc=$?
	score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ "$rc" -ne 0 ] || [ -z "$score" ]; then
		echo "FAIL: $1: exposure ${score:-unknown}, more than $2/10 allowed; what is open:"
		printf '%s\n' "$out" | grep '✗'
		fail=1
	else
		echo "ok: $1: exposure $score (at most $2/10)"
	fi
}

check smtpd-session@.service 5
check smtpd.service 5
check smtpd-submission.service 5
check smtpd-submissions.service 5
check smtp-relay.service 30
exit $fail
