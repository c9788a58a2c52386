# Shared helpers for the project's scripts. Sourced, not run.

step() { printf '\n==> %s\n' "$*"; }

apt_install() {
  # Installs Debian packages that are missing; quiet and idempotent.
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

pg_answers() { # url
  command -v psql >/dev/null 2>&1 && psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

# Sets PG_URL to a PostgreSQL the tests may use, starting a private one if needed.
ensure_postgres() {
  local shared="postgres://postgres@127.0.0.1:5432/test"
  if [ -n "${KYSO_TEST_PG_URL:-}" ] && pg_answers "$KYSO_TEST_PG_URL"; then PG_URL="$KYSO_TEST_PG_URL"; return; fi
  if [ -z "${KYSO_FORCE_PRIVATE_PG:-}" ] && pg_answers "$shared"; then PG_URL="$shared"; return; fi
  step "no PostgreSQL answers at 127.0.0.1:5432: starting a private one"
  local initdb
  initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$initdb" ]; then
    apt_install postgresql postgresql-client
    initdb=$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)
  fi
  local bin; bin=$(dirname "$initdb")
  local port=${KYSO_PRIVATE_PG_PORT:-55432}
  PG_DIR=$(mktemp -d /tmp/kyso-pg.XXXXXX)
  local runas=()
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root.
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$PG_DIR"
    runas=(runuser -u postgres --)
  fi
  "${runas[@]}" "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
  "${runas[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$PG_DIR -c fsync=off" start >/dev/null
  trap 'stop_private_postgres' EXIT
  PG_STOP=("${runas[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -m fast stop)
  psql "postgres://postgres@127.0.0.1:$port/postgres" -qc 'create database test' >/dev/null
  PG_URL="postgres://postgres@127.0.0.1:$port/test"
}

stop_private_postgres() {
  if [ -n "${PG_DIR:-}" ]; then
    "${PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

# Creates ./.venv if needed and installs the given PyPI packages into it if missing.
ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    step "python venv .venv"
    python3 -m venv .venv || { apt_install python3-venv; python3 -m venv .venv; }
  fi
  local missing=()
  for p in "$@"; do .venv/bin/pip show -q "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    step "pip install ${missing[*]}"
    .venv/bin/pip install -q "${missing[@]}"
  fi
}

# A private PostgreSQL that accepts TLS only (hostnossl rejected), for the TLS tests: a test CA
# and a server certificate for "localhost" made with openssl. Sets KYSO_TEST_PG_TLS_URL (no
# sslmode), KYSO_TEST_PG_TLS_CA and KYSO_TEST_REQUIRE_PG_TLS; stop_tls_postgres stops it.
start_tls_postgres() {
  local initdb
  initdb=$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n1 || true)
  if [ -z "$initdb" ]; then
    echo "note: no initdb; the PostgreSQL TLS test is skipped"
    return 0
  fi
  local bin; bin=$(dirname "$initdb")
  local port=${KYSO_TLS_PG_PORT:-55433}
  TLS_PG_DIR=$(mktemp -d /tmp/kyso-pg-tls.XXXXXX)
  local d=$TLS_PG_DIR runas=()
  local ext="subjectAltName=DNS:localhost
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" \
    -days 3650 -subj "/CN=kyso test PostgreSQL CA" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/server.key" -out "$d/server.csr" \
    -subj "/CN=localhost" 2>/dev/null
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -out "$d/server.crt" -extfile <(printf '%s\n' "$ext") 2>/dev/null
  chmod 600 "$d/server.key"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$d"
    runas=(runuser -u postgres --)
  fi
  "${runas[@]}" "$bin/initdb" -D "$d/data" -A trust -U postgres >/dev/null
  printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n' > "$d/data/pg_hba.conf"
  "${runas[@]}" "$bin/pg_ctl" -D "$d/data" -l "$d/log" -w -o "-c listen_addresses=127.0.0.1 -c port=$port \
    -c unix_socket_directories=$d -c fsync=off -c ssl=on -c ssl_cert_file=$d/server.crt -c ssl_key_file=$d/server.key" \
    start >/dev/null
  TLS_PG_STOP=("${runas[@]}" "$bin/pg_ctl" -D "$d/data" -m fast stop)
  export KYSO_TEST_PG_TLS_URL="postgres://postgres@localhost:$port/postgres"
  export KYSO_TEST_PG_TLS_CA="$d/ca.pem"
  export KYSO_TEST_REQUIRE_PG_TLS=1
}

stop_tls_postgres() {
  if [ -n "${TLS_PG_DIR:-}" ]; then
    "${TLS_PG_STOP[@]}" >/dev/null 2>&1 || true
    rm -rf "$TLS_PG_DIR"
  fi
}

# Installs the test OpenID Connect provider's npm packages (scripts/oidc, pinned by its
# package-lock.json) when node_modules is missing or older than the lock; quiet otherwise.
ensure_oidc_provider() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_install nodejs npm
  fi
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "error: the test OIDC provider needs node (>= 18) and npm on PATH (Debian: apt-get install nodejs npm)" >&2
    return 1
  fi
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/oidc"
  local stamp="$dir/node_modules/.package-lock.json"
  [ -f "$stamp" ] && [ ! "$dir/package-lock.json" -nt "$stamp" ] && return 0
  step "npm ci in scripts/oidc (oidc-provider)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || {
    echo "error: npm ci failed in $dir" >&2
    return 1
  }
  touch "$stamp"
}
