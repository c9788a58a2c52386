#!/usr/bin/env bash
# Registry benchmark (not part of CI): 1,000,000 certificates and 5,000,000 audit events on
# SQLite and on PostgreSQL; prints the time of a province-wide annual report and of the
# 90-day expiry list. Override sizes with KYSO_BENCH_CERTS / KYSO_BENCH_EVENTS.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_postgres
export KYSO_BENCH_PG_URL="${KYSO_BENCH_PG_URL:-$PG_URL}"
cargo bench --locked -p kyso-service --bench registry
