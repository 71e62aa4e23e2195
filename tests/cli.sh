#!/bin/sh
# smtpd-session's command line: -h, -V, usage errors, -c and -o errors.
: "${top_builddir:=.}"
bin=$top_builddir/smtpd-session/smtpd-session
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# expect NAME WANT_STATUS PATTERN -- COMMAND...: status and a line of output
expect() {
	name=$1 want=$2 pattern=$3
	shift 4
	"$@" </dev/null >"$tmp/out" 2>&1
	status=$?
	if [ "$status" -eq "$want" ] && grep -q -e "$pattern" "$tmp/out"; then
		passed=$((passed + 1)); echo "PASS $name"
	else
		failed=$((failed + 1)); echo "FAIL $name: status $status (want $want), output:"; cat "$tmp/out"
	fi
}

expect "-h prints usage" 0 "usage: smtpd-session" -- "$bin" -h
expect "-V prints the version" 0 "^smtpd-session (mailsock) [0-9]" -- "$bin" -V
expect "unknown option: usage, 64" 64 "usage: smtpd-session" -- "$bin" -x
expect "stray argument: usage, 64" 64 "usage: smtpd-session" -- "$bin" extra
expect "-c missing file names it, 78" 78 "$tmp/nope.conf: No such file" -- "$bin" -c "$tmp/nope.conf"
expect "-c bad file: 421 to the client" 78 "^421 4.3.0" -- "$bin" -c "$tmp/nope.conf"
expect "-o unknown key named, 78" 78 "-o: unknown key \"colour\"" -- "$bin" -o colour=blue
expect "-o bad value named, 78" 78 "-o: timeout: " -- "$bin" -o timeout=soon
printf 'hostname = mx.example.org\nmax_errors = 3\n' > "$tmp/bad.conf"
expect "file error names file, line and key" 78 "$tmp/bad.conf:2: max_errors: must be between 10 and" -- "$bin" -c "$tmp/bad.conf"
printf 'hostname = mx.example.org\n' > "$tmp/good.conf"
expect "-o overrides the file" 0 "^220 mx2.example.org ESMTP" -- "$bin" -c "$tmp/good.conf" -o hostname=mx2.example.org

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
