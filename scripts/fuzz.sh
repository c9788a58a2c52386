#!/usr/bin/env bash
# Fuzzes every parser that reads outside input: PDF revisions and signature dictionaries with
# the whole validation (pdf), CMS and time-stamp tokens (cms), BER as the field writes it
# (ber), X.509 with path validation
# (x509), CRLs (crl), OCSP requests and responses (ocsp).
#
#   scripts/fuzz.sh [SECONDS]      seconds per target (default 600: ten minutes each)
#
# cargo-fuzz with libFuzzer on the stable toolchain (RUSTC_BOOTSTRAP=1, no sanitizer: Rust's
# own checks turn memory errors into panics). A panic, a hang (> 10 s on one input) or more
# than 2 GB of memory fails the run and leaves the input in fuzz/artifacts/. Seeds come from
# the project's own fixtures: a demo deployment's signed documents, certificates and CRL, a
# detached CMS signature, and OCSP messages from a running `kyso serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
secs=${1:-600}
apt_install openssl curl
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cargo build --locked -p kyso
kyso=./target/debug/kyso
work=$(mktemp -d /tmp/kyso-fuzz.XXXXXX)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
server=
step "seeds from a demo deployment"
"$kyso" demo --data "$work/d" >/dev/null 2>&1
"$kyso" ca export --data "$work/d" --out "$work/x" >/dev/null
for t in pdf cms ber x509 crl ocsp; do mkdir -p "fuzz/corpus/$t"; done
cp "$work"/d/documents/*.pdf fuzz/corpus/pdf/
# Restricted (encrypted) documents from the foreign corpus: RC4 and AES.
cp crates/kyso-verify/tests/corpus/dss/dss-pades/validation/encrypted.pdf fuzz/corpus/pdf/encrypted-rc4.pdf
cp crates/kyso-verify/tests/corpus/qpdf/qpdf/qtest/qpdf/minimal-signed-restricted.pdf fuzz/corpus/pdf/encrypted-aes.pdf
# Globs into arrays, not `ls | head`: under pipefail, head closing the pipe early kills ls
# with SIGPIPE and the script with status 141 (seen once in CI).
pems=("$work"/x/*.pem)
for c in "${pems[@]:0:20}"; do openssl x509 -in "$c" -outform DER -out "fuzz/corpus/x509/$(basename "$c" .pem).der" 2>/dev/null || true; done
openssl crl -in "$work/x/crl.pem" -outform DER -out fuzz/corpus/crl/issuing.der
certs=("$work"/x/cert-*.pem)
cert=${certs[0]}
openssl ocsp -issuer "$work/x/issuing-ca.pem" -cert "$cert" -reqout fuzz/corpus/ocsp/request.der >/dev/null 2>&1
KYSO_CA_PIN=12345678 "$kyso" serve --data "$work/d" --listen 127.0.0.1:18997 >/dev/null 2>&1 &
server=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18997/health && break; sleep 0.1; done
curl -s --data-binary @fuzz/corpus/ocsp/request.der -H 'Content-Type: application/ocsp-request' http://127.0.0.1:18997/ocsp -o fuzz/corpus/ocsp/response.der
kill $server; server=
# A detached CAdES signature and a time-stamp token.
toks=("$work"/d/tokens/BN*.token.json)
tok=${toks[0]}
echo "mẫu" > "$work/file.txt"
python3 - "$tok" "$work/c.der" <<'PY'
import base64, json, sys
t = json.load(open(sys.argv[1]))
open(sys.argv[2], 'wb').write(base64.b64decode(t['certificates'][-1]['der']) if t.get('certificates') else b'')
PY
if [ -s "$work/c.der" ]; then
  KYSO_PIN=123456 KYSO_CA_PIN=12345678 "$kyso" sign "$work/file.txt" --detached --data "$work/d" --label "$(basename "$tok" .token.json)" --cert "$work/c.der" --level t --tsa builtin --out fuzz/corpus/cms/signature.p7s >/dev/null 2>&1 || true
fi
# BER seeds: the CMS seeds, and the signatures of the foreign corpus' PDFs are found by the
# pdf target; the CMS ones double as BER input.
cp fuzz/corpus/cms/* fuzz/corpus/ber/ 2>/dev/null || true
step "fuzzing, $secs s per target"
cd fuzz
export RUSTC_BOOTSTRAP=1
for t in pdf cms ber x509 crl ocsp; do
  echo "== $t"
  rm -rf "artifacts/$t"
  # Build first: a target that no longer compiles must fail the run, not pass silently.
  cargo fuzz build -s none -O "$t" >/dev/null 2>"artifacts-build-$t.log" || { cat "artifacts-build-$t.log"; echo "fuzz target $t does not build"; exit 1; }
  rm -f "artifacts-build-$t.log"
  cargo fuzz run -s none -O "$t" "corpus/$t" -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1 2>&1 | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|panicked|SUMMARY" || true
  if ls artifacts/"$t"/* >/dev/null 2>&1; then echo "fuzz target $t found a failure: fuzz/artifacts/$t"; exit 1; fi
done
