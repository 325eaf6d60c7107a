#!/usr/bin/env bash
# schemathesis against the running service's own OpenAPI document
# (/api/auth/open-api/generate-schema): a bounded number of generated requests per operation,
# failing on any 5xx, any response that breaks the documented schema or content type.
# Usage: scripts/schemathesis.sh [path-to-binary]   (default: target/debug/better-auth-rs)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/better-auth-rs}
# The test suite's one venv (scripts/test.sh makes it from tests/requirements.txt).
venv=target/python-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv" 2>/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    python3 -m venv "$venv"
  }
  "$venv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cat > "$dir/better-auth.toml" <<TOML
danger_password_hashing = "danger_test_minimum"
[user.additional_fields.role]
type = "string"
required = false
default = "user"
input = false
[user.additional_fields.nickname]
type = "string"
required = false
[user.delete_user]
enabled = true
[user.change_email]
enabled = true
[plugins.jwt]
enabled = true
[plugins.two_factor]
enabled = true
[plugins.passkey]
enabled = true
[plugins.two_factor.otp_options]
send_otp = true
[plugins.api_key]
enabled = true
enable_session_for_api_keys = true
enable_metadata = true
[email]
transport = "file"
file = "$dir/outbox.jsonl"
TOML
BETTER_AUTH_CONFIG="$dir/better-auth.toml" DATABASE_URL="sqlite://$dir/auth.db?mode=rwc" \
  BETTER_AUTH_SECRET="schemathesis-secret-0123456789abcdefghij" BETTER_AUTH_URL="$base" \
  BETTER_AUTH_TRUSTED_ORIGINS="http://localhost:3000" HOST=127.0.0.1 PORT="$port" RUST_LOG=warn \
  "$bin" serve > "$dir/service.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$base/api/auth/ok" >/dev/null 2>&1 && break
  sleep 0.1
done
# A signed-in user, so that the session endpoints are exercised past their 401.
token=$(curl -fsS "$base/api/auth/sign-up/email" -H 'content-type: application/json' \
  -H 'origin: http://localhost:3000' \
  -d '{"email":"fuzz@example.com","password":"fuzz-password-123","name":"Fuzz"}' \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

"$venv/bin/schemathesis" run "$base/api/auth/open-api/generate-schema" \
  --url "$base/api/auth" --checks not_a_server_error,response_schema_conformance,content_type_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-30}" --seed 1 --no-color \
  --phases examples,coverage,fuzzing --generation-database none \
  -H "Authorization: Bearer $token" -H "Origin: http://localhost:3000"
