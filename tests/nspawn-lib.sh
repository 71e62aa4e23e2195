# nspawn-lib.sh - boot this machine's own root in systemd-nspawn with the
# built units and programs bind-mounted where "make install" puts them
# (nspawn_boot), or as it is (nspawn_start: tests/deb.sh installs the
# package there).  Sourced by tests/nspawn.sh, tests/deb.sh and
# scripts/unit-cost.sh.
#
# The caller sets B (the build directory) and W (an empty work directory),
# writes $W/etc/mailsock.conf, calls nspawn_paths, traps nspawn_cleanup on
# EXIT, then nspawn_boot [--bind-ro=...]...  Afterwards:
#   E="nsenter ... " runs a command inside (systemctl, journalctl, ...),
#   N="nsenter -t PID -n" runs a command in the container's network only,
#   ROOT is the container's root seen from outside, CG its cgroups.

NS= L= CG=
PIDS=          # the caller's own processes inside the container's network

# Install paths, read from the built units and the program's -h.
nspawn_paths() {
	SESSION_BIN=$(sed -n 's|^ExecStart=\([^ ]*/smtpd-session\).*|\1|p' "$B/units/smtpd.service")
	RELAY_BIN=$(sed -n 's|^ExecStart=\([^ ]*/smtp-relay\).*|\1|p' "$B/units/smtp-relay.service")
	CONF=$("$B/smtpd-session/smtpd-session" -h | sed -n 's/.*(default \(.*\))$/\1/p')
	[ -n "$SESSION_BIN" ] && [ -n "$RELAY_BIN" ] && [ -n "$CONF" ] || {
		echo "cannot read the install paths from $B/units"
		exit 99
	}
}

# nspawn --keep-unit makes payload/ and supervisor/ cgroups under its own
# cgroup: give it one of ours (per hierarchy), removed afterwards.
nspawn_cgroups() {
	for h in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[ -e "$h/cgroup.procs" ] || continue
		case $h in
		*/systemd) rel=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/self/cgroup) ;;
		*) rel=$(sed -n 's/^0:://p' /proc/self/cgroup) ;;
		esac
		[ -n "$rel" ] && echo "$h${rel%/}/mailsock-nspawn-$$"
	done
}

nspawn_cleanup() {
	for pid in $PIDS; do
		kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ -n "$NS" ] && kill -0 "$NS" 2>/dev/null; then
		kill -TERM "$NS" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$NS" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$NS" 2>/dev/null
	fi
	[ -n "$NS" ] && wait "$NS" 2>/dev/null
	for cg in $CG; do
		[ -d "$cg" ] && find "$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$W"
}

# Boot (only test.target: the journal) with the built units, programs and
# $W/etc/mailsock.conf where "make install" puts them, and wait until it
# runs.  Returns 1 when nspawn cannot boot here ($W/boot.log says why).
nspawn_boot() {
	nspawn_start \
		--bind-ro="$B/units:/usr/local/lib/systemd/system" \
		--bind-ro="$W/etc/mailsock.conf:$CONF" \
		--bind-ro="$B/smtpd-session/smtpd-session:$SESSION_BIN" \
		--bind-ro="$B/smtp-relay/smtp-relay:$RELAY_BIN" \
		"$@"
}

# Boot this machine's root as it is (only test.target), with the nspawn
# options given, and wait until it runs.  Returns 1 when nspawn cannot boot
# here ($W/boot.log says why).
nspawn_start() {
	mkdir -p "$W/root" "$W/etc" || exit 99
	printf '[Unit]\nDescription=mailsock test: the journal only\n%s\n' \
		"Wants=systemd-journald.socket systemd-journald.service" >"$W/etc/test.target"
	CG=$(nspawn_cgroups)
	unshare -m sh -c '
		W=$1 CG=$2
		shift 2
		for cg in $CG; do mkdir -p "$cg" && echo 0 >"$cg/cgroup.procs"; done
		mount --make-rprivate / && mount --bind / "$W/root" &&
		exec systemd-nspawn -q -D "$W/root" --volatile=overlay --boot \
			--register=no --keep-unit --private-network --console=pipe -M "mailsock$$" \
			--bind-ro="$W/etc/test.target:/etc/systemd/system/test.target" \
			"$@" systemd.unit=test.target' \
		sh "$W" "$CG" "$@" \
		</dev/null >"$W/boot.log" 2>&1 &
	NS=$!
	for _ in $(seq 100); do
		L=$(pgrep -P "$NS" -x systemd) && break
		kill -0 "$NS" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$L" ] || return 1
	E="nsenter -t $L -m -u -i -n -p"
	N="nsenter -t $L -n"
	ROOT=/proc/$L/root
	state=
	for _ in $(seq 200); do
		state=$($E systemctl is-system-running 2>/dev/null)
		[ "$state" = running ] || [ "$state" = degraded ] && break
		sleep 0.1
	done
	[ "$state" = running ] || { echo "container state: $state" >>"$W/boot.log"; return 1; }
}

# The mail user and directories the systemd way (sysusers.d, tmpfiles.d),
# and a Maildir for bob@example.test.
nspawn_mail_user() {
	$E systemd-sysusers /usr/local/lib/systemd/system/sysusers.d/mailsock.conf >/dev/null 2>&1 &&
	$E systemd-tmpfiles --create /usr/local/lib/systemd/system/tmpfiles.d/mailsock.conf &&
	$E sh -c 'cd /var/mail/mailsock && mkdir -p example.test/bob/tmp example.test/bob/new \
		example.test/bob/cur && chown -R mailsock:mailsock example.test'
}
