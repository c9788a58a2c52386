#!/usr/bin/env bash
# The main job on the embedded default (SQLite in DIR, the built-in CA on a software token):
# builds kyso, creates a demo province with a year of history, prints its report, then runs
# the server on it (login, API, CRL, OCSP, TSA) with the URL and the demo logins printed.
#   scripts/demo.sh [DIR]        (default ./kyso-demo; KYSO_DEMO_NO_SERVE=1 stops after the report)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-./kyso-demo}
cargo build --release --locked -p kyso
kyso=./target/release/kyso
if [ -e "$dir/kyso.db" ]; then
  echo "$dir đã có tỉnh mẫu; dùng lại."
else
  "$kyso" demo --data "$dir"
fi
year=$(date +%Y)
if [ "$(date +%m)" -gt 6 ]; then period="$year-H1"; else period="$((year - 1))-H2"; fi
echo
"$kyso" report --data "$dir" --period "$period"
echo
"$kyso" audit verify --data "$dir"
[ "${KYSO_DEMO_NO_SERVE:-0}" = 1 ] && exit 0
url=http://127.0.0.1:8480
echo
echo "Máy chủ: $url (Ctrl-C để dừng)"
echo "  Đăng nhập: POST $url/auth/login với login và password (mật khẩu đào tạo chung: Tập huấn chữ ký số 2026)"
echo "  Tài khoản: giamdoc.snv, vanthu.snv, cqqltt.snv (không cần TOTP); qltb (cần TOTP: bí mật in khi tạo tỉnh mẫu);"
echo "             admin, cntt, kiemtra (đăng ký TOTP ở lần đăng nhập đầu)"
echo "  Ví dụ: curl -c /tmp/kyso.cookies -H 'Content-Type: application/json' \\"
echo "           -d '{\"login\":\"giamdoc.snv\",\"password\":\"Tập huấn chữ ký số 2026\"}' $url/auth/login"
echo "         curl -b /tmp/kyso.cookies $url/api/v1/me"
exec env KYSO_CA_PIN=12345678 "$kyso" serve --data "$dir" --listen 127.0.0.1:8480
