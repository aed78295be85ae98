-- B5 (bench/load.py): every connection cycles through the mixed pages with a signed-in session.
-- Paths and cookie come from the environment (MALAN_PATHS: one per line; MALAN_COOKIE).
local paths = {}
for p in string.gmatch(os.getenv("MALAN_PATHS") or "/", "[^\n]+") do
  paths[#paths + 1] = p
end
local cookie = os.getenv("MALAN_COOKIE") or ""
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  requests = 0
  bad = 0
end

function request()
  requests = requests + 1
  local path = paths[(requests + id) % #paths + 1]
  return wrk.format("GET", path, {["Cookie"] = cookie})
end

function response(status, headers, body)
  -- A redirect here means the session was lost (to the login page): count it as an error.
  if status ~= 200 then
    bad = bad + 1
  end
end

local threads = {}
local _setup = setup
function setup(thread)
  _setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests_)
  local not_ok = 0
  for _, t in ipairs(threads) do
    not_ok = not_ok + (t:get("bad") or 0)
  end
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + not_ok
  io.write(string.format(
    'MALAN_JSON {"requests": %d, "requests_per_s": %.2f, "p50_ms": %.2f, "p95_ms": %.2f, ' ..
    '"p99_ms": %.2f, "errors": %d, "non_200": %d, "socket_errors": %d, "duration_s": %.2f}\n',
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors, not_ok, e.connect + e.read + e.write + e.timeout, summary.duration / 1e6))
end
