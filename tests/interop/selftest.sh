#!/usr/bin/env bash
# Quick check of the interop peers: provider.mjs on a free loopback port, and
# rp.mjs logging in against it directly (single hop). Asserts that the
# account's given_name comes back in the ID token and that acr is the first
# requested value the provider supports.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi

work="$(mktemp -d)"
provider_pid=""
cleanup() {
  if [ -n "$provider_pid" ]; then kill "$provider_pid" 2>/dev/null || true; wait "$provider_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
issuer="http://127.0.0.1:${port}"
secret="selftest-secret-0123456789abcdef0123456789"
redirect="http://127.0.0.1:9/callback"

cat >"$work/config.json" <<EOF
{
  "port": ${port},
  "issuer": "${issuer}",
  "clients": [{ "client_id": "selftest-rp", "client_secret": "${secret}", "redirect_uris": ["${redirect}"] }],
  "acr_values": ["urn:test:loa2", "urn:test:loa3"],
  "accounts": {
    "alice": { "given_name": "Alice", "family_name": "Tremblay", "birthdate": "1980-04-01",
               "address": { "locality": "Edmonton", "region": "AB", "country": "CA" } },
    "bob": { "given_name": "Bob", "family_name": "Gagnon", "birthdate": "1975-12-31" }
  },
  "default_account": "alice"
}
EOF

node provider.mjs "$work/config.json" >"$work/provider.out" 2>"$work/provider.err" &
provider_pid=$!
for _ in $(seq 1 200); do
  if grep -q '^READY ' "$work/provider.out" 2>/dev/null; then break; fi
  if ! kill -0 "$provider_pid" 2>/dev/null; then
    echo "provider exited early:" >&2; cat "$work/provider.err" >&2; exit 1
  fi
  sleep 0.1
done
grep -qx "READY ${issuer}" "$work/provider.out" || { echo "provider not ready" >&2; cat "$work/provider.err" >&2; exit 1; }

rp() {
  node rp.mjs --issuer "$issuer" --client-id selftest-rp --client-secret "$secret" --redirect-uri "$redirect" "$@"
}

# assert JSON EXPECTED-NODE-EXPRESSION DESCRIPTION: the expression sees the output as `r`.
assert() {
  node -e '
    const r = JSON.parse(process.argv[1]);
    if (!(eval(process.argv[2]))) {
      console.error(`FAIL: ${process.argv[3]}\n  ${process.argv[2]}\n  got ${process.argv[1]}`);
      process.exit(1);
    }
    console.error(`ok: ${process.argv[3]}`);
  ' "$1" "$2" "$3"
}

passed=0
failed=0
check() {
  if assert "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

# 1. Default account, second requested acr is the first supported one; client_secret_basic.
out="$(rp --scope "openid profile address" --acr-values "urn:unknown urn:test:loa3" || true)"
check "$out" 'r.id_token_claims?.given_name === "Alice"' "default account given_name in ID token"
check "$out" 'r.id_token_claims?.acr === "urn:test:loa3"' "acr is the first requested supported value"
check "$out" 'r.id_token_claims?.address?.locality === "Edmonton" && r.userinfo?.family_name === "Tremblay"' "address in ID token, profile in userinfo"
check "$out" 'r.id_token_header?.alg === "RS256" && r.authorization_response?.iss === "'"$issuer"'"' "RS256 ID token, iss in authorization response"

# 2. login_hint picks the account; no acr requested gives the provider's first; client_secret_post.
out="$(rp --login-hint bob --auth client_secret_post || true)"
check "$out" 'r.id_token_claims?.given_name === "Bob" && r.id_token_claims?.sub === "bob"' "login_hint selects the account"
check "$out" 'r.id_token_claims?.acr === "urn:test:loa2"' "acr defaults to the provider's first value"

# 3. An error in the authorization response is reported (prompt=none cannot sign in).
set +e
out="$(rp --extra prompt=none)"
rc=$?
set -e
check "$out" 'r.error === "login_required" && '"$rc"' === 1' "authorization error reported, exit 1"

echo "interop selftest: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
