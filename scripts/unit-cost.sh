#!/bin/sh
# unit-cost.sh - what each group of sandbox settings of
# smtpd-session@.service costs per connection under a real systemd, next to
# the fast way (smtpd.service), measured in a throw-away nspawn container
# (tests/nspawn-lib.sh).  For each variant: the exposure score
# (systemd-analyze security), the CPU time of the whole container
# (PID 1, journald, the sessions) per delivered message, and the wall
# time per message with 4 clients at once.  Root only; runs a minute or two.
# Usage: scripts/unit-cost.sh [BUILD_DIR [MESSAGES]]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$top/build}" && pwd)
COUNT=${2:-300}
PYTHON3=${PYTHON3:-/usr/bin/python3}
S=$top
[ "$(id -u)" -eq 0 ] || { echo "unit-cost.sh: needs root (systemd-nspawn)" >&2; exit 1; }
W=$(mktemp -d /tmp/mailsock-cost.XXXXXX) || exit 1
. "$top/tests/nspawn-lib.sh"
trap nspawn_cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
nspawn_paths
mkdir -p "$W/etc" "$W/units" || exit 1
printf '%s\n' "hostname = mx.example.test" "domains = example.test" \
	"max_connections = 200" "max_connections_per_source = 200" >"$W/etc/mailsock.conf"
nspawn_boot || { cat "$W/boot.log"; exit 1; }
nspawn_mail_user || exit 1

# The sandbox lines of the shipped unit, by group.
sandbox=$(sed -n '/^UMask=/,$p' "$B/units/smtpd-session@.service")
no_ns="NoNewPrivileges=yes
CapabilityBoundingSet=
RestrictAddressFamilies=AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
UMask=0077"

# variant NAME SETTINGS: write costN.socket + costN@.service, port 2500+N
n=0
variant() {
	n=$((n + 1))
	name=$1
	eval "name_$n=\$name"
	printf '[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\nMaxConnections=200\n%s\n' \
		$((2500 + n)) "MaxConnectionsPerSource=200
TriggerLimitIntervalSec=0
TriggerLimitBurst=0" >"$W/units/cost$n.socket"
	printf '[Service]\nExecStart=%s\nStandardInput=socket\nStandardError=journal\n%s\n%s\n' \
		"$SESSION_BIN" "User=mailsock
Group=mailsock" "$2" >"$W/units/cost$n@.service"
}
variant "User= only, no sandbox" ""
variant "+ no-namespace settings (syscall filter, caps, ...)" "$no_ns"
variant "+ PrivateUsers=yes" "$no_ns
PrivateUsers=yes"
variant "+ PrivateNetwork=yes" "$no_ns
PrivateNetwork=yes"
variant "+ ProtectSystem=strict (a mount namespace)" "$no_ns
ProtectSystem=strict
ReadWritePaths=/var/mail/mailsock /var/spool/mailsock"
variant "as shipped (smtpd-session@.service)" "$sandbox"
cp "$W/units"/cost* "$ROOT/etc/systemd/system/" && $E systemctl daemon-reload || exit 1

for cg in $CG; do [ -e "$cg/cpu.stat" ] && CPU=$cg/cpu.stat; done
cpu_us() { sed -n 's/^usage_usec //p' "$CPU"; }

# measure PORT: prints "exposure cpu-ms wall-ms" for COUNT messages
measure() {
	before=$(cpu_us)
	out=$($N "$PYTHON3" "$top/tests/smtp_clients.py" burst "$COUNT" 4 bob@example.test "$1")
	after=$(cpu_us)
	wall=$(echo "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
	case $out in *" failed=0 retried=0 "*) ;; *) echo "  ($out)" >&2 ;; esac
	awk -v c=$((after - before)) -v w="$wall" -v n="$COUNT" \
		'BEGIN { printf "%6.1f ms %6.1f ms", c / n / 1000, w * 1000 / n }'
}

exposure() {
	systemd-analyze security --offline=true --no-pager "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

echo "$COUNT messages per variant, 4 clients at once; CPU of the whole container per message"
printf '%-62s %8s %9s %9s\n' "variant" "exposure" "CPU" "wall"
i=0
while [ $i -lt $n ]; do
	i=$((i + 1))
	$E systemctl start "cost$i.socket" || exit 1
	eval "name=\$name_$i"
	printf '%-62s %8s %s\n' "Accept=yes, $name" "$(cd "$W/units" && exposure "./cost$i@.service")" \
		"$(measure $((2500 + i)))"
	$E systemctl stop "cost$i.socket"
done
$E systemctl start smtpd.socket || exit 1
printf '%-62s %8s %s\n' "Accept=no, the fast way (smtpd.service as shipped)" \
	"$(cd "$B/units" && exposure ./smtpd.service)" "$(measure 25)"
