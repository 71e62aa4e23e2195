#!/bin/sh
# AUTH and submission with real clients and a real Dovecot (tests/auth_test.py).
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"
# An inherited PYTHONOPTIMIZE would strip any assert from the checks.
unset PYTHONOPTIMIZE
exec "$PYTHON3" -W ignore::DeprecationWarning "$top_srcdir/tests/auth_test.py" \
	"$top_builddir/smtpd-session/smtpd-session"
