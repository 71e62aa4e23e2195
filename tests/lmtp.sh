#!/bin/sh
# tests/lmtp.sh - local_delivery = lmtp:...: a private Dovecot LMTP server
# (delivery, unknown user at RCPT, Dovecot down then back, per-recipient
# outcomes), aiosmtpd's LMTP class as a list server, and a server that
# closes after the final dot.  Needs root (Dovecot is started as root with
# its own config), dovecot-core, dovecot-lmtpd and python3-aiosmtpd
# (scripts/test-packages.txt).  Cases: tests/lmtp.sh [CASE...]
set -u
unset PYTHONOPTIMIZE
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$PWD}"
: "${PYTHON3:=/usr/bin/python3}"
export top_srcdir top_builddir PYTHON3
. "$top_srcdir/tests/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
need_root "Dovecot is started as root"
need dovecot:dovecot-core
[ -x /usr/lib/dovecot/lmtp ] || skip "no Dovecot LMTP server (Debian package dovecot-lmtpd)"
"$PYTHON3" -c 'import aiosmtpd.lmtp' 2>/dev/null ||
	skip "$PYTHON3 has no aiosmtpd (Debian package python3-aiosmtpd)"
exec "$PYTHON3" "$top_srcdir/tests/lmtp/lmtp_test.py" "$@"
