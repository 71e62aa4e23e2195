#!/bin/sh
# smtpd-session on real loopback sockets with real clients (tests/socket_test.py).
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"
# An inherited PYTHONOPTIMIZE would strip any assert from the checks.
unset PYTHONOPTIMIZE
exec "$PYTHON3" "$top_srcdir/tests/socket_test.py" "$top_builddir/smtpd-session/smtpd-session"
