#!/usr/bin/env bash
# Validation benchmark (not part of CI), in one run on the same files:
#  - validations per second in process, beside pyHanko in process (goal >= 20x), for a 1-page
#    file with 1 signature, a 100-page file with 5 signatures and a file with 20 signatures;
#  - one process per file: `kyso verify` beside `pdfsig` (goal >= 2x);
#  - the time and peak memory to validate a 200 MB signed PDF (goal: bounded memory): the heap
#    peak, and the peak RSS, which also counts the pages of the file's read-only mapping.
# Every tool checks the chain to the same root and, where it can, revocation with the same CRLs.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
apt_install openssl poppler-utils libnss3-tools
ensure_venv pyhanko pyhanko-cli
work=$(mktemp -d /tmp/kyso-bench-verify.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --release --locked -p kyso >/dev/null 2>&1
kyso=./target/release/kyso
bench() { cargo bench --locked -p "$1" --bench "$2" -- "${@:3}" 2>/dev/null | { grep -v '^\s*Running' || true; }; }

step "files"
mkdir -p "$work/pdf"
bench kyso-pdf sign prepare "$work/pdf" >/dev/null
mv "$work/pdf/big.pdf" "$work/big-unsigned.pdf"
bench kyso-verify verify prepare "$work" >/dev/null
ls -l "$work"/*.pdf | awk '{print $5, $9}'

step "in process: kyso and pyHanko"
kyso_in=$(bench kyso-verify verify inproc "$work")
echo "$kyso_in"
cat > "$work/hanko.py" <<'PY'
import io, sys, time
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
d = sys.argv[1]
root = load_cert_from_pemder(f'{d}/root.pem'); ca = load_cert_from_pemder(f'{d}/ca.pem')
crls = [open(f'{d}/crl.der', 'rb').read(), open(f'{d}/root-crl.der', 'rb').read()]
for name in ['p1-s1', 'p100-s5', 's20']:
    data = open(f'{d}/{name}.pdf', 'rb').read()
    def one():
        r = PdfFileReader(io.BytesIO(data))
        ok = True
        for s in r.embedded_signatures:
            vc = ValidationContext(trust_roots=[root], other_certs=[ca], crls=crls, allow_fetching=False, revocation_mode='require')
            ok = ok and validate_pdf_signature(s, vc).bottom_line
        assert ok
    one()
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < 3 or n < 2:
        one(); n += 1
    s = time.perf_counter() - t
    print(f'pyhanko {name}: {n / s:.2f} validations/s ({1000 * s / n:.1f} ms each)')
PY
hanko_in=$(.venv/bin/python "$work/hanko.py" "$work" 2>/dev/null)
echo "$hanko_in"

step "one process per file: kyso verify and pdfsig (5 s each)"
mkdir -p "$work/nss"
certutil -N -d "sql:$work/nss" --empty-password
certutil -A -d "sql:$work/nss" -n root -t CT,C,C -i "$work/root.pem"
rate() { # command...
  local n=0 start end
  start=$(date +%s.%N)
  while :; do "$@" >/dev/null 2>&1 || true; n=$((n + 1)); end=$(date +%s.%N); awk -v s="$start" -v e="$end" 'BEGIN{exit !(e - s >= 5)}' && break; done
  awk -v n="$n" -v s="$start" -v e="$end" 'BEGIN{printf "%.1f", n / (e - s)}'
}
declare -A kp pp
for f in p1-s1 p100-s5 s20; do
  "$kyso" verify "$work/$f.pdf" --data "$work/none" --trust "$work/root.pem" --chain "$work/ca.pem" --crl "$work/crl.der" --crl "$work/root-crl.der" --offline >/dev/null || { echo "kyso does not pass $f"; exit 1; }
  kp[$f]=$(rate "$kyso" verify "$work/$f.pdf" --data "$work/none" --trust "$work/root.pem" --chain "$work/ca.pem" --crl "$work/crl.der" --crl "$work/root-crl.der" --offline)
  pp[$f]=$(rate pdfsig -nssdir "sql:$work/nss" -no-ocsp "$work/$f.pdf")
  echo "$f: kyso verify ${kp[$f]} files/s, pdfsig ${pp[$f]} files/s"
done

step "200 MB signed PDF"
big_out=$(bench kyso-verify verify big "$work")
echo "$big_out"
s=$(date +%s.%N); pdfsig -nssdir "sql:$work/nss" -no-ocsp "$work/big.pdf" >/dev/null 2>&1 || true; e=$(date +%s.%N)
echo "pdfsig big: $(awk -v s="$s" -v e="$e" 'BEGIN{printf "%.3f", e - s}') s"

step "ratios"
for f in p1-s1 p100-s5 s20; do
  k=$(echo "$kyso_in" | awk -v f="kyso $f:" 'index($0, f) == 1 {print $3}')
  h=$(echo "$hanko_in" | awk -v f="pyhanko $f:" 'index($0, f) == 1 {print $3}')
  awk -v k="$k" -v h="$h" -v kp="${kp[$f]}" -v pp="${pp[$f]}" -v f="$f" 'BEGIN { printf "%s: in process kyso / pyHanko = %.0fx (goal >= 20x); per process kyso / pdfsig = %.2fx (goal >= 2x)\n", f, k / h, kp / pp }'
done
