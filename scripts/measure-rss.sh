#!/usr/bin/env bash
# Resident memory of the service (docs/operations.md §1, the Kubernetes resource requests):
# idle after start, then the peak over $SIGNUPS sign-ups (16 at a time, full-cost hashing) and
# $SESSIONS get-session (32 at a time), on PostgreSQL (127.0.0.1:5432, a database of its own)
# and Redis (127.0.0.1:6379), production settings.
#   bash scripts/measure-rss.sh target/release/better-auth-rs [port]
set -u
BIN=$1; PORT=${2:-39101}
SIGNUPS=${SIGNUPS:-400}; SESSIONS=${SESSIONS:-4000}
work=$(mktemp -d)
db=rss_$(date +%s%N)
psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $db" >/dev/null
export BETTER_AUTH_SECRET=rss-measure-secret-0123456789abcdef0123456789 BETTER_AUTH_ENV=production \
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db REDIS_URL=redis://127.0.0.1:6379 \
  BETTER_AUTH_URL=http://localhost:3001 HOST=127.0.0.1 PORT=$PORT LOG_FORMAT=json RUST_LOG=warn \
  BETTER_AUTH_CONFIG=$work/rss.toml
cat > $work/rss.toml <<'T'
[redis]
key_prefix = "rss-measure:"
[rate_limit]
enabled = false
[plugins.jwt]
enabled = true
[metrics]
enabled = true
port = 39464
T
"$BIN" > $work/serve.log 2>&1 &
pid=$!
for i in $(seq 1 100); do curl -sf localhost:$PORT/ready >/dev/null && break; sleep 0.1; done
sleep 2
idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
signup() { curl -s -o /dev/null -w "%{http_code}\n" -X POST localhost:$PORT/api/auth/sign-up/email -H 'content-type: application/json' -H 'origin: http://localhost:3001' -d "{\"email\":\"u$1@example.com\",\"password\":\"password-$1\",\"name\":\"U\"}"; }
export -f signup; export PORT
start=$(date +%s.%N)
seq 1 "$SIGNUPS" | xargs -P 16 -I{} bash -c 'signup {}' | sort | uniq -c > $work/signups.txt
mid=$(date +%s.%N)
hwm_signup=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
tok=$(curl -s -X POST localhost:$PORT/api/auth/sign-in/email -H 'content-type: application/json' -H 'origin: http://localhost:3001' -d '{"email":"u1@example.com","password":"password-1"}' -D - -o /dev/null | grep -i '^set-cookie: better-auth.session_token' | sed 's/^[^=]*=//; s/;.*//')
seq 1 "$SESSIONS" | xargs -P 32 -I{} curl -s -o /dev/null -w "%{http_code}\n" localhost:$PORT/api/auth/get-session -H "cookie: better-auth.session_token=$tok" | sort | uniq -c > $work/sessions.txt
end=$(date +%s.%N)
hwm=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
after=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
sleep 3
settled=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
kill -TERM $pid; wait $pid; code=$?
echo "binary: $BIN"
echo "idle RSS after start: $((idle/1024)) MiB ($idle kB)"
echo "peak RSS (VmHWM) after $SIGNUPS sign-ups: $((hwm_signup/1024)) MiB; after $SESSIONS get-session: $((hwm/1024)) MiB ($hwm kB)"
echo "RSS right after the load: $((after/1024)) MiB; 3 s later: $((settled/1024)) MiB"
echo "sign-ups: $(tr '\n' ' ' < $work/signups.txt) in $(echo "$mid - $start" | bc) s; get-session: $(tr '\n' ' ' < $work/sessions.txt) in $(echo "$end - $mid" | bc) s; exit $code"
psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
redis-cli --scan --pattern 'rss-measure:*' | xargs -r redis-cli del >/dev/null
rm -rf "$work"
