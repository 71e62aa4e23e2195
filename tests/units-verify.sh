#!/bin/sh
# units-verify.sh - "systemd-analyze verify" finds nothing to say about any
# unit.  It only warns (exit 0) about unknown keys and the like, so any
# output on stderr fails the test.  ExecStart= must exist: verify a copy of
# the units whose ExecStart= points at the built programs.
set -u
: "${top_builddir:?}"
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
need systemd-analyze:systemd
T=$(mktemp -d) || exit 99
trap 'rm -rf "$T"' EXIT
B=$(cd "$top_builddir" && pwd)
for u in "$B"/units/*.socket "$B"/units/*.service "$B"/units/*.timer "$B"/units/*.path; do
	sed -e "s|^ExecStart=.*/smtpd-session|ExecStart=$B/smtpd-session/smtpd-session|" \
	    -e "s|^ExecStart=.*/smtp-relay|ExecStart=$B/smtp-relay/smtp-relay|" \
	    "$u" >"$T/${u##*/}" || exit 99
done
cd "$T" || exit 99
systemd-analyze verify --man=no ./*.socket ./*.service ./*.timer ./*.path 2>"$T/stderr"
rc=$?
if [ -s "$T/stderr" ] || [ $rc -ne 0 ]; then
	echo "FAIL: systemd-analyze verify (exit $rc):"
	cat "$T/stderr"
	exit 1
fi
echo "ok: systemd-analyze verify: $(ls "$T" | grep -v stderr | tr '\n' ' ')"
