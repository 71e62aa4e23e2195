#!/bin/sh
# tests/fuzz/run.sh [SECONDS] - build the libFuzzer targets with clang
# (ASan + UBSan) and run each for SECONDS (default $FUZZ_SECONDS, else 60).
# Fails on any crash, leak, timeout or sanitizer report.
#
#   tests/fuzz/run.sh 5                  # smoke run, 5 s per target
#   FUZZ_TARGETS="data session" tests/fuzz/run.sh 3600   # a long run of two
#   FUZZ_MERGE=1 tests/fuzz/run.sh 600   # ... and fold new finds into the seeds
#
# Needs clang and libclang-rt-dev (libFuzzer); installs them when missing.
# Work happens in $FUZZ_WORK (default build-fuzz/ in the current directory): binaries, the
# growing corpus per target (seeded from tests/fuzz/corpus/) and crash
# files, which are kept there for reproduction: ./fuzz_TARGET crash-FILE.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
seconds=${1:-${FUZZ_SECONDS:-60}}
targets=${FUZZ_TARGETS:-"address cidr config data envelope session reply dns auth headers"}
work=${FUZZ_WORK:-$PWD/build-fuzz}
CLANG=${CLANG:-clang}

# clang, and libFuzzer with the sanitizer runtimes (libclang-rt-dev, only
# recommended by clang: a machine with --no-install-recommends lacks it).
"$top/scripts/deps.sh" clang libclang-rt-dev || {
	echo "run.sh: cannot install clang and libclang-rt-dev" >&2
	exit 1
}

mkdir -p "$work"
# The targets that write files (session, envelope) do it here: tmpfs, so
# that fsync costs nothing, and private to this run.
FUZZ_SHM=$(mktemp -d /dev/shm/mailsock-fuzz.XXXXXX)
export FUZZ_SHM
trap 'rm -rf "$FUZZ_SHM"' EXIT
trap 'exit 130' INT TERM
cflags="-std=c17 -g -O1 -D_GNU_SOURCE -Wall -Wextra -Werror
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
	-I$top/common -I$top/smtpd-session -I$top/smtp-relay -I$top/sendmail"
# the whole small library, as the programs link it (common/libmailsock.a)
common=$(echo "$top"/common/*.c)
session="$top/smtpd-session/session.c $top/smtpd-session/data.c
	$top/smtpd-session/peer.c $top/smtpd-session/target.c $top/smtpd-session/delivery.c
	$top/smtpd-session/sasl.c $top/smtpd-session/auth.c
	$top/smtpd-session/lmtp_check.c $here/short_read.c -lcrypt"

sources_of() {
	case $1 in
	data) echo "$top/smtpd-session/data.c" ;;
	auth) echo "$top/smtpd-session/sasl.c" ;;
	reply) echo "$top/common/conn.c $top/common/stream.c $top/common/stream_deadline.c
		$here/short_read.c" ;;
	headers) echo "$top/sendmail/headers.c" ;;
	dns) echo "$common $work/dns-fuzz-answers.o $top/smtp-relay/dnscache.c
		$(pkg-config --libs ldns)" ;;
	session) echo "$common $session" ;;
	*) echo "$common" ;;
	esac
}

# Per target: extra libFuzzer options.
options_of() {
	case $1 in
	session) echo "-max_len=8192 -close_fd_mask=2 -dict=$here/smtp.dict" ;;
	data) echo "-max_len=4096" ;;
	config) echo "-max_len=8192" ;;
	*) echo "-max_len=1024" ;;
	esac
}

failed=""
# fuzz_dns answers every question dns.c asks from its input.
# shellcheck disable=SC2086,SC2046
$CLANG $cflags $(pkg-config --cflags ldns) -Dldns_resolver_query_status=fuzz_query_status \
	-c -o "$work/dns-fuzz-answers.o" "$top/smtp-relay/dns.c"

for t in $targets; do
	bin="$work/fuzz_$t"
	# shellcheck disable=SC2046,SC2086
	$CLANG $cflags -o "$bin" "$here/fuzz_$t.c" $(sources_of "$t") -ldl
	corpus="$work/corpus-$t"
	mkdir -p "$corpus"
	cp -n "$here/corpus/$t"/* "$corpus"/ 2>/dev/null || true
	log="$work/fuzz_$t.log"
	echo "fuzz $t: ${seconds}s"
	# shellcheck disable=SC2046
	if (cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		"$bin" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 $(options_of "$t") "$corpus") >"$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "fuzz $t: ok, $execs executions, corpus $(ls "$corpus" | wc -l) inputs"
	else
		echo "fuzz $t: FAILED, see $log" >&2
		grep -E 'ERROR|SUMMARY|invariant|Test unit written' "$log" >&2 || tail -20 "$log" >&2
		failed="$failed $t"
	fi
	if [ "${FUZZ_MERGE:-0}" = 1 ]; then
		mkdir -p "$here/corpus/$t"
		"$bin" -merge=1 $(options_of "$t") "$here/corpus/$t" "$corpus" >/dev/null 2>&1
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed" >&2
	exit 1
fi
echo "fuzz: all targets clean"
