-- B6 (bench/b6.py): each trainee submits its daily form exactly once.
-- MALAN_B6_FILE: one line per trainee, "form path \t bare path \t cookie \t body".
-- Thread k owns lines k, k+T, k+2T… (T = MALAN_B6_THREADS); a connection takes the next free
-- trainee of its thread (reserved in delay(), before request(), so two connections never take
-- the same one); a connection with nothing left waits idle (gunicorn's gthread worker keeps an
-- idle connection in its poller; a sync worker would block on it). When all of its trainees have an
-- answer, the thread writes a marker into MALAN_B6_DONE and bench/b6.py stops wrk (SIGINT).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local function split(line)
  local out = {}
  for part in string.gmatch(line, "[^\t]+") do
    out[#out + 1] = part
  end
  return out
end

function init(args)
  mine = {}
  reserved = 0
  queue = {}
  head = 1
  sent = 0
  answered = 0
  ok = 0
  bad = 0
  local column = tonumber(os.getenv("MALAN_B6_COLUMN") or "0") + 1
  local nthreads = tonumber(os.getenv("MALAN_B6_THREADS") or "1")
  local ua = os.getenv("MALAN_B6_UA") or "wrk"
  local n = 0
  for line in io.lines(os.getenv("MALAN_B6_FILE")) do
    if line ~= "" then
      if n % nthreads == id then
        local f = split(line)
        mine[#mine + 1] = wrk.format("POST", f[column], {
          ["Cookie"] = f[3],
          ["User-Agent"] = ua,
          ["Content-Type"] = "application/x-www-form-urlencoded",
        }, f[4])
      end
      n = n + 1
    end
  end
  count = #mine
  if count == 0 then
    finished()
  end
end

function finished()
  local fh = io.open(os.getenv("MALAN_B6_DONE") .. "/" .. id, "w")
  fh:write("done")
  fh:close()
end

function delay()
  if reserved < #mine then
    reserved = reserved + 1
    queue[#queue + 1] = reserved
    return 0
  end
  return 3600000 -- nothing left for this connection: it stays idle until wrk is stopped
end

function request()
  -- wrk calls request() once before the run to check the script (no delay() before it): that
  -- call gets a trainee's request to parse but consumes nobody.
  if head > #queue then
    return mine[1] or wrk.format("GET", "/")
  end
  local k = queue[head]
  head = head + 1
  sent = sent + 1
  return mine[k]
end

function response(status, headers, body)
  answered = answered + 1
  -- Success is the redirect back to the submitted form (the bare endpoint answers 201); a
  -- redirect to the login page is a lost session, anything else a refusal or a crash.
  local location = headers["Location"] or ""
  if (status == 302 and string.find(location, "/evaluation/", 1, true)
      and not string.find(location, "login", 1, true)) or status == 201 then
    ok = ok + 1
  else
    bad = bad + 1
  end
  if answered == #mine then
    finished()
  end
end

function done(summary, latency, requests_)
  local good, not_ok, posted = 0, 0, 0
  for _, t in ipairs(threads) do
    good = good + (t:get("ok") or 0)
    not_ok = not_ok + (t:get("bad") or 0)
    posted = posted + (t:get("count") or 0)
  end
  local e = summary.errors
  local sockets = e.connect + e.read + e.write
  -- An error is a trainee whose post got no good answer: refused, never answered, or answered
  -- after the timeout. wrk's connect/read/write errors are reported apart: the server closes
  -- the idle keep-alive connections of threads that have nothing left to send (wrk counts that
  -- as a read error and reconnects); a post that failed so would show here as unanswered.
  local unanswered = posted - good - not_ok
  io.write(string.format(
    'MALAN_JSON {"requests": %d, "ok": %d, "non_ok": %d, "unanswered": %d, "timeouts": %d, ' ..
    '"socket_errors": %d, "errors": %d, ' ..
    '"p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, "duration_s": %.3f}\n',
    summary.requests, good, not_ok, unanswered, e.timeout, sockets,
    not_ok + unanswered + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.duration / 1e6))
end
