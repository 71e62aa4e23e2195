#!/bin/sh
# Crash and fault tests: sessions killed with SIGKILL at random moments, a
# full disk and a read-only file system (tmpfs in a private mount
# namespace), missing or unwritable Maildir subdirectories, a missing
# queue_dir (tests/hostile/test_crash.py, test_faults.py; run by make check).
set -eu
: "${top_srcdir:=.}" "${PYTHON3:=/usr/bin/python3}"
export PYTHONDONTWRITEBYTECODE=1
unset PYTHONOPTIMIZE        # it would strip every assert: no check could fail
export top_builddir="${top_builddir:-$PWD}"
h="$top_srcdir/tests/hostile"
exec "$PYTHON3" "$h/run.py" "$h/test_crash.py" "$h/test_faults.py"
