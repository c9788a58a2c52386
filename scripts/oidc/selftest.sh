#!/usr/bin/env bash
# End-to-end check of scripts/oidc/provider.mjs with curl and python3 only: starts the provider
# on a free loopback port, runs the authorization code flow with PKCE (S256) the way kyso's
# tests do, for an MFA and a non-MFA login, exchanges the codes at the token endpoint, checks
# the ID tokens (RS256 signature against the JWKS, sub, email, citizen_id, nonce, amr, acr),
# checks that an unknown login and a request without PKCE are refused, then stops the provider.
# Exits non-zero on the first failure.
#   bash scripts/oidc/selftest.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../lib.sh
. "$root/scripts/lib.sh"
ensure_oidc_provider

work=$(mktemp -d /tmp/kyso-oidc-selftest.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fails=0
passes=0
ok() { passes=$((passes + 1)); printf 'ok   %s\n' "$*"; }
die() {
  printf 'FAIL %s\n' "$*" >&2
  if [ -s "$work/provider.err" ]; then echo '--- provider stderr:' >&2; tail -n 20 "$work/provider.err" >&2; fi
  exit 1
}

cat >"$work/accounts.json" <<'EOF'
[
  {"sub": "alice", "email": "alice@example.vn", "citizen_id": "001099012345", "name": "Nguyễn Thị Alice", "mfa": true},
  {"sub": "bob", "email": "bob@example.vn", "citizen_id": "079088054321", "name": "Trần Văn Bob", "mfa": false}
]
EOF

CLIENT_ID=kyso-test
CLIENT_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
REDIRECT_URI=http://127.0.0.1:9/oidc/callback # never contacted: the test reads the Location

OIDC_PORT=0 OIDC_CLIENT_ID=$CLIENT_ID OIDC_CLIENT_SECRET=$CLIENT_SECRET \
  OIDC_REDIRECT_URI="http://127.0.0.1:9/other,$REDIRECT_URI" OIDC_ACCOUNTS="$work/accounts.json" \
  node "$here/provider.mjs" >"$work/provider.out" 2>"$work/provider.err" &
pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening ' "$work/provider.out" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || die "provider exited before it was ready"
  sleep 0.1
done
ISSUER=$(sed -n 's/^listening //p' "$work/provider.out" | head -n1)
[ -n "$ISSUER" ] || die "provider printed no 'listening' line"
ok "provider started: $ISSUER"

py() { python3 -c "$@"; }
urlenc() { py 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# Prints "<status> <Location>" of a request; the remaining arguments go to curl.
req() {
  curl -sS -o "$work/body" -D "$work/headers" -w '%{http_code}' "$@" >"$work/status"
  local loc
  loc=$(tr -d '\r' <"$work/headers" | sed -n 's/^[Ll]ocation: //p' | tail -n1)
  printf '%s %s\n' "$(cat "$work/status")" "$loc"
}

curl -sSf "$ISSUER/.well-known/openid-configuration" >"$work/discovery.json" || die "discovery document"
py '
import json, sys
d = json.load(open(sys.argv[1]))
iss = sys.argv[2]
assert d["issuer"] == iss, d["issuer"]
assert d["code_challenge_methods_supported"] == ["S256"], d["code_challenge_methods_supported"]
assert "RS256" in d["id_token_signing_alg_values_supported"]
assert {"client_secret_basic", "client_secret_post"} <= set(d["token_endpoint_auth_methods_supported"])
assert "citizen_id" in d["claims_supported"], d["claims_supported"]
' "$work/discovery.json" "$ISSUER" || die "discovery document content"
AUTH_EP=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["authorization_endpoint"])' "$work/discovery.json")
TOKEN_EP=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["token_endpoint"])' "$work/discovery.json")
USERINFO_EP=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["userinfo_endpoint"])' "$work/discovery.json")
JWKS_URI=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["jwks_uri"])' "$work/discovery.json")
curl -sSf "$JWKS_URI" >"$work/jwks.json" || die "jwks"
ok "discovery: S256 only, RS256, basic+post, citizen_id advertised"

