#!/bin/sh
# nspawn.sh - the units under a real systemd.
#
# Boots this machine's own root in systemd-nspawn (a throw-away tmpfs
# overlay, a private network, only test.target started) with the built
# units and programs bind-mounted where "make install" puts them, then:
#   - both ways in turn (smtpd-session.socket, Accept=yes; smtpd.socket +
#     smtpd.service, Accept=no): mail sent with swaks to port 25 lands in
#     the Maildir; the journal has SESSION_ID= and PEER=; Accept=yes makes
#     one smtpd-session@....service per connection, the fast way none; an
#     IPv6 client (::1) on the same dual-stack socket has PEER=::1;
#   - a burst of NSPAWN_BURST (1000) messages through each socket: all
#     delivered, the socket never fails;
#   - 120 connections held at once from six addresses: all greeted with
#     220 below the caps; five more from one address above the per-source
#     cap are refused (closed by systemd, "421 4.7.0" in the fast way);
#   - smtp-relay.path starts smtp-relay.service when mail is queued, and
#     smtp-relay.timer starts it again; with a real smtp-relay, a message
#     deferred while the receiving server is down is delivered by a later
#     run, and a new one by the path unit's run (skipped for a stub);
#   - local submission as installed: mailsock-postdrop setgid mailsock-drop
#     (the group from sysusers.d), "sendmail -t" by nobody with "To: root":
#     smtp-relay.path starts the run that picks it up, as the mail user in
#     its sandbox, into the postmaster's Maildir with nobody's uid.
# Exit 77 ("SKIP: reason") where nspawn cannot run here, or when a part was
# skipped ("SKIP (part): reason") and nothing failed; under CI=true a skip
# fails (tests/lib.sh).
set -u
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"
BURST=${NSPAWN_BURST:-1000}

. "$top_srcdir/tests/lib.sh"
need_root "systemd-nspawn"
need systemd-nspawn:systemd-container unshare:util-linux nsenter:util-linux swaks:swaks pgrep:procps

B=$(cd "$top_builddir" && pwd)
S=$(cd "$top_srcdir" && pwd)
W=$(mktemp -d /tmp/mailsock-nspawn.XXXXXX) || exit 99

# ---- the container ---------------------------------------------------------

