-- wrk script of scripts/soak: sends the requests of the file named by
-- SOAK_REQUESTS (one per line: name, token or "-", JSON body; tab-separated)
-- in turn. In a body, {{n}} becomes a number unique to the request, and a
-- body that holds {{n}} is sent with an Idempotency-Key made from it.
-- Counts answers by HTTP status and by the first error code in the body,
-- and prints a summary that scripts/soak reads.

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("SOAK_REQUESTS")
  assert(path, "SOAK_REQUESTS is not set")
  local file = assert(io.open(path, "r"))
  list = {}
  for line in file:lines() do
    local name, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    if name then
      local headers = { ["Content-Type"] = "application/json" }
      if token ~= "-" then
        headers["Authorization"] = "Bearer " .. token
      end
      table.insert(list, { headers = headers, body = body, unique = body:find("{{n}}", 1, true) })
    end
  end
  file:close()
  assert(#list > 0, "no requests in " .. path)
  turn = (id or 1) - 1
  sent = 0
  statuses = {}
  codes = {}
end

function request()
  turn = turn % #list + 1
  local r = list[turn]
  if not r.unique then
    return wrk.format("POST", nil, r.headers, r.body)
  end
  sent = sent + 1
  local n = string.format("%d-%d-%d", os.time(), id or 1, sent)
  local headers = {}
  for k, v in pairs(r.headers) do headers[k] = v end
  headers["Idempotency-Key"] = "soak-" .. n
  return wrk.format("POST", nil, headers, (r.body:gsub("{{n}}", n)))
end

function response(status, headers, body)
  local s = tostring(status)
  statuses[s] = (statuses[s] or 0) + 1
  local code = body and body:match('"code"%s*:%s*"([A-Z_]+)"') or "ok"
  codes[code] = (codes[code] or 0) + 1
end

function done(summary, latency, requests)
  local all_statuses, all_codes = {}, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses") or {}) do all_statuses[k] = (all_statuses[k] or 0) + v end
    for k, v in pairs(thread:get("codes") or {}) do all_codes[k] = (all_codes[k] or 0) + v end
  end
  local e = summary.errors
  local function list_of(t)
    local keys = {}
    for k in pairs(t) do table.insert(keys, k) end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do table.insert(parts, k .. "=" .. t[k]) end
    return table.concat(parts, ",")
  end
  io.write("\n--- soak summary ---\n")
  io.write(string.format("requests %d\n", summary.requests))
  io.write(string.format("requests_per_sec %.1f\n", summary.requests / (summary.duration / 1e6)))
  io.write(string.format("p50_ms %.1f\n", latency:percentile(50) / 1000))
  io.write(string.format("p99_ms %.1f\n", latency:percentile(99) / 1000))
  io.write(string.format("max_ms %.1f\n", latency.max / 1000))
  io.write(string.format("statuses %s\n", list_of(all_statuses)))
  io.write(string.format("codes %s\n", list_of(all_codes)))
  io.write(string.format("socket_errors connect=%d,read=%d,write=%d,timeout=%d\n", e.connect, e.read, e.write, e.timeout))
end
