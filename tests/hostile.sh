#!/bin/sh
# Hostile clients: SMTP smuggling, open relay tricks, resource exhaustion,
# header and log injection (tests/hostile/test_*.py, run by make check).
set -eu
: "${top_srcdir:=.}" "${PYTHON3:=/usr/bin/python3}"
export PYTHONDONTWRITEBYTECODE=1
unset PYTHONOPTIMIZE        # it would strip every assert: no check could fail
export top_builddir="${top_builddir:-$PWD}"
h="$top_srcdir/tests/hostile"
exec "$PYTHON3" "$h/run.py" "$h/test_smuggling.py" "$h/test_open_relay.py" \
	"$h/test_exhaustion.py" "$h/test_injection.py" "$h/test_relay_server.py"
