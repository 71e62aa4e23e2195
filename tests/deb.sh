#!/bin/sh
# deb.sh - the Debian package: built, checked by lintian, installed, used and
# purged under a real systemd.  Run by .ci/run after the test suite, not by
# make check (it builds the package: a minute or more).
#
#   sudo tests/deb.sh
#
# - dpkg-buildpackage -us -uc -b in a copy of the tree under /tmp (the
#   checkout stays as it was); lintian finds no error and no warning;
# - in this machine's own root booted with systemd-nspawn under a
#   throw-away overlay (the host is not touched), with no policy-rc.d (a
#   user's machine) and /etc/mailname set: apt-get install ./mailsock_*.deb
#   (which removes another MTA, e.g. postfix) makes the mailsock user
#   and directories, enables smtpd.socket, smtp-relay.timer and
#   smtp-relay.path (smtpd-session.socket installed, disabled), writes
#   /etc/mailsock.conf with the host's names (not a conffile); a message sent
#   with swaks to 127.0.0.1:25 lands in the postmaster Maildir; dpkg -i of
#   the same package (an upgrade) keeps the administrator's change to
#   mailsock.conf and the units running; "rm /etc/mailsock.conf &&
#   dpkg-reconfigure mailsock" writes it afresh;
# - when the package has mailsock-sendmail: /usr/sbin/sendmail and mailq are
#   it, and a plain user's "sendmail -t" to root and root@MAILNAME lands in
#   postmaster's Maildir through the package's /etc/mailsock/aliases;
# - apt-get purge: no mailsock unit active, nothing listens on port 25, the
#   Maildir and its message are still there, /etc/mailsock.conf is gone.
# Prints "ok:"/"FAIL:" lines and "N passed, N failed".  Exit 77 ("SKIP:")
# when a tool is missing or nspawn cannot run here; under CI=true a skip
# fails (tests/lib.sh).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
MAILNAME=deb.mailsock.test

. "$top/tests/lib.sh"
need_root "systemd-nspawn and the install in the container"
need dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian gcc:build-essential \
	systemd-nspawn:systemd-container unshare:util-linux nsenter:util-linux \
	swaks:swaks pgrep:procps

W=$(mktemp -d /tmp/mailsock-deb.XXXXXX) || exit 99
passed=0
ok() { echo "ok: $*"; passed=$((passed + 1)); }
# The closing line, then lib.sh's exit status.
report() {
	echo "$passed passed, $failures failed"
	finish
}

. "$top/tests/nspawn-lib.sh"
trap nspawn_cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# ---- build -------------------------------------------------------------------

# The files git knows of (committed or not, minus the ignored build trees),
# else the whole tree without them.
mkdir -p "$W/pkg/src" || exit 99
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf -) | tar -xf - -C "$W/pkg/src"
else
	tar -C "$top" --exclude=./.git --exclude='./build*' --exclude=./run -cf - . |
		tar -xf - -C "$W/pkg/src"
