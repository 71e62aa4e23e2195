# lib.sh - set-up shared by the shell tests that run a server on loopback.
#   . "$top_srcdir/tests/lib.sh"
#   need TOOL:PACKAGE...      skip (77) unless every tool is installed
#   need_root WHY             skip unless root
#   workdir NAME              $W (removed at exit), $B and $S (build, source);
#                             the server the test starts goes in $PID
#   fail TEXT / ok TEXT       report one check; $failures counts
#   free_port                 a free TCP port on 127.0.0.1
#   maildir_bob               $W/mail/example.test/bob and $W/queue
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"

need() {
	for t in "$@"; do
		command -v "${t%%:*}" >/dev/null 2>&1 ||
			{ echo "SKIP: ${t%%:*} not found (Debian package ${t#*:})"; exit 77; }
	done
}

need_root() {
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: $*: needs root"; exit 77; }
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

maildir_bob() {
	mkdir -p "$W/mail/example.test/bob/tmp" "$W/mail/example.test/bob/new" \
		"$W/mail/example.test/bob/cur" "$W/queue" || exit 99
}
