-- wrk script shared by every scenario of bench/bench.mjs. The request comes from the
-- environment: BENCH_METHOD (GET), BENCH_PATH, BENCH_COOKIES_FILE (cookies, one per line:
-- the requests cycle through them; a line `value<TAB>body` gives that request its own body),
-- BENCH_LINES_HEADER (the header the lines go in, default Cookie; x-api-key for API keys),
-- BENCH_ORIGIN, BENCH_BODY (JSON), BENCH_SIGN_UP=1 (a unique e-mail per request: thread id +
-- counter). When wrk is done, one line `BENCH_RESULT {json}`
-- carries the figures (latencies in microseconds).

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local cookies_file = os.getenv("BENCH_COOKIES_FILE")
local origin = os.getenv("BENCH_ORIGIN")
local body = os.getenv("BENCH_BODY")
local sign_up = os.getenv("BENCH_SIGN_UP") == "1"
local lines_header = os.getenv("BENCH_LINES_HEADER") or "Cookie"
if lines_header == "" then lines_header = "Cookie" end
local run = os.getenv("BENCH_RUN_ID") or tostring(os.time())

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local counter = 0
local prepared = {}

function init(args)
  wrk.method = method
  if origin and origin ~= "" then wrk.headers["Origin"] = origin end
  if body or sign_up then wrk.headers["Content-Type"] = "application/json" end
  if body then wrk.body = body end
  if cookies_file and cookies_file ~= "" then
    for line in io.lines(cookies_file) do
      if line ~= "" then
        local value, own = string.match(line, "^([^\t]*)\t(.*)$")
        if value then
          wrk.headers["Content-Type"] = "application/json"
        else
          value, own = line, body
        end
        wrk.headers[lines_header] = value
        prepared[#prepared + 1] = wrk.format(method, path, wrk.headers, own)
      end
    end
    wrk.headers[lines_header] = nil
    -- The threads start at different sessions.
    counter = (id * 17) % #prepared
  end
end

-- Without request(), wrk formats the request once and sends the same bytes every time, instead
-- of calling into Lua per request (CPU that wrk would take from the servers it measures, since
-- they share the machine's cores). Sign-up needs a new e-mail each time, and the cookies a
-- different session each time: only they define it.
if sign_up then
  function request()
    counter = counter + 1
    local email = string.format("u-%s-%d-%d@bench.example", run, id, counter)
    local json = string.format(
      '{"email":"%s","password":"bench-password-0123","name":"Bench User"}', email)
    return wrk.format(method, path, nil, json)
  end
elseif cookies_file and cookies_file ~= "" then
  function request()
    counter = counter % #prepared + 1
    return prepared[counter]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
