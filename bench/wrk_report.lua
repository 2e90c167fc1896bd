-- wrk reporter: one JSON line with throughput and latency percentiles (microseconds).
-- With THINK_MS set (e.g. "500-1500"), each connection waits that long, at random, between
-- requests, like a person reading the page before the next click; wrk's latency excludes the wait.
local think = os.getenv("THINK_MS")
if think and think ~= "" then
  local low, high = think:match("(%d+)-(%d+)")
  low, high = tonumber(low), tonumber(high)
  delay = function()
    return math.random(low, high)
  end
end

-- With COOKIES set (comma-separated "name=value" pairs), requests take them in turn: each stands
-- for a different signed-in person, so no single session row is written by every request.
local cookies = {}
for cookie in (os.getenv("COOKIES") or ""):gmatch("[^,]+") do
  cookies[#cookies + 1] = cookie
end
if #cookies > 0 then
  local turn = 0
  request = function()
    turn = turn + 1
    return wrk.format(nil, nil, {Cookie = cookies[(turn % #cookies) + 1]})
  end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": %d, "non_2xx": %d}\n',
    summary.requests, seconds, summary.requests / seconds, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), latency.max, errors, summary.errors.status))
end
