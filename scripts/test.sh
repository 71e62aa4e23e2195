#!/bin/sh
# Install what is missing, build with warnings as errors, and run every test:
# make check, make check again under ASan+UBSan, the transcripts under
# valgrind, and make distcheck.  Ends with "test programs: N passed,
# N failed, N skipped", after the list of skipped tests and their reasons.
# Under CI=true a skipped test program fails the run (after the summary).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
passed=0 failed=0 skipped=0
skips=$(mktemp) || exit 1
trap 'rm -f "$skips"' EXIT

# total LOG RESULT: automake's count of RESULT in test-suite.log
total() { n=$(sed -n "s/^# $2: *//p" "$1" | head -1); echo "${n:-0}"; }

# results DIR ERE: the tests of DIR's test-suite.log whose result matches,
# one a line (DIR/TEST.log is the test's log).  Automake copies the log of
# every test that did not pass into test-suite.log under a "RESULT: TEST"
# line underlined with "=".
results() {
	awk -v re="^($2): " 'prev != "" && /^=+$/ { print prev } { prev = $0 ~ re ? $0 : "" }' \
		"$1/test-suite.log" | sed 's/^[A-Z]*: //'
}

# Add one run's automake totals to the closing line (an expected failure,
# XFAIL, passes; an unexpected pass, XPASS, and a hard error, ERROR, fail)
# and note each skipped test with the SKIP lines of its log.
count() {
	log=$1/test-suite.log
	[ -f "$log" ] || return 0
	passed=$((passed + $(total "$log" PASS) + $(total "$log" XFAIL)))
	failed=$((failed + $(total "$log" FAIL) + $(total "$log" XPASS) + $(total "$log" ERROR)))
	skipped=$((skipped + $(total "$log" SKIP)))
	results "$1" SKIP | while read -r t; do
		echo "  $t (${1##*/}):"
		grep '^SKIP' "$1/$t.log" | grep -v ' (exit status: 77)$' | sed 's/^/    /'
	done >>"$skips"
}

summary() {
	if [ "$skipped" -gt 0 ]; then
		echo "skipped test programs, with their reasons:"
		cat "$skips"
	fi
	echo "test programs: $passed passed, $failed failed, $skipped skipped"
}

# check DIR: make check in DIR and count; on failure show the failed
# tests' logs and the summary, and stop.
check() {
	rc=0
	make -C "$1" -s check || rc=$?
	count "$1"
	[ "$rc" -eq 0 ] && return 0
	results "$1" 'FAIL|XPASS|ERROR' | while read -r t; do
		echo "==== $t.log"
		tail -50 "$1/$t.log"
	done
	summary
	exit 1
}

echo "== build (-Werror) and make check"
BUILD=$top/build "$top/scripts/build.sh" --enable-werror
check "$top/build"

echo "== make check with AddressSanitizer and UndefinedBehaviorSanitizer"
BUILD=$top/build-asan "$top/scripts/build.sh" --enable-werror --enable-sanitizers
check "$top/build-asan"

echo "== transcripts under valgrind"
VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	top_srcdir=$top top_builddir=$top/build PYTHON3=/usr/bin/python3 \
	"$top/tests/transcripts.sh" > "$top/build/valgrind.log" 2>&1 || { grep -v '^PASS' "$top/build/valgrind.log"; exit 1; }
tail -1 "$top/build/valgrind.log"

# distcheck's own make check repeats the tests from the tarball under a
# throw-away prefix inside the build tree (in /tmp, or in /root for a clone
# there), which nspawn.sh skips by design (PrivateTmp= or ProtectHome= would
# hide it from the services), and sendmail.sh skips when that prefix is in a
# home other users cannot enter (postdrop, run as a user, reads the config
# there); its results are not counted above, so CI's rule on skips
# is left to the two counted runs.
echo "== make distcheck"
CI='' make -C "$top/build" -s distcheck >/dev/null

if [ "${CI:-}" = true ] && [ "$skipped" -gt 0 ]; then
	echo "CI=true: $skipped test programs skipped; CI must run them all"
	summary
	exit 1
fi
summary
