#!/usr/bin/env bash
# CA benchmark (not part of CI), in one run:
#  - certificates issued per second (software token and SoftHSM2, P-256 and RSA-2048 CA keys,
#    audit on) and CRL build times for 100,000 and 1,000,000 entries (cargo bench --bench ca);
#  - OCSP responses per second from `kyso serve` on loopback, pre-produced and signed on
#    demand (with a nonce), measured with wrk;
#  - `openssl speed` for the same algorithms, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
apt_install wrk softhsm2 openssl
cargo build --release --locked -p kyso
work=$(mktemp -d /tmp/kyso-bench-ca.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
kyso=./target/release/kyso

step "issuance and CRLs"
issue_out=$(KYSO_BENCH_ISSUE=${KYSO_BENCH_ISSUE:-4000} cargo bench --locked -p kyso-service --bench ca 2>/dev/null | grep -v '^\s*Running')
echo "$issue_out"

step "OCSP on loopback (wrk, 2 threads, 64 connections, 10 s)"
"$kyso" demo --data "$work/d" >/dev/null 2>&1
"$kyso" ca export --data "$work/d" --out "$work/x" >/dev/null
certs=("$work"/x/cert-*.pem)
cert=${certs[0]}
openssl ocsp -issuer "$work/x/issuing-ca.pem" -cert "$cert" -no_nonce -reqout "$work/plain.der" >/dev/null 2>&1
# A SHA-256 CertID (with a nonce) is not pre-produced: the responder signs it on demand.
openssl ocsp -sha256 -issuer "$work/x/issuing-ca.pem" -cert "$cert" -reqout "$work/nonce.der" >/dev/null 2>&1
urlenc() { base64 -w0 "$1" | sed -e 's/+/%2B/g' -e 's/\//%2F/g' -e 's/=/%3D/g'; }
KYSO_CA_PIN=12345678 "$kyso" serve --data "$work/d" --listen 127.0.0.1:18999 >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18999/health && break; sleep 0.1; done
pre=$(wrk -t2 -c64 -d10s "http://127.0.0.1:18999/ocsp/$(urlenc "$work/plain.der")" | awk '/Requests\/sec/ {print $2}')
dem=$(wrk -t2 -c64 -d10s "http://127.0.0.1:18999/ocsp/$(urlenc "$work/nonce.der")" | awk '/Requests\/sec/ {print $2}')
echo "OCSP pre-produced:      $pre responses/s"
echo "OCSP signed on demand:  $dem responses/s"

step "openssl speed (same machine, same algorithms)"
speed=$(openssl speed -seconds 3 ecdsap256 rsa2048 2>/dev/null)
ec_sign=$(echo "$speed" | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}')
rsa_sign=$(echo "$speed" | awk '/^rsa 2048 bits/ {print $(NF-1)}')
echo "openssl ECDSA P-256 sign/s: $ec_sign"
echo "openssl RSA-2048 sign/s:    $rsa_sign"
ec_issue=$(echo "$issue_out" | awk '/software token, ec-p256/ {print $(NF-3)}')
rsa_issue=$(echo "$issue_out" | awk '/software token, rsa-2048/ {print $(NF-3)}')
awk -v a="$ec_issue" -v b="$ec_sign" -v c="$rsa_issue" -v d="$rsa_sign" 'BEGIN {
  printf "issuance / openssl sign rate: P-256 %.0f%%, RSA-2048 %.0f%% (goal >= 30%%)\n", 100*a/b, 100*c/d }'
