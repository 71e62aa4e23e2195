#!/bin/sh
# xinetd.sh - mail through xinetd on a free loopback port, with the
# example service file units/xinetd.smtp (port, address, program and
# config file changed for the test).  Twice: as shipped (xinetd starts the
# session as the mail user) and started as root, where smtpd-session must
# refuse the client until mailsock.conf names a user, then become it.
set -u
: "${top_srcdir:=$(dirname "$0")/..}"
. "$top_srcdir/tests/lib.sh"
need xinetd:xinetd swaks:swaks
need_root "the test switches users"
workdir xinetd

maildir_bob
chown -R nobody:nogroup "$W/mail" "$W/queue" || exit 99
chmod 755 "$W"
# xinetd execs the server as the service's user: nobody cannot reach a build
# tree under a mode-0700 home (a clone in /root), so it runs a copy in $W.
cp "$B/smtpd-session/smtpd-session" "$W/smtpd-session" || exit 99
printf 'hostname = mx.example.test\ndomains = example.test\nmail_root = %s\nqueue_dir = %s\n' \
	"$W/mail" "$W/queue" >"$W/mailsock.conf"

# The example, pointed at the build and the test's port, run by $USER_AS.
run_xinetd() {
	sed -e "s|^\\([[:space:]]*port[[:space:]]*=\\).*|\\1 $PORT|" \
	    -e "s|^\\([[:space:]]*user[[:space:]]*=\\).*|\\1 $USER_AS|" \
	    -e "s|^\\([[:space:]]*server[[:space:]]*=\\).*|\\1 $W/smtpd-session\\
	server_args	= -c $W/mailsock.conf\\
	bind		= 127.0.0.1|" \
	    "$B/units/xinetd.smtp" >"$W/xinetd.conf" || exit 99
	grep -q "server_args" "$W/xinetd.conf" || { echo "cannot edit units/xinetd.smtp"; exit 99; }
	xinetd -f "$W/xinetd.conf" -dontfork -pidfile "$W/xinetd.pid" -stayalive >"$W/xinetd.log" 2>&1 &
	PID=$!
}

# Started by root without a user in mailsock.conf the session greets 421.
greets() { wait_greeting "220 mx.example.test" "421 4.3.0"; }

start_xinetd() {   # USER
	USER_AS=$1
	start_on_free_port run_xinetd greets "$W/xinetd.log"
}

stop_xinetd() { kill -TERM "$PID" && wait "$PID" 2>/dev/null; PID=; }

send() {
	swaks --server "127.0.0.1:$PORT" --helo client.example --from alice@client.example \
		--to bob@example.test --header "Subject: via xinetd" >"$W/swaks.log" 2>&1
}

count() { ls "$W/mail/example.test/bob/new" | wc -l; }

start_xinetd nobody
if send && [ "$(count)" -eq 1 ]; then
	ok "as shipped (xinetd's user = nobody): delivered"
else
	fail "as shipped: not delivered"
	cat "$W/swaks.log"
fi
stop_xinetd

start_xinetd root
send
if grep -q "^<\\*\\* *421 4.3.0" "$W/swaks.log" && [ "$(count)" -eq 1 ]; then
	ok "started as root, no user in mailsock.conf: 421 4.3.0, nothing delivered"
else
	fail "started as root with no user: not refused"
	cat "$W/swaks.log"
fi
# stderr is the client's socket under xinetd: the reason goes to syslog
grep -q "refusing" "$W/swaks.log" && fail "the refusal's log text reached the client" ||
	ok "the client got the 421 and no log text"
echo "user = nobody" >>"$W/mailsock.conf"
if send && [ "$(count)" -eq 2 ]; then
	ok "started as root, user = nobody: delivered"
else
	fail "started as root with user = nobody: not delivered"
	cat "$W/swaks.log"
fi
stop_xinetd

owners=$(stat -c %U "$W/mail/example.test/bob/new"/* | sort -u | tr '\n' ' ')
[ "$owners" = "nobody " ] && ok "every message written by nobody, none by root" ||
	fail "message files owned by: $owners"
grep -h -A1 "^Received:" "$W/mail/example.test/bob/new"/* | grep -q "127.0.0.1" &&
	ok "Received: names the peer 127.0.0.1 (getpeername under xinetd)" ||
	fail "Received: does not name 127.0.0.1"

finish
