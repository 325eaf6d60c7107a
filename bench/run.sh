#!/usr/bin/env bash
# Benchmarks better-auth-rs against the real Better Auth (see bench/bench.mjs and bench/README.md).
#
#   bash bench/run.sh                 # full run: release build, 32 connections, 10 s per scenario
#   bash bench/run.sh --smoke         # CI: debug build, 4 connections, 2 s per scenario
#   options: --out FILE  --duration SECONDS  --connections N  --rounds N  --only KEY,...
#   (the plugin and social scenarios: --only sign-in-social,social-callback,verify-totp,
#    passkey-authenticate,get-full-organization,has-permission,api-key)
#
# Needs PostgreSQL on 127.0.0.1:5432 (BENCH_POSTGRES_URL, user allowed to create databases).
# Installs wrk (apt) and the pinned npm packages of tests/node when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
for arg in "$@"; do
  if [ "$arg" = --smoke ]; then profile=debug; fi
done

if ! command -v wrk >/dev/null 2>&1; then
  echo "==> installing wrk"
  sudo_=""
  [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq wrk
fi
if [ ! -d tests/node/node_modules/better-auth ]; then
  echo "==> installing the Node reference (tests/node)"
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "==> building better-auth-rs ($profile)"
build=(cargo build --locked --bin better-auth-rs --example hash_time)
[ "$profile" = release ] && build+=(--release)
"${build[@]}"

BENCH_COMMAND="bash bench/run.sh $*" exec node bench/bench.mjs \
  --bin "target/$profile/better-auth-rs" \
  --hash-time "target/$profile/examples/hash_time" "$@"
