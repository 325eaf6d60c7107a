#!/usr/bin/env bash
# Instructions per request of the service, counted by valgrind's callgrind: a figure that does
# not move with the load on the machine, for comparing two builds (say, before and after a
# refactoring) where wall-clock figures would be noise.
#
#   bash bench/instructions.sh BINARY [BINARY...]     # each a release build of better-auth-rs
#   options (environment): REQUESTS (default 200)
#
# For each binary: SQLite in a temporary folder, the JWT plugin on; one user signs up, 20
# warm-up requests, then the counters are zeroed and REQUESTS `/ok` (what every request pays:
# routing, middleware, logging), REQUESTS get-session and REQUESTS `/token` requests are
# counted, each route on its own. Prints instructions per request.
set -euo pipefail
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }
requests=${REQUESTS:-200}
export USER=${USER:-$(id -un)} LOGNAME=${LOGNAME:-$(id -un)}
# vgdb names its pipes after $HOST: the same value for the service and for callgrind_control.
export HOST=127.0.0.1

count() { # BINARY PATH COOKIE → instructions per request of GET PATH
  local pid=$1 path=$2 cookie=$3 port=$4 out=$5
  callgrind_control -z "$pid" >/dev/null 2>&1
  for _ in $(seq "$requests"); do
    curl -sf -o /dev/null -H "cookie: $cookie" "http://127.0.0.1:$port/api/auth$path"
  done
  callgrind_control -d "$pid" >/dev/null 2>&1
  local total
  total=$(ls -t "$out".* | head -n 1 | xargs grep -h '^summary:' | awk '{print $2}')
  echo $((total / requests))
}

for bin in "$@"; do
  dir=$(mktemp -d)
  port=$((20000 + RANDOM % 20000))
  cat > "$dir/config.toml" <<EOF
[plugins.jwt]
enabled = true
EOF
  BETTER_AUTH_CONFIG="$dir/config.toml" DATABASE_URL="sqlite://$dir/db.sqlite?mode=rwc" \
    BETTER_AUTH_SECRET=instructions-bench-secret-0123456789abcdef BETTER_AUTH_ENV=development \
    BETTER_AUTH_URL="http://127.0.0.1:$port" PORT=$port HOST=127.0.0.1 RUST_LOG=warn \
    valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$bin" serve \
    >"$dir/log" 2>&1 &
  vg=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break
    sleep 1
  done
  cookie=$(curl -sf -D - -o /dev/null -H 'content-type: application/json' \
    -H "origin: http://127.0.0.1:$port" \
    -d '{"email":"bench@example.com","password":"bench-password-1","name":"Bench"}' \
    "http://127.0.0.1:$port/api/auth/sign-up/email" |
    awk -F'[:;] *' 'tolower($1)=="set-cookie" && $2 ~ /session_token=/ {print $2}')
  for _ in $(seq 20); do
    curl -sf -o /dev/null -H "cookie: $cookie" "http://127.0.0.1:$port/api/auth/get-session"
    curl -sf -o /dev/null -H "cookie: $cookie" "http://127.0.0.1:$port/api/auth/token"
  done
  ok=$(count "$vg" /ok "" "$port" "$dir/cg.out")
  session=$(count "$vg" /get-session "$cookie" "$port" "$dir/cg.out")
  token=$(count "$vg" /token "$cookie" "$port" "$dir/cg.out")
  kill "$vg"
  wait "$vg" 2>/dev/null || true
  printf '%s\n  /ok:         %s instructions per request\n  get-session: %s instructions per request\n  /token:      %s instructions per request\n' \
    "$bin" "$ok" "$session" "$token"
  rm -rf "$dir"
done
