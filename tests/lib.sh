# lib.sh - set-up shared by the shell tests that run a server on loopback.
#   . "$top_srcdir/tests/lib.sh"
#   skip WHY                  the whole test skips: "SKIP: WHY", exit 77;
#                             under CI=true a skip fails: "FAIL: ...", exit 1
#   skip_part WHY             one part skipped ("SKIP (part): WHY"), counted
#   finish                    exit 1 on a failure, else skip if a part was
#                             skipped, else 0
#   need TOOL:PACKAGE...      skip unless every tool is installed
#   need_root WHY             skip unless root
#   workdir NAME              $W (removed at exit), $B and $S (build, source);
#                             the server the test starts goes in $PID
#   fail TEXT / ok TEXT       report one check; $failures counts
#   free_port                 a free TCP port on 127.0.0.1 (free when asked:
#                             start servers with start_on_free_port)
#   start_on_free_port START READY [LOG]
#                             up to 5 times: PORT=$(free_port), START (runs
#                             the server in the background, sets $PID), then
#                             READY (true once it serves $PORT); a server
#                             that lost the port is stopped, another tried
#   wait_greeting PREFIX...   READY for most: $PORT greets with a PREFIX
#   maildir_bob               $W/mail/example.test/bob and $W/queue
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"

# CI (CI=true) must run every test: there a skip is a failure.
skip() {
	if [ "${CI:-}" = true ]; then
		echo "FAIL: skipped under CI=true: $*"
		exit 1
	fi
	echo "SKIP: $*"
	exit 77
}

skipped_parts=0
skip_part() {
	echo "SKIP (part): $*"
	skipped_parts=$((skipped_parts + 1))
}

finish() {
	[ "$failures" -eq 0 ] || { echo "$failures checks failed"; exit 1; }
	[ "$skipped_parts" -eq 0 ] || skip "$skipped_parts part(s) of the test skipped (SKIP (part) lines above)"
	exit 0
}

need() {
	for t in "$@"; do
		command -v "${t%%:*}" >/dev/null 2>&1 || skip "${t%%:*} not found (Debian package ${t#*:})"
	done
}

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "$*: needs root"
}

cleanup() {
	[ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$W"
}

workdir() {
	B=$(cd "$top_builddir" && pwd)
	S=$(cd "$top_srcdir" && pwd)
	W=$(mktemp -d "/tmp/mailsock-$1.XXXXXX") || exit 99
	PID=
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP PIPE
}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

free_port() {
	"$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The port free_port found may be taken before the server binds it: then
# the server exits (or never answers); stop it and try another port.
start_on_free_port() {   # START READY [LOG]
	for _ in 1 2 3 4 5; do
		PORT=$(free_port) || exit 99
		"$1"
		"$2" && return 0
		if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
		PID=
	done
	echo "no server listened on a free port in 5 tries${3:+; its log:}"
	[ -n "${3:-}" ] && cat "$3"
	exit 99
}

# wait_greeting PREFIX...: within 10 s, a line from 127.0.0.1:$PORT starts
# with one of the PREFIXes while $PID lives (a server that could not bind exits, or never greets).
wait_greeting() {
	for _ in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || return 1
		"$PYTHON3" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
s.settimeout(5)
want = tuple(p.encode() for p in sys.argv[2:])
sys.exit(0 if any(line.startswith(want) for line in s.makefile("rb")) else 1)' \
			"$PORT" "$@" 2>/dev/null && kill -0 "$PID" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

maildir_bob() {
	mkdir -p "$W/mail/example.test/bob/tmp" "$W/mail/example.test/bob/new" \
		"$W/mail/example.test/bob/cur" "$W/queue" || exit 99
}
