#!/bin/sh
# tcpserver.sh - mail through ucspi-tcp's tcpserver on a free loopback port,
# started as root like the example units/tcpserver.run, with a tcprules
# table that gives 127.0.0.2 relay rights (RELAYCLIENT) and nobody else:
# relay_networks is empty.  smtpd-session must become "nobody" (user =).
set -u
: "${top_srcdir:=$(dirname "$0")/..}"
. "$top_srcdir/tests/lib.sh"
need tcpserver:ucspi-tcp-ipv6 tcprules:ucspi-tcp-ipv6 swaks:swaks
need_root "the test switches users"
workdir tcpserver

maildir_bob
chown -R nobody:nogroup "$W/mail" "$W/queue" || exit 99
chmod 755 "$W"
printf 'hostname = mx.example.test\ndomains = example.test\nmail_root = %s\nqueue_dir = %s\n%s\n%s\n' \
	"$W/mail" "$W/queue" "relay_networks =" "user = nobody" >"$W/mailsock.conf"
printf '127.0.0.2:allow,RELAYCLIENT=""\n:allow\n' >"$W/tcp.smtp"
tcprules "$W/tcp.smtp.cdb" "$W/tcp.smtp.tmp" <"$W/tcp.smtp" || exit 99

# The run line of units/tcpserver.run, on the test's address and port.
run_tcpserver() {
	tcpserver -v -R -H -c 200 -x "$W/tcp.smtp.cdb" 127.0.0.1 "$PORT" \
		"$B/smtpd-session/smtpd-session" -c "$W/mailsock.conf" >"$W/tcpserver.log" 2>&1 &
	PID=$!
}
# tcpserver exits ("unable to bind") when the port was taken meanwhile.
greets() { wait_greeting "220 mx.example.test"; }
start_on_free_port run_tcpserver greets "$W/tcpserver.log"

send() {   # FROM-ADDRESS TO
	swaks --server "127.0.0.1:$PORT" --local-interface "$1" --helo client.example \
		--from alice@client.example --to "$2" --header "Subject: via tcpserver" >"$W/swaks.log" 2>&1
}
queued() { ls "$W/queue/env" 2>/dev/null | wc -l; }

if send 127.0.0.1 bob@example.test && [ "$(ls "$W/mail/example.test/bob/new" | wc -l)" -eq 1 ]; then
	ok "127.0.0.1 to a local user: delivered"
else
	fail "127.0.0.1 to a local user: not delivered"
	cat "$W/swaks.log" "$W/tcpserver.log"
fi
send 127.0.0.1 carol@remote.example
if grep -q "^<\\*\\* *554 5.7.1" "$W/swaks.log" && [ "$(queued)" -eq 0 ]; then
	ok "127.0.0.1 (no RELAYCLIENT) to a foreign domain: 554 5.7.1, nothing queued"
else
	fail "127.0.0.1 may relay"
	cat "$W/swaks.log"
fi
if send 127.0.0.2 carol@remote.example && [ "$(queued)" -eq 1 ]; then
	ok "127.0.0.2 (RELAYCLIENT from tcprules) to a foreign domain: queued"
else
	fail "127.0.0.2 could not relay"
	cat "$W/swaks.log"
fi
owners=$(stat -c %U "$W/mail/example.test/bob/new"/* "$W/queue/env"/* | sort -u | tr '\n' ' ')
[ "$owners" = "nobody " ] && ok "files written by nobody (user = nobody), none by root" ||
	fail "files owned by: $owners"
grep -h -A1 "^Received:" "$W/mail/example.test/bob/new"/* | grep -q "127.0.0.1" &&
	ok "Received: names the peer 127.0.0.1" || fail "Received: does not name 127.0.0.1"

finish
