#!/bin/sh
# testssl.sh grades smtpd-session's STARTTLS port (systemd-socket-activate,
# one process per connection): any finding of severity MEDIUM or above about
# protocols, ciphers or known vulnerabilities fails the test.  Findings about
# the certificate itself (cert_*: a self-signed test certificate cannot be
# trusted, and expires in two days) are not the server's doing and are
# listed, not counted.  Takes about a minute on two cores.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
need systemd-socket-activate:systemd openssl:openssl testssl:testssl.sh
workdir testssl
mkdir -p "$W/mail/example.test/bob/tmp" "$W/mail/example.test/bob/new" "$W/mail/example.test/bob/cur" "$W/queue"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/key.pem" \
	-out "$W/cert.pem" -days 2 -subj /CN=mx.example.test -addext subjectAltName=DNS:mx.example.test \
	2>/dev/null || exit 99
cat >"$W/mailsock.conf" <<CONF
hostname = mx.example.test
domains = example.test
mail_root = $W/mail
queue_dir = $W/queue
tls_cert = $W/cert.pem
tls_key = $W/key.pem
CONF
[ "$(id -u)" -eq 0 ] && { echo "user = nobody" >>"$W/mailsock.conf"; chown -R nobody "$W"; }

run_server() {
	systemd-socket-activate --accept --inetd -l "127.0.0.1:$PORT" \
		"$B/smtpd-session/smtpd-session" -c "$W/mailsock.conf" 2>>"$W/server.log" &
	PID=$!
}
greets() { wait_greeting "220 mx.example.test"; }
start_on_free_port run_server greets "$W/server.log"

testssl --quiet --warnings batch --color 0 --severity MEDIUM --jsonfile "$W/findings.json" \
	--starttls smtp "127.0.0.1:$PORT" >"$W/testssl.out" 2>&1
grep -q 'Done .*127.0.0.1' "$W/testssl.out" || { cat "$W/testssl.out"; fail "testssl did not finish its scan"; }
"$PYTHON3" - "$W/findings.json" <<'PY' || failures=$((failures + 1))
import json, sys
findings = json.load(open(sys.argv[1]))
bad = 0
for f in findings:
    sev, fid = f.get("severity", ""), f.get("id", "")
    if sev not in ("MEDIUM", "HIGH", "CRITICAL") and fid != "scanProblem":
        continue
    if fid.startswith("cert"):
        print("not counted (test certificate): %s %s: %s" % (sev, fid, f.get("finding", "")))
        continue
    print("FAIL: %s %s: %s" % (sev, fid, f.get("finding", "")))
    bad += 1
print("testssl: %d findings of MEDIUM or above about protocols, ciphers or vulnerabilities" % bad)
sys.exit(1 if bad else 0)
PY
[ "$failures" -eq 0 ] && ok "testssl.sh: no weak protocol, cipher or known vulnerability"
finish
