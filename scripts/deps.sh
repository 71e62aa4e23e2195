#!/bin/sh
# Install what building and testing mailsock needs on Debian 12, and nothing
# that is already there.  Packages named in scripts/test-packages.txt (one per
# line, '#' comments) and on the command line are installed too.
# Starts no service: see README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)

build="autoconf automake make gcc libc6-dev pkg-config libsystemd-dev libldns-dev libcrypt-dev"
test="python3 systemd swaks curl procps valgrind"
extra=$(sed -e 's/#.*//' "$here/test-packages.txt" 2>/dev/null | tr '\n' ' ')

missing=""
for p in $build $test $extra "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install:$missing" >&2; exit 1; }
	SUDO=sudo
else
	SUDO=
fi
echo "deps.sh: installing$missing"
# Some packages (postfix, xinetd, nsd) would start a system service on
# install: tell postfix to stay unconfigured, and the rest not to start.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections 2>/dev/null || true
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

# A daemon a package started anyway (a machine without policy-rc.d):
# stop and disable it; the tests run their own instances on free ports.
# (PACKAGE:SERVICE; tests/lmtp.sh starts a Dovecot of its own.)
for pkg_svc in xinetd:xinetd dovecot-core:dovecot; do
	svc=${pkg_svc#*:}
	case " $missing " in
	*" ${pkg_svc%%:*} "*)
		if [ -d /run/systemd/system ]; then
			$SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
		fi ;;
	esac
done