. "$S/tests/nspawn-lib.sh"
trap nspawn_cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
nspawn_paths
# make distcheck configures a throw-away prefix inside its build tree: under
# /tmp, which the units' own PrivateTmp= hides from the services, or under
# /root for a clone in root's home, which ProtectHome= hides and whose mode
# 0700 keeps the mail user out.  The units are tested as configured for a
# real prefix, in the ordinary make check.
case $SESSION_BIN in
/tmp/* | /var/tmp/*) skip "units configured for a temporary prefix ($SESSION_BIN), hidden by PrivateTmp=" ;;
/root/* | /home/* | /run/user/*) skip "units configured for a prefix in a home directory ($SESSION_BIN), hidden by ProtectHome=" ;;
esac
mkdir -p "$W/etc/timer.d" || exit 99
printf '%s\n' "hostname = mx.example.test" "domains = example.test" \
	"max_connections = 200" "max_connections_per_source = 20" >"$W/etc/mailsock.conf"
# Retry runs every second instead of every five minutes.
printf '%s\n' "[Timer]" "OnBootSec=" "OnActiveSec=1s" "OnUnitInactiveSec=1s" "AccuracySec=10ms" \
	>"$W/etc/timer.d/test.conf"

if ! nspawn_boot --bind-ro="$W/etc/timer.d:/etc/systemd/system/smtp-relay.timer.d"; then
	tail -5 "$W/boot.log"
	skip "systemd-nspawn could not boot a container here (log above)"
fi
ok "booted systemd in nspawn"
nspawn_mail_user || { echo "cannot set up the mail user"; exit 99; }
ok "sysusers.d and tmpfiles.d snippets applied"

# ---- helpers -----------------------------------------------------------------

MAILDIR=$ROOT/var/mail/mailsock/example.test/bob/new
delivered() { ls "$MAILDIR" | wc -l; }

send() {   # TO [HELO]: one message with swaks inside the container's network
	$N swaks --server 127.0.0.1:25 --helo "${2:-client.example}" --from alice@client.example \
		--to "$1" --header "Subject: nspawn test" >"$W/swaks.log" 2>&1
}

journal() { $E journalctl --no-pager -q "$@"; }

# Sessions that said HELO/EHLO $1: lines "UNIT SESSION_ID PEER", from the
# journal's structured fields of their connect events.
sessions_of() {
	$E journalctl --sync 2>/dev/null
	journal -o json EVENT=connect + EVENT=helo \
		--output-fields=_SYSTEMD_UNIT,SESSION_ID,PEER,EVENT,NAME |
	"$PYTHON3" -c 'import json, sys
connect, helo = {}, set()
for line in sys.stdin:
    e = json.loads(line)
    sid = e.get("SESSION_ID")
    if e.get("EVENT") == "helo" and e.get("NAME") == sys.argv[1]:
        helo.add(sid)
    elif e.get("EVENT") == "connect" and sid:
        connect[sid] = (e.get("_SYSTEMD_UNIT", "-"), e.get("PEER", "-"))
for sid in sorted(helo):
    unit, peer = connect.get(sid, ("-", "-"))
    print(unit, sid, peer)' "$1"
}

# Units systemd started whose name begins with $1 (its "Started" messages;
# a session's own journal entries may lack _SYSTEMD_UNIT= when the process
# is gone before journald looks at it).
units_started() {
	journal MESSAGE_ID=39f53479d3a045ac8e11786248231fbf -o cat | grep -c "^Started $1"
}

check_mail() {   # WAY HELO: three messages by swaks, one session each
	way=$1
	helo=$2
	before=$(delivered)
	units_before=$(units_started smtpd-session@)
	for _ in 1 2 3; do send bob@example.test "$helo" || { fail "$way: swaks:"; cat "$W/swaks.log"; }; done
	after=$(delivered)
	[ $((after - before)) -eq 3 ] && ok "$way: 3 messages by swaks in the Maildir" ||
		fail "$way: $((after - before)) of 3 messages in the Maildir"
	new_units=$(($(units_started smtpd-session@) - units_before))
	sessions_of "$helo" >"$W/connects"
	sessions=$(awk '$3 == "127.0.0.1"' "$W/connects" | sort -u -k2,2 | wc -l)
	[ "$sessions" -eq 3 ] && ok "$way: journal: SESSION_ID= and PEER=127.0.0.1 for each session" ||
		{ fail "$way: journal: $sessions sessions with SESSION_ID= and PEER= (want 3):"; cat "$W/connects"; }
	# IPv6 on the same (dual-stack) socket: smtplib to [::1]:25
	$N "$PYTHON3" -c 'import smtplib, sys
with smtplib.SMTP("::1", 25, local_hostname=sys.argv[1], timeout=30) as c:
    c.sendmail("alice@client.example", ["bob@example.test"], "Subject: v6\r\n\r\nv6\r\n")' \
		"v6.$helo" >"$W/v6.log" 2>&1 || { fail "$way: IPv6:"; cat "$W/v6.log"; }
	[ "$(delivered)" -eq $((after + 1)) ] && [ "$(sessions_of "v6.$helo" | awk '{print $3}')" = "::1" ] &&
		ok "$way: IPv6 client ::1 delivered, PEER=::1" ||
		{ fail "$way: IPv6: not delivered or PEER not ::1:"; sessions_of "v6.$helo"; }
}

burst() {   # WAY UNIT: NSPAWN_BURST messages, 10 at a time
	before=$(delivered)
	out=$($N "$PYTHON3" "$S/tests/smtp_clients.py" burst "$BURST" 10 bob@example.test)
	rc=$?
	after=$(delivered)
	[ "$rc" -eq 0 ] && [ $((after - before)) -eq "$BURST" ] && ok "$1: burst: $out; all $BURST in the Maildir" ||
		fail "$1: burst: $out; $((after - before)) of $BURST in the Maildir"
	st=$($E systemctl is-active "$2")
	[ "$st" = active ] && ok "$1: $2 still active after the burst" || fail "$1: $2 is $st after the burst"
}

hold() {   # WAY REFUSED: 120 connections at once from six addresses, 5 above the cap
	out=$($N "$PYTHON3" "$S/tests/smtp_clients.py" hold 25 \
		127.0.0.2:20 127.0.0.3:20 127.0.0.4:20 127.0.0.5:20 127.0.0.6:20 127.0.0.7:25)
	case " $out " in
	*" 220=120 $2=5 "* | *" $2=5 220=120 "*)
		ok "$1: 125 at once from 6 addresses: $out (5 above the per-source cap refused)" ;;
	*)	fail "$1: 125 at once from 6 addresses: $out (want 220=120 $2=5)" ;;
	esac
}

# ---- Accept=yes: a unit per connection -------------------------------------

$E systemctl start smtpd-session.socket || fail "start smtpd-session.socket"
check_mail "Accept=yes" accept-yes.client.example
[ "$new_units" -eq 3 ] && ok "Accept=yes: one smtpd-session@....service per connection (3)" ||
	fail "Accept=yes: $new_units smtpd-session@ units started for 3 connections"
others=$(awk '$1 != "-" && $1 !~ /^smtpd-session@.*\.service$/' "$W/connects" | wc -l)
[ "$others" -eq 0 ] || { fail "Accept=yes: sessions outside smtpd-session@ units:"; cat "$W/connects"; }
burst "Accept=yes" smtpd-session.socket
hold "Accept=yes" closed

# ---- Accept=no: the fast way -----------------------------------------------

$E systemctl start smtpd.socket || fail "start smtpd.socket"
st=$($E systemctl is-active smtpd-session.socket)
[ "$st" = inactive ] && ok "smtpd.socket stopped smtpd-session.socket (Conflicts=)" ||
	fail "smtpd-session.socket is $st after starting smtpd.socket"
check_mail "Accept=no" accept-no.client.example
others=$(awk '$1 != "-" && $1 != "smtpd.service"' "$W/connects" | wc -l)
[ "$others" -eq 0 ] && [ "$new_units" -eq 0 ] && ok "Accept=no: every session in smtpd.service, no new units" ||
	{ fail "Accept=no: $new_units new units; sessions outside smtpd.service:"; cat "$W/connects"; }
main_pid=$($E systemctl show -P MainPID smtpd.service)
burst "Accept=no" smtpd.socket
st=$($E systemctl is-active smtpd.service)
[ "$st" = active ] && [ "$($E systemctl show -P MainPID smtpd.service)" = "$main_pid" ] &&
	ok "Accept=no: smtpd.service still the same process after the burst" ||
	fail "Accept=no: smtpd.service is $st, main PID $main_pid then $($E systemctl show -P MainPID smtpd.service)"
hold "Accept=no" 421
journal -u smtpd.service EVENT=refused -o cat | grep -q "Too many connections from your address" &&
	ok "Accept=no: refusals logged" || fail "Accept=no: no event=refused in the journal"

# ---- smtp-relay.path and smtp-relay.timer ---------------------------------
# With a real smtp-relay: DNS (dnsmasq) in the container's network gives
# remote.example an MX at 127.0.0.2, where a second smtpd-session receives
# on port 2525 (smtp_port; port 25 is the container's own server on every
# address) under systemd-socket-activate, not up at first.  A message queued then is
# deferred by the run smtp-relay.path starts, delivered by a later run
# once the receiver is up (the timer's), and a second one is delivered by
# the run the path unit starts.  With the stub: only the triggering.

RELAY_REAL=yes
"$B/smtp-relay/smtp-relay" -V </dev/null 2>&1 | grep -q "not implemented" && RELAY_REAL=
[ -n "$RELAY_REAL" ] && ! command -v dnsmasq >/dev/null 2>&1 && ! [ -x /usr/sbin/dnsmasq ] && RELAY_REAL=nodns
RECV=$W/recv
received() { ls "$RECV/mail/remote.example/someone/new" 2>/dev/null | wc -l; }
queue_len() { ls "$ROOT/var/spool/mailsock/env" | wc -l; }
# the envelopes' "attempts N" (doc/queue.md: runs that left the entry deferred)
attempts() { cat "$ROOT"/var/spool/mailsock/env/* 2>/dev/null | sed -n 's/^attempts //p' | tr '\n' ' '; }
wait_for() {   # SECONDS COMMAND...: until the command succeeds
	t=$(($1 * 10))
	shift
	while [ "$t" -gt 0 ]; do "$@" && return 0; t=$((t - 1)); sleep 0.1; done
	return 1
}

relay_setup() {
	PATH=$PATH:/usr/sbin
	$N dnsmasq --keep-in-foreground --no-resolv --no-hosts --port=53 --user=root \
		--listen-address=127.0.0.1 --bind-interfaces \
		--mx-host=remote.example,mx.remote.example,10 \
		--host-record=mx.remote.example,127.0.0.2 >"$W/dnsmasq.log" 2>&1 &
	PIDS="$PIDS $!"
	# the MX at 127.0.0.2 is another server, not this host (mailsock.conf(5))
	printf '%s\n' "nameservers = 127.0.0.1" "smtp_port = 2525" "retry_min = 1s" "retry_max = 1s" \
		"allow_loopback_mx = yes" >>"$W/etc/mailsock.conf"
	mkdir -p "$RECV/mail/remote.example/someone/tmp" "$RECV/mail/remote.example/someone/new" \
		"$RECV/mail/remote.example/someone/cur" "$RECV/queue" &&
	chown -R nobody:nogroup "$RECV" && chmod 755 "$W" || exit 99
	printf '%s\n' "hostname = mx.remote.example" "domains = remote.example" \
		"mail_root = $RECV/mail" "queue_dir = $RECV/queue" "user = nobody" >"$RECV/mailsock.conf"
}

receiver_up() {
	$N systemd-socket-activate --accept --inetd -l 127.0.0.2:2525 \
		"$B/smtpd-session/smtpd-session" -c "$RECV/mailsock.conf" >"$W/recv.log" 2>&1 &
	PIDS="$PIDS $!"
	wait_for 5 $N "$PYTHON3" -c 'import socket; socket.create_connection(("127.0.0.2", 2525), 1).close()'
}

relay_idle() { [ "$($E systemctl is-active smtp-relay.service)" != activating ]; }
relay_starts() { journal -u smtp-relay.service -o cat | grep -c "^Start.*smtp-relay.service"; }
relay_started_since() { [ "$(relay_starts)" -ge $(($1 + 1)) ]; }
delivered_remote() { [ "$(received)" -ge "$1" ] && [ "$(queue_len)" -eq 0 ]; }

[ "$RELAY_REAL" = yes ] && relay_setup
$E systemctl start smtp-relay.path || fail "start smtp-relay.path"
send someone@remote.example || { fail "queueing a relayed message:"; cat "$W/swaks.log"; }
[ "$(queue_len)" -ge 1 ] && ok "a message for a foreign domain is in the queue" || fail "nothing queued"
if wait_for 5 relay_started_since 0; then
	ok "smtp-relay.path started smtp-relay.service"
else
	fail "smtp-relay.path did not start smtp-relay.service"
fi
n=$(relay_starts)
if [ "$RELAY_REAL" = yes ]; then
	# The run the path unit started must have finished and deferred the
	# entry (attempts 1 or more; at most one per run): a relay that did
	# nothing would also leave it queued.
	idle=no
	wait_for 10 relay_idle && idle=yes
	a=$(attempts)
	if [ "$idle" = yes ] && [ "$(queue_len)" -eq 1 ] && [ "$(received)" -eq 0 ] &&
	   [ "${a% }" -ge 1 ] 2>/dev/null && [ "${a% }" -le "$(relay_starts)" ]; then
		ok "relay: no receiver yet: the message stays queued, deferred (attempts ${a% })"
	else
		fail "relay: receiver down: run finished $idle, queue $(queue_len), received $(received)," \
			"attempts '${a% }' (want 1 to $(relay_starts), the runs so far)"
		journal -u smtp-relay.service -o cat | tail -10
	fi
	receiver_up || fail "the receiving smtpd-session does not listen on 127.0.0.2:2525"
fi
$E systemctl reset-failed smtp-relay.service 2>/dev/null
$E systemctl start smtp-relay.timer || fail "start smtp-relay.timer"
if wait_for 10 relay_started_since $((n + 1)); then
	ok "smtp-relay.timer started runs again"
else
	fail "smtp-relay.timer: $(($(relay_starts) - n)) runs, want 2"
fi
if [ "$RELAY_REAL" = yes ]; then
	wait_for 10 delivered_remote 1 &&
		ok "relay: the deferred message delivered by a later run (timer) through the test DNS" ||
		{ fail "relay: deferred message not delivered (queue $(queue_len), received $(received))"
		  journal -u smtp-relay.service -o cat | tail -20; }
fi
$E systemctl stop smtp-relay.timer
if [ "$RELAY_REAL" = yes ]; then
	# a run still going would deliver the new message without a new start
	wait_for 20 relay_idle
	n=$(relay_starts)
	send someone@remote.example || { fail "queueing a relayed message:"; cat "$W/swaks.log"; }
	wait_for 20 delivered_remote 2 && wait_for 5 relay_started_since "$n" &&
		ok "relay: a new message delivered by the run smtp-relay.path started" ||
		fail "relay: new message not delivered by the path unit's run (queue $(queue_len), received $(received))"
elif [ "$RELAY_REAL" = nodns ]; then
	skip_part "delivery through smtp-relay: dnsmasq not found (Debian package dnsmasq-base)"
else
	skip_part "delivery through smtp-relay to a receiving server: smtp-relay is a stub"
fi

# ---- local submission: sendmail as a plain user --------------------------------
# make install as root does this when the group exists (sysusers.d made it).
POSTDROP_BIN=${RELAY_BIN%/smtp-relay}/mailsock-postdrop
PM=$ROOT/var/mail/mailsock/example.test/postmaster/new
postmaster_mail() { [ "$(ls "$PM" 2>/dev/null | wc -l)" -ge "$1" ]; }
wait_for 20 relay_idle
if ! $E install -m 2755 -g mailsock-drop "$B/sendmail/mailsock-postdrop" "$POSTDROP_BIN"; then
	fail "cannot install mailsock-postdrop setgid mailsock-drop"
elif printf 'To: root\nSubject: from cron\n\nhi\n' | $E setpriv --reuid=nobody --regid=nogroup \
	--clear-groups -- "$B/sendmail/mailsock-sendmail" -t; then
	if wait_for 20 postmaster_mail 1; then
		grep -q "^Received: by mx.example.test (mailsock-sendmail, from user nobody uid 65534)" \
			"$PM"/* && ok "sendmail -t by nobody: in the postmaster's Maildir, by the path unit's run" ||
			fail "sendmail: no Received naming nobody: $(cat "$PM"/*)"
	else
		fail "sendmail: not picked up (maildrop: $(ls "$ROOT/var/spool/mailsock/maildrop"))"
		journal -u smtp-relay.service -o cat | tail -10
	fi
else
	fail "sendmail -t as nobody failed"
fi
$E systemctl stop smtp-relay.path

[ "$failures" -eq 0 ] && [ "$skipped_parts" -eq 0 ] && echo "all checks passed"
finish
