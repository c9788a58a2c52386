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

# Licences, bans, sources and advisories (vendored snapshot), offline.
bash scripts/deny.sh

ensure_postgres
export KYSO_TEST_PG_URL="$PG_URL"
export KYSO_TEST_REQUIRE_PG=1
# The PostgreSQL backup test needs pg_dump and pg_restore of the server's version, which come
# with the server; without them it says so and is skipped.
if command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v psql >/dev/null; then
  export KYSO_TEST_REQUIRE_PG_TOOLS=1
else
  echo "note: pg_dump/pg_restore not found; the PostgreSQL backup test is skipped"
fi

# SoftHSM2 stands in for USB tokens and HSMs; every token test runs on it too. The tests
# check their output with OpenSSL, qpdf, poppler and NSS, and find them through
# crates/kyso-testkit, which makes a missing tool a failure when its flag is set.
# faketime runs the time-dependent tests a year ahead (below).
# bsdutils: `script`, the pty through which the agent tests type PINs.
# curl: the HTTPS client of the TLS test.
apt_install softhsm2 openssl qpdf poppler-utils libnss3-tools faketime bsdutils curl
# A second, private PostgreSQL that accepts TLS only, for the sslmode tests (needs openssl).
start_tls_postgres
trap 'stop_tls_postgres; stop_private_postgres' EXIT
export KYSO_TEST_REQUIRE_SOFTHSM=1
export KYSO_TEST_REQUIRE_TOOLS=1

# pkilint and pyHanko (with its CLI) in the project's own venv.
ensure_venv pkilint pyhanko pyhanko-cli
export KYSO_TEST_REQUIRE_PKILINT=1
export KYSO_TEST_REQUIRE_PYHANKO=1

# A real OpenID provider (npm oidc-provider, pinned in scripts/oidc) for the single sign-on test.
ensure_oidc_provider
export KYSO_TEST_REQUIRE_OIDC=1

# The closing line of a test step: the counts over every "test result:" line of its log.
summarise() {
  echo
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       END { printf "tests: %d passed, %d failed\n", p, f }' "$1"
}

step "cargo test (SQLite and PostgreSQL at $PG_URL)"
# Library, binary and integration tests; benches are separate commands (see README).
log=$(mktemp)
trap 'rm -f "$log"; stop_tls_postgres; stop_private_postgres' EXIT
status=0
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$log" || status=$?
summarise "$log"
[ "$status" -eq 0 ] || exit "$status"

# The test binaries that read the wall clock (themselves, or through OpenSSL, pyHanko,
# pdfsig or a `kyso` process) run again with the clock a year ahead, so that a date that
# will expire fails CI a year before it does. crates/kyso/tests/architecture.rs keeps the
# list complete. faketime runs the binaries cargo built above, not cargo: rustc hangs under
# faketime, and FAKETIME_DONT_FAKE_MONOTONIC keeps sleeps and timeouts real.
clock_tests=(kyso-pki:certs kyso-pki:cms_field kyso-pki:path kyso-pki:status kyso-pdf:sign kyso-service:ca kyso-verify:fixtures kyso:ca_cli kyso:doc_cli kyso-store:pg_tls kyso:web_cli)
step "time-dependent tests with the clock a year ahead"
# The same cargo command as above, so nothing is rebuilt: "crate:test", binary, directory.
bins=$(cargo test --workspace --locked --lib --bins --tests --no-run --message-format=json | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        d = os.path.dirname(m["manifest_path"])
        print(os.path.basename(d) + ":" + m["target"]["name"], m["executable"], d, sep="\t")')
: >"$log"
for t in "${clock_tests[@]}"; do
  exe=$(awk -F'\t' -v t="$t" '$1 == t { print $2 }' <<<"$bins")
  dir=$(awk -F'\t' -v t="$t" '$1 == t { print $3 }' <<<"$bins")
  [ -x "${exe:-}" ] || { echo "no test binary for $t"; exit 1; }
  echo "     Running $t with the clock at $(FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '+365d' date -u +%F)" | tee -a "$log"
  if ! (cd "$dir" && CARGO_MANIFEST_DIR="$dir" FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '+365d' "$exe") 2>&1 | tee -a "$log"; then
    status=1
  fi
done
summarise "$log"
[ "$status" -eq 0 ] || exit "$status"

# A short, bounded fuzzing run of every parser that reads outside input (the long run is
# `scripts/fuzz.sh`, ten minutes per target, not part of CI).
step "fuzzing (${KYSO_FUZZ_SECONDS:-20} s per target)"
scripts/fuzz.sh "${KYSO_FUZZ_SECONDS:-20}"
