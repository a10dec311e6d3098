-- The soak's constant-rate load for wrk (bench/soak.py; docs/performance.md, "Soak").
--
--   wrk -t1 -cN -dDs --timeout 10s -s bench/soak.lua URL -- REQUESTS HEADERS RATE WINDOW LATE
--
-- REQUESTS: one request a line, "METHOD<TAB>path<TAB>body" (cycled in order);
-- HEADERS: "Name<TAB>value" a line; RATE: requests per second for the whole run;
-- WINDOW: seconds per progress window; LATE: milliseconds after its slot at which a start
-- counts as behind schedule.
--
-- One schedule for the thread: request k is due at t0 + k / RATE. wrk asks delay() before
-- every request of a connection (the first one included, and each next one only once the
-- previous answer has arrived); delay() hands that connection the next free slot and waits
-- until it is due. Requests therefore start at RATE whatever the latency, as long as one of
-- the N connections is free, and the schedule does not slip when answers are slow: a start
-- that comes after its slot (every connection was busy) goes out at once and is counted.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } govshare_soak_timespec;
int clock_gettime(int clk_id, govshare_soak_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("govshare_soak_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local reqs, n, i = {}, 0, 0
local headers = {}
local interval, window, late_ms = 0, 10000, 100
local t0, next_slot = nil, nil

-- Globals of the thread's state: done() reads them through thread:get().
answers = {}     -- window -> answers received
bad = {}         -- window -> non-2xx answers
codes = {}       -- status -> count, non-2xx only
last_window = 0
behind = 0       -- starts more than LATE ms after their slot
max_behind = 0   -- ms

init = function(args)
  for line in io.lines(args[2]) do
    local k, v = line:match("^([^\t]+)\t(.*)$")
    headers[k] = v
  end
  for line in io.lines(args[1]) do
    local m, p, b = line:match("^(%u+)\t([^\t]*)\t(.*)$")
    if b == "" then b = nil end
    n = n + 1
    reqs[n] = { m, p, b }
  end
  interval = 1000 / tonumber(args[3])
  window = tonumber(args[4]) * 1000
  late_ms = tonumber(args[5])
end

delay = function()
  local now = now_ms()
  if t0 == nil then
    t0 = now
    next_slot = now
  end
  local slot = next_slot
  next_slot = slot + interval
  local wait = slot - now
  if wait >= 0 then
    return math.floor(wait + 0.5)
  end
  if -wait > max_behind then max_behind = -wait end
  if -wait > late_ms then behind = behind + 1 end
  return 0
end

request = function()
  i = i + 1
  if i > n then i = 1 end
  local r = reqs[i]
  return wrk.format(r[1], r[2], headers, r[3])
end

response = function(status, _, _)
  local w = math.floor((now_ms() - t0) / window) + 1
  answers[w] = (answers[w] or 0) + 1
  if status < 200 or status > 299 then
    bad[w] = (bad[w] or 0) + 1
    local k = tostring(status)
    codes[k] = (codes[k] or 0) + 1
  end
  if w > last_window then -- progress: one line per finished window
    if last_window > 0 then
      io.write(string.format("SOAK_WINDOW %d %d %d\n",
        last_window, answers[last_window] or 0, bad[last_window] or 0))
      io.flush()
    end
    last_window = w
  end
end

local threads = {}

setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, _)
  local t = threads[1] -- the soak runs one thread (-t1)
  local ans, nok, cds = t:get("answers"), t:get("bad"), t:get("codes")
  local windows, failures, statuses = {}, {}, {}
  for w = 1, t:get("last_window") do
    windows[w] = tostring(ans[w] or 0)
    failures[w] = tostring(nok[w] or 0)
  end
  for k, v in pairs(cds) do
    table.insert(statuses, string.format('"%s": %d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "behind": %d, "max_behind_ms": %.1f, ' ..
    '"answers": [%s], "non_2xx": [%s], "codes": {%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max,
    t:get("behind"), t:get("max_behind"),
    table.concat(windows, ", "), table.concat(failures, ", "), table.concat(statuses, ", ")))
end
