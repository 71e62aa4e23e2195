#!/bin/sh
# Install what is missing, build with warnings as errors, and run every test:
# make check, make check again under ASan+UBSan, the transcripts under
# valgrind, and make distcheck.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
passed=0 failed=0

# Add one run's automake totals to the closing line.
count() {
	p=$(sed -n 's/^# PASS: *//p' "$1/test-suite.log" | head -1)
	f=$(sed -n 's/^# FAIL: *//p' "$1/test-suite.log" | head -1)
	passed=$((passed + ${p:-0})) failed=$((failed + ${f:-0}))
}

echo "== build (-Werror) and make check"
BUILD=$top/build "$top/scripts/build.sh" --enable-werror
make -C "$top/build" -s check && count "$top/build" || { cat "$top"/build/tests/*.log "$top"/build/tests/unit/*.log 2>/dev/null | tail -100; exit 1; }

echo "== make check with AddressSanitizer and UndefinedBehaviorSanitizer"
BUILD=$top/build-asan "$top/scripts/build.sh" --enable-werror --enable-sanitizers
make -C "$top/build-asan" -s check && count "$top/build-asan" || { cat "$top"/build-asan/tests/*.log "$top"/build-asan/tests/unit/*.log 2>/dev/null | tail -100; exit 1; }

echo "== transcripts under valgrind"
VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite" \
	top_srcdir=$top top_builddir=$top/build PYTHON3=/usr/bin/python3 \
	"$top/tests/transcripts.sh" > "$top/build/valgrind.log" 2>&1 || { grep -v '^PASS' "$top/build/valgrind.log"; exit 1; }
tail -1 "$top/build/valgrind.log"

echo "== make distcheck"
make -C "$top/build" -s distcheck >/dev/null
echo "test programs: $passed passed, $failed failed"
