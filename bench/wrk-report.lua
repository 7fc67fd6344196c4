-- wrk's summary as one JSON line (bench/run.py reads the last line of wrk's output).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50": %.3f, "p95": %.3f, "p99": %.3f, "non2xx": %d, "errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
