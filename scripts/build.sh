#!/bin/sh
# Configure and build mailsock in ./build (or $BUILD) with extra configure options.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || autoreconf -fi >/dev/null
mkdir -p "$build"
cd "$build"
"$top/configure" -q "$@"
make -s -j"$(nproc)"