# Starts an authorization request with a fresh cookie jar; sets VERIFIER, STATE, NONCE, UID.
start_auth() { # jar
  local jar=$1
  VERIFIER=$(py 'import secrets; print(secrets.token_urlsafe(48))')
  local challenge
  challenge=$(py 'import base64, hashlib, sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b"=").decode())' "$VERIFIER")
  STATE=$(py 'import secrets; print(secrets.token_urlsafe(16))')
  NONCE=$(py 'import secrets; print(secrets.token_urlsafe(16))')
  rm -f "$jar"
  local url="$AUTH_EP?response_type=code&client_id=$(urlenc "$CLIENT_ID")&redirect_uri=$(urlenc "$REDIRECT_URI")"
  url+="&scope=openid%20email%20profile&state=$STATE&nonce=$NONCE&code_challenge=$challenge&code_challenge_method=S256"
  local r; r=$(req -c "$jar" -b "$jar" "$url")
  case "$r" in
    "303 /interaction/"*) UID_=${r#303 /interaction/} ;;
    *) die "GET authorization URL: expected 303 to /interaction/<uid>, got: $r" ;;
  esac
}

# The whole flow for one login; checks the ID token. Args: login mfa(0|1) token-auth(basic|post)
# expected-amr-json expected-acr-or-empty
flow() {
  local login=$1 mfa=$2 auth=$3 want_amr=$4 want_acr=$5
  local jar="$work/jar.$login.$mfa" r
  start_auth "$jar"
  ok "[$login mfa=$mfa] GET /auth -> 303 /interaction/$UID_"

  r=$(req -c "$jar" -b "$jar" "$ISSUER/interaction/$UID_")
  [ "${r%% *}" = 200 ] && grep -q 'name="login"' "$work/body" || die "GET /interaction/<uid>: $r"
  ok "[$login mfa=$mfa] GET /interaction/<uid> -> 200 login form"

  local form=(--data-urlencode "login=$login")
  [ "$mfa" = 1 ] && form+=(--data-urlencode "mfa=1")
  r=$(req -c "$jar" -b "$jar" "${form[@]}" "$ISSUER/interaction/$UID_/login")
  [ "$r" = "303 $ISSUER/auth/$UID_" ] || die "POST /interaction/<uid>/login: expected 303 to $ISSUER/auth/$UID_, got: $r"
  ok "[$login mfa=$mfa] POST /interaction/<uid>/login -> 303 /auth/<uid>"

  r=$(req -c "$jar" -b "$jar" "$ISSUER/auth/$UID_")
  case "$r" in
    "303 $REDIRECT_URI?"*) ;;
    *) die "GET /auth/<uid> (resume): expected 303 to the redirect_uri, got: $r" ;;
  esac
  local code
  code=$(py '
import sys, urllib.parse
q = urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)
assert q["state"] == [sys.argv[2]], ("state", q.get("state"))
assert q["iss"] == [sys.argv[3]], ("iss", q.get("iss"))
assert "error" not in q, q
print(q["code"][0])
' "${r#303 }" "$STATE" "$ISSUER") || die "redirect to the client: ${r#303 }"
  ok "[$login mfa=$mfa] GET /auth/<uid> -> 303 redirect_uri?code&state&iss"

  local tok=(--data-urlencode grant_type=authorization_code --data-urlencode "code=$code"
    --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER")
  if [ "$auth" = basic ]; then
    tok+=(-u "$CLIENT_ID:$CLIENT_SECRET")
  else
    tok+=(--data-urlencode "client_id=$CLIENT_ID" --data-urlencode "client_secret=$CLIENT_SECRET")
  fi
  r=$(req "${tok[@]}" "$TOKEN_EP")
  [ "${r%% *}" = 200 ] || die "POST /token ($auth): $r $(cat "$work/body")"
  cp "$work/body" "$work/token.json"
  ok "[$login mfa=$mfa] POST /token (client_secret_$auth) -> 200"

  py '
import base64, hashlib, json, sys, time
tok = json.load(open(sys.argv[1]))
jwks = json.load(open(sys.argv[2]))
iss, client_id, sub, nonce, want_amr, want_acr = sys.argv[3:9]
want_amr = json.loads(want_amr)
accounts = {a["sub"]: a for a in json.load(open(sys.argv[9]))}

def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

h64, p64, s64 = tok["id_token"].split(".")
header, claims = json.loads(b64d(h64)), json.loads(b64d(p64))
assert header["alg"] == "RS256", header
key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
n = int.from_bytes(b64d(key["n"]), "big"); e = int.from_bytes(b64d(key["e"]), "big")
k = (n.bit_length() + 7) // 8
em = pow(int.from_bytes(b64d(s64), "big"), e, n).to_bytes(k, "big")
digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256((h64 + "." + p64).encode()).digest()
assert em == b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info, "bad RS256 signature"

a = accounts[sub]
def eq(name, want):
    assert claims.get(name) == want, (name, claims.get(name), want)
eq("iss", iss); eq("aud", client_id); eq("sub", sub); eq("nonce", nonce)
eq("email", a["email"]); eq("email_verified", True); eq("name", a["name"]); eq("citizen_id", a["citizen_id"])
assert len(claims["citizen_id"]) == 12 and claims["citizen_id"].isdigit()
eq("amr", want_amr)
if want_acr:
    eq("acr", want_acr)
else:
    assert claims.get("acr") != "urn:kyso:mfa", claims.get("acr")
assert claims["exp"] > time.time() and abs(claims["auth_time"] - time.time()) < 60
print(json.dumps({k: claims[k] for k in ("sub", "email", "citizen_id", "name", "nonce", "amr", "acr") if k in claims}, ensure_ascii=False))
' "$work/token.json" "$work/jwks.json" "$ISSUER" "$CLIENT_ID" "$login" "$NONCE" "$want_amr" "$want_acr" \
    "$work/accounts.json" >"$work/claims" || die "[$login mfa=$mfa] ID token claims"
  ok "[$login mfa=$mfa] ID token (RS256 verified): $(cat "$work/claims")"

  local at
  at=$(py 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$work/token.json")
  curl -sSf -H "Authorization: Bearer $at" "$USERINFO_EP" >"$work/userinfo.json" || die "userinfo"
  py 'import json,sys; u=json.load(open(sys.argv[1])); assert u["sub"]==sys.argv[2] and len(u["citizen_id"])==12, u' \
    "$work/userinfo.json" "$login" || die "userinfo content"
  ok "[$login mfa=$mfa] userinfo has sub and citizen_id"

  # The code is single use.
  r=$(req "${tok[@]}" "$TOKEN_EP")
  [ "${r%% *}" = 400 ] && grep -q invalid_grant "$work/body" || die "second use of the code: $r"
  ok "[$login mfa=$mfa] the code cannot be used twice (400 invalid_grant)"
}

flow alice 1 basic '["pwd","otp"]' urn:kyso:mfa
flow alice 0 post '["pwd"]' ''
flow bob 1 basic '["pwd"]' '' # bob has no second factor: mfa=1 is ignored

# An unknown login is refused with an error page and does not log in.
jar="$work/jar.unknown"
start_auth "$jar"
r=$(req -c "$jar" -b "$jar" --data-urlencode login=mallory "$ISSUER/interaction/$UID_/login")
[ "$r" = "400 " ] && grep -q 'unknown login' "$work/body" || die "unknown login: expected 400, got: $r"
r=$(req -c "$jar" -b "$jar" "$ISSUER/auth/$UID_")
case "$r" in "303 $REDIRECT_URI?"*code=*) die "unknown login still yielded a code: $r" ;; esac
ok "unknown login -> 400 error page, no code ($r on resume)"

