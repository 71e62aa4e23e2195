#!/bin/sh
# Install what is missing, build, and run smtpd-session on 127.0.0.1:PORT
# (default 2525), one process per connection, delivering to Maildirs under
# ./run/mail.  Stops with Ctrl-C.
# Usage: scripts/run-local.sh [--print | --capture] [PORT]
#   --print    every message is printed to the log and nothing is stored
#              (message_command = cat: Python's DebuggingServer)
#   --capture  every message, to any address, is stored once in
#              ./run/capture and nothing is relayed (a mail catcher)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
mode=maildir
case ${1:-} in
--print) mode=print; shift ;;
--capture) mode=capture; shift ;;
-*) echo "usage: scripts/run-local.sh [--print | --capture] [PORT]" >&2; exit 64 ;;
esac
port=${1:-2525}
"$top/scripts/deps.sh"
"$top/scripts/build.sh"

run=$top/run
mkdir -p "$run/mail/example.org/you/tmp" "$run/mail/example.org/you/new" "$run/mail/example.org/you/cur" \
	"$run/queue" "$run/capture"
# Run as root, the session becomes "nobody": it never serves the network as
# root.  When nobody cannot reach the working tree (a checkout under /root,
# say), the session sees run/ at /mnt through a bind mount made in a private
# mount namespace: the files stay in the working tree, the host is unchanged,
# and the mount goes away with the server.
seen=$run owner=""
if [ "$(id -u)" -eq 0 ]; then
	chown -R nobody:nogroup "$run/mail" "$run/queue" "$run/capture"
	owner="chown -R nobody:nogroup $run/mail/example.org/NAME"
	if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -w "$run/mail/example.org/you/new" 2>/dev/null; then
		seen=/mnt
	fi
fi

cat > "$run/mailsock.conf" <<CONF
# Written by scripts/run-local.sh: a server for trying mailsock out.
hostname = localhost
domains = example.org
mail_root = $seen/mail
queue_dir = $seen/queue
log_level = info
CONF
[ "$(id -u)" -eq 0 ] && echo "user = nobody" >>"$run/mailsock.conf"
case $mode in
print) echo "message_command = cat" >>"$run/mailsock.conf" ;;
capture) echo "capture = $seen/capture" >>"$run/mailsock.conf" ;;
esac

cat <<MSG
mailsock is listening on 127.0.0.1:$port (Ctrl-C stops it).
Maildirs are under $run/mail/DOMAIN/USER; you@example.org exists.

Send a first mail:
  swaks --server 127.0.0.1:$port --to you@example.org
  printf 'Subject: hi\r\n\r\nhello\r\n' | curl -sS smtp://127.0.0.1:$port --mail-from me@example.com --mail-rcpt you@example.org -T -
Read it:
  ls $run/mail/example.org/you/new/ && cat $run/mail/example.org/you/new/*
Add a user:
  mkdir -p $run/mail/example.org/NAME/tmp $run/mail/example.org/NAME/new $run/mail/example.org/NAME/cur
  $owner
The log (one line per event) follows here.
MSG
case $mode in
print) echo "--print: each message is printed to the log below (event=command-output), nothing is stored." ;;
capture) echo "--capture: every message to any address goes to $run/capture/new/, nothing is relayed." ;;
esac
serve="systemd-socket-activate --accept --inetd -l 127.0.0.1:$port $top/build/smtpd-session/smtpd-session -c $run/mailsock.conf"
if [ "$seen" = /mnt ]; then
	exec unshare --mount --propagation private sh -c \
		"mount -t tmpfs -o mode=0755 mailsock /mnt && mkdir /mnt/mail /mnt/queue /mnt/capture &&
		 mount --bind '$run/mail' /mnt/mail && mount --bind '$run/queue' /mnt/queue &&
		 mount --bind '$run/capture' /mnt/capture && exec $serve"
fi
exec $serve
