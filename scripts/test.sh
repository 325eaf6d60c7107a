#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs the Rust unit
# and black-box API tests (SQLite, PostgreSQL, MariaDB), and the end-to-end tests with the
# official Better Auth client, against this service and against the real Better Auth, and a
# short smoke run of the benchmarks (bench/run.sh --smoke).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log_dir=$(mktemp -d)
failed=0

step() { printf '\n==> %s\n' "$*"; }

# --- set-up -----------------------------------------------------------------------------
need_apt=()
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing ${need_apt[*]}"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  fi
fi

step "building (debug) the service and its tests"
cargo build --locked --workspace --bins --tests || exit 1

step "installing the Node test dependencies (better-auth, official client)"
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || exit 1

# --- tests ------------------------------------------------------------------------------
step "Rust unit tests and black-box API tests"
TEST_SKIP_LOG="$log_dir/skipped.txt" cargo test --locked --workspace 2>&1 | tee "$log_dir/cargo.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "end-to-end: official client against better-auth-rs, and a database shared with the real Better Auth"
BETTER_AUTH_BIN="$root/target/debug/better-auth-rs" node --test tests/node/ 2>&1 | tee "$log_dir/node-rs.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "end-to-end: the same assertions against the real Better Auth (reference)"
E2E_TARGET=reference node --test tests/node/e2e*.test.mjs 2>&1 | tee "$log_dir/node-ref.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "bench smoke: bench/run.sh --smoke (both servers start, every scenario gets answers)"
bench_ok=1
bash bench/run.sh --smoke --out "$log_dir/bench-smoke.json" 2>&1 | tee "$log_dir/bench.log"
[ "${PIPESTATUS[0]}" = 0 ] || { bench_ok=0; failed=1; }

# --- summary ----------------------------------------------------------------------------
passed=$(cat "$log_dir/cargo.log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
fails=$(cat "$log_dir/cargo.log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
for f in "$log_dir"/node-*.log; do
  passed=$((passed + $(grep -Eo '^# pass [0-9]+' "$f" | awk '{s+=$3} END {print s+0}')))
  fails=$((fails + $(grep -Eo '^# fail [0-9]+' "$f" | awk '{s+=$3} END {print s+0}')))
done
if [ "$bench_ok" = 1 ]; then passed=$((passed + 1)); else fails=$((fails + 1)); fi
echo
if [ -s "$log_dir/skipped.txt" ]; then
  echo "tests skipped because a database server was unreachable (count, reason):"
  sed -E 's/ \(.*//' "$log_dir/skipped.txt" | sort | uniq -c
fi
rm -rf "$log_dir"
if [ "$failed" != 0 ] && [ "$fails" = 0 ]; then fails=1; fi
echo "total: $passed passed, $fails failed"
exit "$failed"
