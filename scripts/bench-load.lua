-- wrk script of scripts/bench-load: sends the requests of the file named by
-- BENCH_REQUESTS (one per line: name, token or "-", JSON body; tab-separated)
-- in turn, and counts as errors both non-2xx responses and 200 responses
-- whose body holds "errors". Prints a summary that bench-load reads.

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local function load_requests()
  local path = os.getenv("BENCH_REQUESTS")
  assert(path, "BENCH_REQUESTS is not set")
  local file = assert(io.open(path, "r"))
  local list = {}
  for line in file:lines() do
    local name, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if name then
      local headers = { ["Content-Type"] = "application/json" }
      if token ~= "-" then
        headers["Authorization"] = "Bearer " .. token
      end
      table.insert(list, wrk.format("POST", nil, headers, body))
    end
  end
  file:close()
  assert(#list > 0, "no requests in " .. path)
  return list
end

function init(args)
  requests = load_requests()
  -- Threads start at different places in the rotation.
  turn = (id or 1) - 1
  non_2xx = 0
  graphql_errors = 0
end

function request()
  turn = turn % #requests + 1
  return requests[turn]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  elseif body and body:find('"errors"', 1, true) then
    graphql_errors = graphql_errors + 1
  end
end

function done(summary, latency, requests)
  local bad_status, bad_body = 0, 0
  for _, thread in ipairs(threads) do
    bad_status = bad_status + (thread:get("non_2xx") or 0)
    bad_body = bad_body + (thread:get("graphql_errors") or 0)
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write("\n--- bench-load summary ---\n")
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("duration_s %.2f\n", summary.duration / 1e6))
  io.write(string.format("requests_per_sec %.1f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50_ms %.1f\n", latency:percentile(50) / 1000))
  io.write(string.format("p90_ms %.1f\n", latency:percentile(90) / 1000))
  io.write(string.format("p99_ms %.1f\n", latency:percentile(99) / 1000))
  io.write(string.format("max_ms %.1f\n", latency.max / 1000))
  io.write(string.format("non_2xx %d\n", bad_status))
  io.write(string.format("graphql_errors %d\n", bad_body))
  io.write(string.format("socket_errors %d\n", socket_errors))
  io.write(string.format("errors %d\n", bad_status + bad_body + socket_errors))
end
