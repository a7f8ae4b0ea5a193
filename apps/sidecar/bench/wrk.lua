-- wrk script of the sidecar benchmark: counts responses that are a 200 carrying the expected token, and
-- optionally waits between requests on each connection (paced runs). Arguments: TOKEN [DELAY_MS].
local token
local threads = {}
ok = 0
bad = 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  local pause = tonumber(args[2] or "0")
  if pause > 0 then
    delay = function() return pause end
  end
end

function response(status, headers, body)
  if status == 200 and string.find(body, token, 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local good, wrong = 0, 0
  for _, thread in ipairs(threads) do
    good = good + thread:get("ok")
    wrong = wrong + thread:get("bad")
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"durationUs":%d,"ok":%d,"bad":%d,"errors":%d,"p50Us":%d,"p99Us":%d}\n',
    summary.requests, summary.duration, good, wrong,
    errors.connect + errors.read + errors.write + errors.status + errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
