#!/usr/bin/env bash
# The test command: formatting, lints, and the whole test suite on SQLite and PostgreSQL.
# Installs what the tests need when it is missing (idempotent). Uses the PostgreSQL at
# 127.0.0.1:5432 (database `test`, trust auth) when it answers; otherwise starts a private
# one on a temporary data directory bound to loopback, and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

ensure_postgres
export KYSO_TEST_PG_URL="$PG_URL"
export KYSO_TEST_REQUIRE_PG=1

# SoftHSM2 stands in for USB tokens and HSMs; every token test runs on it too.
apt_install softhsm2 openssl qpdf poppler-utils libnss3-tools
export KYSO_TEST_REQUIRE_SOFTHSM=1

# pkilint and pyHanko (with its CLI) in the project's own venv.
ensure_venv pkilint pyhanko pyhanko-cli
export KYSO_TEST_REQUIRE_PKILINT=1
export KYSO_TEST_REQUIRE_PYHANKO=1

step "cargo test (SQLite and PostgreSQL at $PG_URL)"
# Library, binary and integration tests; benches are separate commands (see README).
log=$(mktemp)
trap 'rm -f "$log"; stop_private_postgres' EXIT
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
[ "$status" -eq 0 ] || exit "$status"

# A short, bounded fuzzing run of every parser that reads outside input (the long run is
# `scripts/fuzz.sh`, ten minutes per target, not part of CI).
step "fuzzing (${KYSO_FUZZ_SECONDS:-20} s per target)"
scripts/fuzz.sh "${KYSO_FUZZ_SECONDS:-20}"
