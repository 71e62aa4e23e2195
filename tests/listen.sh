#!/bin/sh
# listen.sh - smtpd-session's listening mode without a systemd PID 1:
# systemd-socket-activate hands it a listening socket (LISTEN_FDS=1, as
# smtpd.socket does) on a free loopback port.  Mail is delivered; a burst
# is all delivered (children reaped); the caps hold: above
# max_connections_per_source from one address and above max_connections
# in all, "421 4.7.0"; SIGTERM ends it with status 0.  Also the Accept=yes
# shape without StandardInput=socket (the connection as fd 3).
set -u
: "${top_srcdir:=$(dirname "$0")/..}"
. "$top_srcdir/tests/lib.sh"
need systemd-socket-activate:systemd swaks:swaks
workdir listen

maildir_bob
printf '%s\n' "hostname = mx.example.test" "domains = example.test" "mail_root = $W/mail" \
	"queue_dir = $W/queue" "max_connections = 30" "max_connections_per_source = 10" \
	>"$W/mailsock.conf"
if [ "$(id -u)" -eq 0 ]; then      # root never serves the network: become nobody
	echo "user = nobody" >>"$W/mailsock.conf"
	chown -R nobody:nogroup "$W/mail" "$W/queue" || exit 99
	chmod 755 "$W"
fi

count() { ls "$W/mail/example.test/bob/new" | wc -l; }
send() {
	swaks --server "127.0.0.1:$1" --helo client.example --from alice@client.example \
		--to bob@example.test --header "Subject: listening mode" >"$W/swaks.log" 2>&1
}
wait_port() {   # PORT LOG
	for _ in $(seq 50); do
		"$PYTHON3" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
			"$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on $1"
	cat "$2"
	exit 99
}
hold() { "$PYTHON3" "$S/tests/smtp_clients.py" hold "$PORT" "$@"; }

# ---- listening mode ----------------------------------------------------------
PORT=$(free_port)
systemd-socket-activate -l "127.0.0.1:$PORT" \
	"$B/smtpd-session/smtpd-session" -c "$W/mailsock.conf" 2>"$W/log" &
PID=$!
wait_port "$PORT" "$W/log"
sleep 0.2          # the probe's own session ends

if send "$PORT" && [ "$(count)" -eq 1 ]; then
	ok "listening mode: delivered"
else
	fail "listening mode: not delivered"
	cat "$W/swaks.log" "$W/log"
fi
out=$("$PYTHON3" "$S/tests/smtp_clients.py" burst 200 8 bob@example.test "$PORT")
[ "$(count)" -eq 201 ] && ok "burst: $out; all delivered" || fail "burst: $out; $(count) of 201 in the Maildir"

out=$(hold 127.0.0.2:10 127.0.0.3:12)
[ "$out" = "220=20 421=2" ] && ok "per source: $out (10 per address, 2 above it refused)" ||
	fail "per source: $out (want 220=20 421=2)"
sleep 0.3          # the held sessions end
out=$(hold 127.0.0.2:8 127.0.0.3:8 127.0.0.4:8 127.0.0.5:8)
[ "$out" = "220=30 421=2" ] && ok "in all: $out (30 at most, 2 above it refused)" ||
	fail "in all: $out (want 220=30 421=2)"
grep -q 'event=refused peer=127.0.0.3 reason="Too many connections from your address"' "$W/log" &&
	grep -q 'event=refused peer=127.0.0.[2-5] reason="Too many connections"' "$W/log" &&
	ok "refusals logged with the peer and the cap" || fail "refusals not logged"

kill -TERM "$PID"
wait "$PID"
rc=$?
PID=
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
grep -q "event=session-failed" "$W/log" && fail "a session failed:" && grep "event=session-failed" "$W/log"

# ---- one connection on fd 3 (Accept=yes without StandardInput=socket) ------
PORT=$(free_port)
systemd-socket-activate --accept -l "127.0.0.1:$PORT" \
	"$B/smtpd-session/smtpd-session" -c "$W/mailsock.conf" 2>"$W/log2" &
PID=$!
wait_port "$PORT" "$W/log2"
if send "$PORT" && [ "$(count)" -eq 202 ]; then
	ok "a connection as fd 3 (LISTEN_FDS=1, not listening): delivered"
else
	fail "a connection as fd 3: not delivered"
	cat "$W/swaks.log" "$W/log2"
fi

[ "$failures" -eq 0 ] || exit 1
