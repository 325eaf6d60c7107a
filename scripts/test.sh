#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs, then runs the Rust unit
# and black-box API tests (SQLite, PostgreSQL, MariaDB), and the end-to-end tests with the
# official Better Auth client, against this service and against the real Better Auth, the
# Kubernetes manifests, three replicas behind HAProxy restarted one by one under load, and a
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
# The load balancer of the replicas test; setpriv runs the binary as the image's user.
command -v haproxy >/dev/null 2>&1 || need_apt+=(haproxy)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
# Headless Chromium for the browser tests (tests/node/chromium.mjs).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The Python tests' venv; creating it is the real test of python3-venv (Debian splits it off).
venv="$root/target/python-venv"
mkdir -p "$root/target"
if [ ! -x "$venv/bin/python" ] && ! python3 -m venv "$venv" >/dev/null 2>&1; then
  rm -rf "$venv"
  need_apt+=(python3 python3-venv)
fi
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

step "building without the governor feature (no actix-governor, no memory rate-limit storage)"
no_default_ok=0
# A build, not a check: it reuses the dependencies just compiled instead of checking them all
# again.
cargo build --locked --no-default-features --lib 2>&1 | tail -n 3
if [ "${PIPESTATUS[0]}" = 0 ]; then no_default_ok=1; else failed=1; fi

step "installing the Node test dependencies (better-auth, official client)"
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error) || exit 1
# The React example the browser test builds (tests/node/react.test.mjs).
(cd examples/react && npm ci --no-audit --no-fund --loglevel=error) || exit 1

step "installing the Python test dependencies (tests/requirements.txt, pinned) into target/python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" || exit 1
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt || exit 1

# --- tests ------------------------------------------------------------------------------
step "Rust unit tests and black-box API tests"
TEST_SKIP_LOG="$log_dir/skipped.txt" TEST_LOG_FILE="$log_dir/service.log" \
  TEST_SECRETS_LOG="$log_dir/secrets.txt" \
  cargo test --locked --workspace 2>&1 | tee "$log_dir/cargo.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "log scan: no password, token, cookie value or secret used by the API tests appears in the service's logs"
if [ ! -s "$log_dir/secrets.txt" ] || [ ! -s "$log_dir/service.log" ]; then
  echo "FAILED: the API tests recorded no secrets or no logs to scan"
  failed=1
else
  sort -u "$log_dir/secrets.txt" -o "$log_dir/secrets.txt"
  leaks=$(grep -c -F -f "$log_dir/secrets.txt" "$log_dir/service.log")
  echo "scanned $(wc -l < "$log_dir/service.log") log lines for $(wc -l < "$log_dir/secrets.txt") secrets: $leaks lines leak"
  if [ "$leaks" != 0 ]; then
    echo "FAILED: log lines holding a secret (secrets masked):"
    grep -n -F -f "$log_dir/secrets.txt" "$log_dir/service.log" | cut -c1-80 | sed -E 's/[A-Za-z0-9_-]{12,}/<masked>/g' | head -20
    failed=1
  fi
fi

step "replicas: three instances on one PostgreSQL and Redis behind HAProxy, restarted one by one under load"
replicas_start=$(date +%s)
TEST_SKIP_LOG="$log_dir/skipped.txt" cargo test --locked --test api -- --ignored replicas --nocapture 2>&1 | tee "$log_dir/replicas.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1
echo "replicas step: $(( $(date +%s) - replicas_start )) s"

step "Kubernetes manifests: schemas (kubernetes-validate, offline), coherence, the ConfigMap's TOML loaded by the service"
BETTER_AUTH_BIN="$root/target/debug/better-auth-rs" "$venv/bin/python" -m pytest -p no:cacheprovider tests/deploy 2>&1 | tee "$log_dir/pytest-deploy.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "end-to-end: official client against better-auth-rs, and a database shared with the real Better Auth"
BETTER_AUTH_BIN="$root/target/debug/better-auth-rs" node --test tests/node/ 2>&1 | tee "$log_dir/node-rs.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "end-to-end: the same assertions against the real Better Auth (reference)"
E2E_TARGET=reference node --test tests/node/e2e*.test.mjs 2>&1 | tee "$log_dir/node-ref.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "Python: the example service, and PyJWT's JWKS client, against better-auth-rs"
BETTER_AUTH_BIN="$root/target/debug/better-auth-rs" "$venv/bin/python" -m pytest -p no:cacheprovider examples/python/tests 2>&1 | tee "$log_dir/pytest.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=1

step "schemathesis: generated requests against the service's own OpenAPI document"
bash scripts/schemathesis.sh 2>&1 | tee "$log_dir/schemathesis.log"
if [ "${PIPESTATUS[0]}" = 0 ]; then schemathesis_pass=1; schemathesis_fail=0; else schemathesis_pass=0; schemathesis_fail=1; failed=1; fi

step "bench smoke: bench/run.sh --smoke (both servers start, every scenario gets answers)"
bench_ok=1
bash bench/run.sh --smoke --out "$log_dir/bench-smoke.json" 2>&1 | tee "$log_dir/bench.log"
[ "${PIPESTATUS[0]}" = 0 ] || { bench_ok=0; failed=1; }

# --- summary ----------------------------------------------------------------------------
passed=$(cat "$log_dir/cargo.log" "$log_dir/replicas.log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
fails=$(cat "$log_dir/cargo.log" "$log_dir/replicas.log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
if [ "$no_default_ok" = 1 ]; then passed=$((passed + 1)); else fails=$((fails + 1)); fi
for f in "$log_dir"/node-*.log; do
  passed=$((passed + $(grep -Eo '^# pass [0-9]+' "$f" | awk '{s+=$3} END {print s+0}')))
  fails=$((fails + $(grep -Eo '^# fail [0-9]+' "$f" | awk '{s+=$3} END {print s+0}')))
done
passed=$((passed + schemathesis_pass))
fails=$((fails + schemathesis_fail))
for f in "$log_dir/pytest.log" "$log_dir/pytest-deploy.log"; do
  pytest_summary=$(tail -n 1 "$f")
  passed=$((passed + $(echo "$pytest_summary" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')))
  fails=$((fails + $(echo "$pytest_summary" | grep -Eo '[0-9]+ (failed|errors?)' | awk '{s+=$1} END {print s+0}')))
done
if [ "$bench_ok" = 1 ]; then passed=$((passed + 1)); else fails=$((fails + 1)); fi
echo
grep -h '^REPLICAS:' "$log_dir/replicas.log" || true
if [ -s "$log_dir/skipped.txt" ]; then
  echo "tests skipped because a server or tool was unavailable (count, reason):"
  sed -E 's/ \(.*//' "$log_dir/skipped.txt" | sort | uniq -c
fi
rm -rf "$log_dir"
if [ "$failed" != 0 ] && [ "$fails" = 0 ]; then fails=1; fi
echo "total: $passed passed, $fails failed"
exit "$failed"
