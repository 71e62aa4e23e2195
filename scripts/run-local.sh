#!/bin/sh
# Install what is missing, build, and run smtpd-session on 127.0.0.1:PORT
# (default 2525), one process per connection, delivering to Maildirs under
# ./run/mail.  Stops with Ctrl-C.  Usage: scripts/run-local.sh [PORT]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
port=${1:-2525}
"$top/scripts/deps.sh"
"$top/scripts/build.sh"

run=$top/run
mkdir -p "$run/mail/example.org/you/tmp" "$run/mail/example.org/you/new" "$run/mail/example.org/you/cur" \
	"$run/queue"
cat > "$run/mailsock.conf" <<CONF
# Written by scripts/run-local.sh: a server for trying mailsock out.
hostname = localhost
domains = example.org
mail_root = $run/mail
queue_dir = $run/queue
log_level = info
CONF

# Run as root, the session becomes "nobody" (it never serves the network as root).
if [ "$(id -u)" -eq 0 ]; then
	echo "user = nobody" >>"$run/mailsock.conf"
	chown -R nobody:nogroup "$run/mail" "$run/queue"
fi

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
The log (one line per event) follows here.
MSG
exec systemd-socket-activate --accept --inetd -l "127.0.0.1:$port" \
	"$top/build/smtpd-session/smtpd-session" -c "$run/mailsock.conf"
