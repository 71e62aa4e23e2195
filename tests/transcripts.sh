#!/bin/sh
# Run every transcript under tests/transcripts through smtpd-session.
# VALGRIND="valgrind --error-exitcode=99 -q" runs each session under valgrind.
: "${top_srcdir:=$(dirname "$0")/..}" "${top_builddir:=.}" "${PYTHON3:=/usr/bin/python3}"
# An inherited PYTHONOPTIMIZE would strip any assert from the checks.
unset PYTHONOPTIMIZE
exec "$PYTHON3" "$top_srcdir/tests/transcript.py" "$top_builddir/smtpd-session/smtpd-session" \
	"$top_srcdir"/tests/transcripts/*.t
