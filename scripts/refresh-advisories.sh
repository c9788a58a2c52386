#!/usr/bin/env bash
# Replaces the vendored snapshot of the RustSec advisory database (CC0-1.0 / CC-BY-4.0) with
# the current one. Needs the network; not part of CI. Commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q --depth 1 https://github.com/rustsec/advisory-db "$tmp/db"
rm -rf supply-chain/advisory-db
mkdir -p supply-chain/advisory-db
(cd "$tmp/db" && git archive HEAD) | tar -x -C supply-chain/advisory-db
(cd "$tmp/db" && git log -1 --format='%H %cI') > supply-chain/advisory-db.SNAPSHOT
echo "advisory-db snapshot: $(cat supply-chain/advisory-db.SNAPSHOT)"
