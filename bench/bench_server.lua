-- wrk script of bench/bench_server.py: POST /v1/payment_intents with the bodies of a file (one
-- form-encoded body per line, each thread starting at its own offset), counting statuses and
-- keeping the id of every acknowledged PaymentIntent (200, or 402 naming it in the error); at
-- the end writes the summary, percentiles and ids to $WRK_OUT for the Python side to check.
-- Arguments: <bodies file> <secret key>.
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  key = args[2]
  n = tid * 7919
  acked = {}
  statuses = {}
end
function request()
  n = n + 1
  return wrk.format("POST", "/v1/payment_intents",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/x-www-form-urlencoded"},
    bodies[n % #bodies + 1])
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    acked[#acked + 1] = body:match('"id":"(pi_%w+)"') .. " succeeded"
  elseif status == 402 then
    acked[#acked + 1] = body:match('"payment_intent":{[^}]-"id":"(pi_%w+)"') .. " requires_payment_method"
  end
end
function done(summary, latency, requests)
  local out = io.open(os.getenv("WRK_OUT"), "w")
  out:write(string.format("requests %d\nduration_us %d\np50_us %d\np99_us %d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99)))
  out:write(string.format("socket_errors %d\n", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do out:write(string.format("status %d %d\n", status, count)) end
    for _, line in ipairs(t:get("acked")) do out:write("ack " .. line .. "\n") end
  end
  out:close()
end
