#!/usr/bin/env bash
# cargo-deny over the licences, bans, sources and security advisories of every dependency,
# offline: the advisories come from the dated snapshot of the RustSec database vendored in
# supply-chain/advisory-db (scripts/refresh-advisories.sh replaces it). Installs cargo-deny
# from crates.io when it is missing. Called by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
if ! cargo deny --version >/dev/null 2>&1; then
  step "cargo install cargo-deny"
  cargo install --locked cargo-deny@0.20.2
fi
# cargo-deny reads the database as a git clone in db-path, named after its URL.
snapshot=$(cat supply-chain/advisory-db.SNAPSHOT)
db=target/advisory-dbs/advisory-db-3157b0e258782691
if [ "$(cat "$db.snapshot" 2>/dev/null || true)" != "$snapshot" ]; then
  rm -rf "$db"
  mkdir -p "$db"
  cp -r supply-chain/advisory-db/. "$db/"
  date=${snapshot#* }
  (cd "$db" && git init -q && git add -A &&
    GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" git -c user.name=kyso -c user.email=kyso@localhost commit -qm "RustSec advisory-db ${snapshot% *}")
  echo "$snapshot" > "$db.snapshot"
fi
step "cargo deny check (advisories as of ${snapshot#* })"
cargo metadata --format-version 1 --locked > target/deny-metadata.json
cargo deny --offline --metadata-path target/deny-metadata.json check --hide-inclusion-graph