# Without the interaction cookie the login POST is refused.
start_auth "$work/jar.nocookie"
r=$(req --data-urlencode login=alice "$ISSUER/interaction/$UID_/login")
[ "${r%% *}" = 400 ] || die "login POST without the _interaction cookie: $r"
ok "login POST without the _interaction cookie -> 400"

# PKCE is required: an authorization request without code_challenge goes back with an error.
r=$(req "$AUTH_EP?response_type=code&client_id=$CLIENT_ID&redirect_uri=$(urlenc "$REDIRECT_URI")&scope=openid&state=s1&nonce=n1")
case "$r" in
  "303 $REDIRECT_URI?"*error=invalid_request*) ok "no code_challenge -> 303 redirect_uri?error=invalid_request" ;;
  *) die "authorization request without PKCE: $r" ;;
esac

# A wrong code_verifier is refused at the token endpoint.
jar="$work/jar.badpkce"
start_auth "$jar"
req -c "$jar" -b "$jar" --data-urlencode login=bob "$ISSUER/interaction/$UID_/login" >/dev/null
r=$(req -c "$jar" -b "$jar" "$ISSUER/auth/$UID_")
code=$(py 'import sys,urllib.parse; print(urllib.parse.parse_qs(urllib.parse.urlsplit(sys.argv[1]).query)["code"][0])' "${r#303 }")
r=$(req -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=${VERIFIER}x" "$TOKEN_EP")
[ "${r%% *}" = 400 ] && grep -q invalid_grant "$work/body" || die "wrong code_verifier: $r"
ok "wrong code_verifier -> 400 invalid_grant"

# A wrong client secret is refused.
r=$(req -u "$CLIENT_ID:wrong" --data-urlencode grant_type=authorization_code --data-urlencode code=x \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode code_verifier=x "$TOKEN_EP")
[ "${r%% *}" = 401 ] && grep -q invalid_client "$work/body" || die "wrong client secret: $r"
ok "wrong client secret -> 401 invalid_client"

kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
ok "provider stopped"
echo "oidc selftest: $passes passed, $fails failed"