fi || exit 99
if (cd "$W/pkg/src" && env -u DEB_BUILD_OPTIONS dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b built $(cd "$W/pkg" && echo mailsock_*.deb)"
else
	tail -30 "$W/build.log"
	fail "dpkg-buildpackage failed (log above)"
	report
fi
DEB=$(echo "$W"/pkg/mailsock_*.deb)
grep -q 'dh_auto_test' "$W/build.log" && grep -q '^# FAIL: *0$' "$W/build.log" &&
	ok "the package build ran the unit tests and seed replays: $(sed -n 's/^# PASS: *//p' "$W/build.log") passed" ||
	fail "no unit tests in the package build"

# lintian as root only adds a note; its tags are the same.
if lintian -I --fail-on error,warning "$W"/pkg/mailsock_*.changes >"$W/lintian.log" 2>&1; then
	ok "lintian: no error, no warning ($(grep -c '^[IP]:' "$W/lintian.log") info/pedantic tags)"
else
	cat "$W/lintian.log"
	fail "lintian found errors or warnings (above)"
fi
grep '^[IP]:' "$W/lintian.log"

contents=$(dpkg-deb -c "$DEB")
has() { printf '%s\n' "$contents" | grep -q " \./$1\( ->\|$\)"; }
missing=
for f in usr/sbin/smtpd-session usr/sbin/smtp-relay lib/systemd/system/smtpd.socket \
	 usr/lib/sysusers.d/mailsock.conf usr/lib/tmpfiles.d/mailsock.conf \
	 usr/share/mailsock/mailsock.conf.sample usr/share/man/man8/smtpd-session.8.gz; do
	has "$f" || missing="$missing /$f"
done
[ -z "$missing" ] && ok "the package has the programs, units, sysusers.d, tmpfiles.d, sample, man pages" ||
	fail "the package lacks$missing"
has etc/mailsock.conf && fail "/etc/mailsock.conf is in the package: dpkg would own it"
SENDMAIL=no
has usr/sbin/mailsock-sendmail && SENDMAIL=yes
for p in Provides Conflicts Replaces; do
	[ "$(dpkg-deb -f "$DEB" "$p")" = mail-transport-agent ] &&
		ok "$p: mail-transport-agent" || fail "$p: '$(dpkg-deb -f "$DEB" "$p")', not mail-transport-agent"
done

# ---- install in a container ------------------------------------------------

if ! nspawn_start --bind-ro="$W/pkg:/mnt/mailsock-deb"; then
	tail -5 "$W/boot.log"
	skip "systemd-nspawn could not boot a container here (log above)"
fi
# Everything below changes the container's root: make sure it is the
# throw-away overlay, not this machine.
[ "$($E findmnt -n -o FSTYPE /)" = overlay ] || { echo "the container's / is not an overlay: stop"; exit 99; }
ok "booted this machine's root under systemd-nspawn --volatile=overlay"

IN="$E env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8"
# A user's machine: no policy-rc.d, no mailsock user or directories yet,
# the mail name set.  (This machine may have them from earlier tries.)
$IN sh -c "rm -f /usr/sbin/policy-rc.d
	if getent passwd mailsock >/dev/null; then userdel mailsock; fi
	if getent group mailsock >/dev/null; then groupdel mailsock; fi
	rm -rf /var/mail/mailsock /var/spool/mailsock /etc/mailsock.conf
	echo $MAILNAME >/etc/mailname" || exit 99

# As the README says: apt installs it, and removes the MTA it replaces (this
# machine may have postfix: .ci/run installs it; dpkg -i alone would refuse).
if $IN apt-get install -y --no-install-recommends "/mnt/mailsock-deb/${DEB##*/}" \
	</dev/null >"$W/install.log" 2>&1; then
	ok "apt-get install ./${DEB##*/} in the container"
else
	cat "$W/install.log"
	fail "apt-get install failed (above)"
	report
fi
sed -n '/REMOVED/,/^[0-9]/p' "$W/install.log" | sed 's/^/  apt: /'

$IN getent passwd mailsock >/dev/null && ok "the mailsock user exists (sysusers.d)" ||
	fail "no mailsock user after install"
owners=$($IN stat -c %U /var/mail/mailsock /var/spool/mailsock/env 2>&1 | tr '\n' ' ')
[ "$owners" = "mailsock mailsock " ] && ok "/var/mail/mailsock and the queue made, owned by mailsock (tmpfiles.d)" ||
	fail "owners of /var/mail/mailsock /var/spool/mailsock/env: $owners"

state=$($IN systemctl is-enabled smtpd.socket smtp-relay.timer smtp-relay.path | tr '\n' ' ')
[ "$state" = "enabled enabled enabled " ] && ok "enabled: smtpd.socket smtp-relay.timer smtp-relay.path" ||
	fail "is-enabled smtpd.socket smtp-relay.timer smtp-relay.path: $state"
state=$($IN systemctl is-active smtpd.socket smtp-relay.timer smtp-relay.path | tr '\n' ' ')
[ "$state" = "active active active " ] && ok "started on install: smtpd.socket, the timer, the path unit" ||
	fail "is-active smtpd.socket smtp-relay.timer smtp-relay.path: $state"
state=$($IN systemctl is-enabled smtpd-session.socket)
[ "$state" = disabled ] && [ -e "$ROOT/lib/systemd/system/smtpd-session.socket" ] &&
	ok "smtpd-session.socket installed, disabled" || fail "smtpd-session.socket: '$state'"

conf=$ROOT/etc/mailsock.conf
fqdn=$($IN hostname --fqdn 2>/dev/null)
if grep -qx "domains = $MAILNAME .*" "$conf" && grep -qx "hostname = .*[a-z]" "$conf"; then
	ok "mailsock.conf from the host: $(grep -E '^(hostname|domains) ' "$conf" | tr '\n' ' ')(hostname --fqdn: $fqdn)"
else
	fail "mailsock.conf without the host's names:"; grep -Ev '^(#|$)' "$conf"
fi
$IN dpkg-query -W -f='${Conffiles}' mailsock | grep -q mailsock.conf &&
	fail "/etc/mailsock.conf is a dpkg conffile" || ok "/etc/mailsock.conf is not a conffile"

# ---- mail ----------------------------------------------------------------------

MAILDIR=$ROOT/var/mail/mailsock/$MAILNAME/postmaster/new
$N swaks --server 127.0.0.1:25 --from someone@client.example --to "postmaster@$MAILNAME" \
	--header "Subject: deb test" >"$W/swaks.log" 2>&1
n=$(ls "$MAILDIR" 2>/dev/null | wc -l)
if [ "$n" -eq 1 ] && grep -q '^Subject: deb test' "$MAILDIR"/*; then
	ok "swaks to 127.0.0.1:25: delivered to postmaster@$MAILNAME"
else
	cat "$W/swaks.log"; $IN journalctl --no-pager -q -n 20
	fail "swaks to postmaster@$MAILNAME: $n messages in $MAILDIR"
fi
grep -q "^<-  220 $(sed -n 's/^hostname = //p' "$conf") " "$W/swaks.log" &&
	ok "the greeting names the configured host name" || fail "greeting: $(grep '^<-  220' "$W/swaks.log")"

if [ "$SENDMAIL" = yes ]; then
	links=$($IN readlink -f /usr/sbin/sendmail /usr/bin/mailq | tr '\n' ' ')
	[ "$links" = "/usr/sbin/mailsock-sendmail /usr/sbin/mailsock-sendmail " ] &&
		ok "/usr/sbin/sendmail and /usr/bin/mailq are mailsock-sendmail" ||
		fail "sendmail, mailq lead to: $links (debian/mailsock.links)"
	$IN useradd -m debtest && $IN runuser -u debtest -- sh -c \
		"printf 'To: root\nSubject: from sendmail\n\nhi\n' | /usr/sbin/sendmail -t" &&
		ok "a plain user's sendmail -t to root exits 0" || fail "sendmail -t as a plain user"
	# root is an alias of postmaster in the package's aliases; root@MAILNAME
	# (no bare-name fallback) lands there only through that alias.  The
	# user's own copies, not a DSN (Return-Path: <>) carrying their headers.
	$IN runuser -u debtest -- sh -c \
		"printf 'To: root@$MAILNAME\nSubject: from sendmail 2\n\nhi\n' | /usr/sbin/sendmail -t" ||
		fail "sendmail -t to root@$MAILNAME as a plain user"
	for i in $(seq 60); do
		got=$(grep -L '^Return-Path: <>$' "$MAILDIR"/* 2>/dev/null |
			xargs -r grep -h '^Subject: from sendmail' | sort | tr '\n' ' ')
		[ "$got" = "Subject: from sendmail Subject: from sendmail 2 " ] && break
		sleep 1
	done
	[ "$got" = "Subject: from sendmail Subject: from sendmail 2 " ] &&
		ok "sendmail to root and root@$MAILNAME: in postmaster's Maildir (the alias)" ||
		{ $IN journalctl --no-pager -q -n 20; fail "sendmail to root: postmaster's Maildir has: $got"; }
	$IN dpkg-query -W -f='${Conffiles}' mailsock | grep -q ' /etc/mailsock/aliases ' &&
		grep -qx 'aliases = /etc/mailsock/aliases' "$conf" &&
		ok "/etc/mailsock/aliases is a conffile, named by mailsock.conf" ||
		fail "/etc/mailsock/aliases: not a conffile, or not in mailsock.conf"
else
	echo "note: the package has no mailsock-sendmail yet: sendmail(1) not checked"
fi

# ---- the administrator's file survives an upgrade ----------------------------

echo "log_level = debug" >>"$conf"
if $IN dpkg -i "/mnt/mailsock-deb/${DEB##*/}" </dev/null >"$W/reinstall.log" 2>&1 &&
	grep -qx "log_level = debug" "$conf"; then
	ok "installed again: the change to mailsock.conf kept, no question asked"
