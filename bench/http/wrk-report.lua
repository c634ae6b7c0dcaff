-- wrk -s bench/http/wrk-report.lua: at the end prints one line
--   WRKJSON {...}
-- with wrk's own summary (duration µs, requests, bytes, errors), latency
-- percentiles (µs) and wrk's own CPU (utime/stime in clock ticks, from
-- /proc/self/stat: all of wrk's threads, read while the process still runs).
-- Only done() is defined, so wrk does no per-request Lua work.
done = function(summary, latency, requests)
  local f = io.open("/proc/self/stat", "r")
  local s = f:read("*a")
  f:close()
  local rest = s:match("%) (.*)$")
  local t = {}
  for w in rest:gmatch("%S+") do t[#t + 1] = w end
  -- t[1] is field 3 (state): field n is t[n - 2]; utime 14, stime 15.
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration":%.0f,"requests":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.3f,"utime":%s,"stime":%s}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    t[12], t[13]))
end
