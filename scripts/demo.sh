#!/usr/bin/env bash
# The main job on the embedded default (SQLite in DIR, no service to start): builds kyso,
# creates a demo province with a year of history, and prints its reports.
#   scripts/demo.sh [DIR]        (default ./kyso-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-./kyso-demo}
cargo build --release --locked -p kyso
kyso=./target/release/kyso
"$kyso" demo --data "$dir"
year=$(date +%Y)
if [ "$(date +%m)" -gt 6 ]; then period="$year-H1"; else period="$((year - 1))-H2"; fi
echo
"$kyso" report --data "$dir" --period "$period"
echo
"$kyso" audit verify --data "$dir"
