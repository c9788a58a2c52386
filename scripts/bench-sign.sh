#!/usr/bin/env bash
# Signing benchmark (not part of CI), in one run:
#  - PAdES B-B signatures per second on a 1-page and a 100-page PDF (software token, RSA-2048),
#    beside pyHanko signing the same files in-process with an RSA-2048 key;
#  - the time and peak memory to sign a 200 MB PDF, beside sha256sum of the same file;
#  - the ratios against the goals (>= 50x pyHanko; <= 1.3x sha256sum and < 64 MB peak).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
apt_install openssl poppler-utils
ensure_venv
work=$(mktemp -d /tmp/kyso-bench-sign.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo bench --locked -p kyso-pdf --bench sign --no-run >/dev/null 2>&1
bench() { cargo bench --locked -p kyso-pdf --bench sign -- "$@" 2>/dev/null | { grep -v '^\s*Running' || true; }; }

step "files"
bench prepare "$work" >/dev/null
ls -l "$work"/p1.pdf "$work"/p100.pdf "$work"/big.pdf | awk '{print $5, $9}'

step "small files: kyso (in memory) and pyHanko (in-process), 3 s each"
kyso_small=$(bench small "$work")
echo "$kyso_small"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 30 -subj "/CN=Bench/C=VN" >/dev/null 2>&1
cat > "$work/hanko.py" <<'PY'
import io, sys, time
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
d = sys.argv[1]
signer = signers.SimpleSigner.load(f'{d}/key.pem', f'{d}/cert.pem')
meta = signers.PdfSignatureMetadata(field_name='Sig', subfilter=SigSeedSubFilter.PADES)
for name in ['p1', 'p100']:
    data = open(f'{d}/{name}.pdf', 'rb').read()
    def one():
        return signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer)
    one()
    n, t = 0, time.perf_counter()
    while time.perf_counter() - t < 3:
        one(); n += 1
    s = time.perf_counter() - t
    print(f'pyhanko {name}: {n / s:.1f} signatures/s ({1000 * s / n:.2f} ms each)')
PY
hanko_small=$(.venv/bin/python "$work/hanko.py" "$work")
echo "$hanko_small"
for f in p1 p100; do
  pdfsig -nocert "$work/$f-kyso.pdf" | grep -q "Signature is Valid" || { echo "kyso's $f signature is not valid"; exit 1; }
done

step "200 MB: kyso sign (streamed) and sha256sum, page cache warm"
cat "$work/big.pdf" > /dev/null
sha_best=999
for _ in 1 2 3; do
  s=$(date +%s.%N); sha256sum "$work/big.pdf" > /dev/null; e=$(date +%s.%N)
  sha_best=$(awk -v a="$sha_best" -v b="$(awk -v s="$s" -v e="$e" 'BEGIN{print e-s}')" 'BEGIN{print (b<a)?b:a}')
done
big_best=999; rss=0
for _ in 1 2 3; do
  rm -f "$work/big-signed.pdf"
  out=$(bench big "$work")
  t=$(echo "$out" | awk '/kyso big/ {print $3}')
  r=$(echo "$out" | sed -n 's/.*peak RSS \([0-9]*\) MB.*/\1/p')
  big_best=$(awk -v a="$big_best" -v b="$t" 'BEGIN{print (b<a)?b:a}')
  rss=$(awk -v a="$rss" -v b="$r" 'BEGIN{print (b>a)?b:a}')
done
echo "sha256sum big.pdf: best of 3 ${sha_best} s"
echo "kyso sign big.pdf: best of 3 ${big_best} s, peak RSS ${rss} MB"
pdfsig -nocert "$work/big-signed.pdf" | grep -q "Signature is Valid" || { echo "the big file's signature is not valid"; exit 1; }

step "ratios"
for f in p1 p100; do
  k=$(echo "$kyso_small" | awk -v f="kyso $f:" 'index($0, f) == 1 {print $3}')
  h=$(echo "$hanko_small" | awk -v f="pyhanko $f:" 'index($0, f) == 1 {print $3}')
  awk -v k="$k" -v h="$h" -v f="$f" 'BEGIN { printf "%s: kyso / pyHanko = %.1fx (goal >= 50x)\n", f, k / h }'
done
awk -v k="$big_best" -v s="$sha_best" -v r="$rss" 'BEGIN { printf "200 MB: kyso / sha256sum = %.2fx (goal <= 1.3x); peak RSS %d MB (goal < 64 MB)\n", k / s, r }'