else
	cat "$W/reinstall.log"; fail "installed again: mailsock.conf changed or dpkg failed"
fi
state=$($IN systemctl is-active smtpd.socket smtp-relay.timer smtp-relay.path | tr '\n' ' ')
[ "$state" = "active active active " ] && ok "after the upgrade: smtpd.socket, the timer, the path unit active" ||
	fail "after the upgrade: is-active $state"

# The way the README gives to have it written afresh.
if $IN rm /etc/mailsock.conf && $IN dpkg-reconfigure mailsock </dev/null >"$W/reconf.log" 2>&1 &&
	grep -qx "domains = $MAILNAME .*" "$conf" && ! grep -qx "log_level = debug" "$conf"; then
	ok "rm /etc/mailsock.conf && dpkg-reconfigure mailsock: written afresh"
else
	cat "$W/reconf.log"; fail "dpkg-reconfigure did not write /etc/mailsock.conf afresh"
fi

# ---- purge ---------------------------------------------------------------------

if $IN apt-get purge -y mailsock </dev/null >"$W/purge.log" 2>&1; then
	ok "apt-get purge -y mailsock"
else
	cat "$W/purge.log"; fail "apt-get purge failed (above)"
fi
active=$($IN systemctl list-units --no-legend --plain --state=active,activating,reloading \
	'smtpd*' 'smtp-relay*' | awk '{print $1}' | tr '\n' ' ')
[ -z "$active" ] && ok "purged: no mailsock unit active" || fail "purged, still active: $active"
if $N swaks --server 127.0.0.1:25 --quit-after connect >"$W/swaks2.log" 2>&1; then
	fail "purged, port 25 still answers: $(grep '^<-' "$W/swaks2.log")"
else
	ok "purged: nothing listens on port 25"
fi
n=$(ls "$MAILDIR" 2>/dev/null | wc -l)
want=1
[ "$SENDMAIL" = yes ] && want=3          # sendmail's two to root are there too
[ "$n" -eq "$want" ] && ok "purged: the delivered messages are still in the Maildir" ||
	fail "purged: $n messages left in $MAILDIR"
[ -d "$ROOT/var/spool/mailsock/env" ] && ok "purged: the queue directory is still there" ||
	fail "purged: the queue directory is gone"
[ ! -e "$conf" ] && ok "purged: /etc/mailsock.conf removed" || fail "purged: /etc/mailsock.conf left"

report
