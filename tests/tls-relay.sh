#!/bin/sh
# smtp-relay's STARTTLS, verify and smarthost AUTH against real servers
# (tests/tls/relay_test.py).
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"
unset PYTHONOPTIMIZE
exec "$PYTHON3" "$top_srcdir/tests/tls/relay_test.py" "$top_builddir/smtpd-session/smtpd-session" \
	"$top_builddir/smtp-relay/smtp-relay"
