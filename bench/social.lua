-- wrk script of the `social-callback` scenario (bench/bench.mjs): each iteration is a pair,
-- POST /sign-in/social (the service stores a state and answers the provider's URL and a
-- signed state cookie) then GET /callback/<provider>?code=…&state=… with that cookie (the
-- service takes the state, asks the provider for tokens and the profile, signs the user in and
-- redirects to the callbackURL). A callback is only possible with a state its own sign-in/social
-- made, so requests alternate: a connection ready to send takes the oldest state not used yet,
-- or starts a new pair when there is none. Both requests count in wrk's figures.
--
-- Each callback carries the code `bench-code-<n>`, n going round BENCH_PEOPLE people (the fake
-- provider signs in person n for it), so the callbacks sign in many people at once.
--
-- Environment: BENCH_SIGN_IN_PATH, BENCH_SIGN_IN_BODY (JSON), BENCH_ORIGIN, BENCH_CALLBACK_PATH
-- (/api/auth/callback/mock), BENCH_CALLBACK_LOCATION (where a successful callback redirects),
-- BENCH_PEOPLE.
-- A callback answered otherwise (a 302 to the error page is no wrk error) counts in `failed`;
-- `BENCH_RESULT {json}` at the end carries the figures, as bench/request.lua's does.

local sign_in_path = os.getenv("BENCH_SIGN_IN_PATH")
local sign_in_body = os.getenv("BENCH_SIGN_IN_BODY")
local origin = os.getenv("BENCH_ORIGIN")
local callback_path = os.getenv("BENCH_CALLBACK_PATH")
local expected = os.getenv("BENCH_CALLBACK_LOCATION")
local people = tonumber(os.getenv("BENCH_PEOPLE") or "1")

local threads = {}
function setup(thread)
  threads[#threads + 1] = thread
  thread:set("person", #threads * 7)
end

local sign_in
local pending = {}
local first, last = 1, 0
failed = 0
callbacks = 0

function init(args)
  sign_in = wrk.format("POST", sign_in_path,
    { ["Content-Type"] = "application/json", ["Origin"] = origin }, sign_in_body)
end

function request()
  if first <= last then
    local p = pending[first]
    pending[first] = nil
    first = first + 1
    person = (person + 1) % people
    return wrk.format("GET", callback_path .. "?code=bench-code-" .. person .. "&state=" .. p.state,
      { ["Cookie"] = p.cookie }, nil)
  end
  return sign_in
end

local function header(headers, name)
  for k, v in pairs(headers) do
    if string.lower(k) == name then return v end
  end
  return nil
end

function response(status, headers, body)
  if status == 200 then
    -- The sign-in/social answer: {"url": "...&state=...", "redirect": true}.
    local state = body and string.match(body, "[?&]state=([^&\"]+)")
    local cookie = header(headers, "set-cookie")
    if state and cookie then
      last = last + 1
      pending[last] = { state = state, cookie = string.match(cookie, "^[^;]+") }
    else
      failed = failed + 1
    end
  elseif status == 302 then
    callbacks = callbacks + 1
    if header(headers, "location") ~= expected then failed = failed + 1 end
  elseif status < 400 then
    -- Neither answer (wrk counts 4xx and 5xx itself).
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local bad, calls = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("failed")
    calls = calls + t:get("callbacks")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"failed":%d,"iterations":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"p50":%d,"p90":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, summary.bytes, bad, calls,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
