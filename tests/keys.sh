#!/bin/sh
# The configuration keys, three times: every key the programs accept (the
# rows of keys[] in common/config.c, each tried on smtpd-session) is in
# README.md's key tables and in mailsock.conf(5), and neither names a key
# that the programs refuse.
: "${top_srcdir:=.}" "${top_builddir:=.}"
bin=$top_builddir/smtpd-session/smtpd-session
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# The rows of the table: "\tCOUNT(max_errors, ..." and the like.
sed -n 's/^	\(OWN\|PATH\|BYTES\|COUNT\|SECONDS\|YES_NO\)(\([a-z_]*\),.*/\2/p' \
	"$top_srcdir/common/config.c" | sort >"$tmp/code"
# README: the first column of the tables under "## Configuration".
sed -n '/^## Configuration/,/^## /p' "$top_srcdir/README.md" |
	sed -n 's/^| \([a-z_, ]*\) |.*/\1/p' | tr ',' '\n' | tr -d ' ' |
	grep -vx 'key' | sort >"$tmp/readme"
# mailsock.conf(5): the tag of each .TP under .SH KEYS (".B key", ".BR a \", \" b").
sed -n '/^\.SH KEYS/,/^\.SH EXAMPLE/p' "$top_srcdir/doc/mailsock.conf.5" |
	awk 'prev == ".TP" { print } { prev = $0 }' |
	sed 's/^\.BR* //; s/"[^"]*"//g' | tr ' ' '\n' | grep . | sort >"$tmp/man"

n=$(wc -l <"$tmp/code")
[ "$n" -ge 20 ] || fail "only $n keys found in common/config.c: has the table's form changed?"

# Each key is known to the program; an unknown one is refused as such.
for key in $(cat "$tmp/code") colour; do
	"$bin" -c /dev/null -o "$key=" </dev/null >"$tmp/out" 2>&1
	if grep -q "unknown key \"$key\"" "$tmp/out"; then
		[ "$key" = colour ] || fail "config.c has a row for $key, but smtpd-session refuses it"
	elif [ "$key" = colour ]; then
		fail "smtpd-session does not refuse an unknown key: $(cat "$tmp/out")"
	fi
done

for doc in readme man; do
	comm -23 "$tmp/code" "$tmp/$doc" | while read -r key; do
		echo "FAIL $key is accepted but not in the $doc key list"
	done >>"$tmp/missing"
	comm -13 "$tmp/code" "$tmp/$doc" | while read -r key; do
		echo "FAIL $key is in the $doc key list but not accepted"
	done >>"$tmp/missing"
done
if [ -s "$tmp/missing" ]; then
	cat "$tmp/missing"
	failed=$((failed + $(wc -l <"$tmp/missing")))
fi

[ "$failed" -eq 0 ] && echo "PASS $n keys: config.c, README.md and mailsock.conf(5) agree"
[ "$failed" -eq 0 ]
