#!/bin/sh
# smtpd-session's STARTTLS and SMTPS with real clients (tests/tls/server_test.py).
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"
unset PYTHONOPTIMIZE
exec "$PYTHON3" "$top_srcdir/tests/tls/server_test.py" "$top_builddir/smtpd-session/smtpd-session"
