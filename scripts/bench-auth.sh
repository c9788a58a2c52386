#!/usr/bin/env bash
# Login and session benchmark (not part of CI): the time of a password login with the
# production Argon2id parameters (goal: at least 50 ms per hash), and authenticated
# GET /api/v1/me per second against a running server (goal: 20,000/s on 2 cores).
# KYSO_BENCH_LOGINS, KYSO_BENCH_CONNS and KYSO_BENCH_SECS change the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --locked -p kyso --bench auth
