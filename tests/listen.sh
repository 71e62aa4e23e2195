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
greets() { wait_greeting "220 mx.example.test"; }
# Sessions still running (children of $PID) before the caps are counted:
# wait until they are gone, at most 10 s.
sessions_gone() {
	for _ in $(seq 100); do
		pgrep -P "$PID" >/dev/null || return 0
		sleep 0.1
	done
	fail "sessions still running after 10 s: $(pgrep -P "$PID" | tr '\n' ' ')"
}
hold() { "$PYTHON3" "$S/tests/smtp_clients.py" hold "$PORT" "$@"; }

# ---- listening mode ----------------------------------------------------------
listening() {
	systemd-socket-activate -l "127.0.0.1:$PORT" \
		"$B/smtpd-session/smtpd-session" -c "$W/mailsock.conf" 2>"$W/log" &
	PID=$!
}
start_on_free_port listening greets "$W/log"
sessions_gone      # the probe's own session

if send "$PORT" && [ "$(count)" -eq 1 ]; then
	ok "listening mode: delivered"
else
	fail "listening mode: not delivered"
	cat "$W/swaks.log" "$W/log"
fi
# 4 clients from one address, well under max_connections_per_source (10):
# the cap counts sessions until they are reaped, and a session that has
# said 221 may still be exiting (slowly under ASan) when its client
# connects again.
out=$("$PYTHON3" "$S/tests/smtp_clients.py" burst 200 4 bob@example.test "$PORT") && [ "$(count)" -eq 201 ] &&
	ok "burst: $out; all delivered" || fail "burst: $out; $(count) of 201 in the Maildir"

sessions_gone      # the burst's sessions
out=$(hold 127.0.0.2:10 127.0.0.3:12)
[ "$out" = "220=20 421=2" ] && ok "per source: $out (10 per address, 2 above it refused)" ||
	fail "per source: $out (want 220=20 421=2)"
sessions_gone      # the held sessions
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
accepting() {
	systemd-socket-activate --accept -l "127.0.0.1:$PORT" \
		"$B/smtpd-session/smtpd-session" -c "$W/mailsock.conf" 2>"$W/log2" &
	PID=$!
}
start_on_free_port accepting greets "$W/log2"
if send "$PORT" && [ "$(count)" -eq 202 ]; then
	ok "a connection as fd 3 (LISTEN_FDS=1, not listening): delivered"
else
	fail "a connection as fd 3: not delivered"
	cat "$W/swaks.log" "$W/log2"
fi

finish
