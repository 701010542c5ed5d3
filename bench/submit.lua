-- wrk script for bench/load_bench.py: every request is a different prepared POST.
-- Arguments after "--": data file (lines "cookie<TAB>form body"), number of threads, path.
-- Each thread sends its own slice of the file, once each. done() prints one JSON line
-- (prefixed WRKJSON) with latency percentiles, errors, and requests sent vs answered.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local path, nthreads, target = args[1], tonumber(args[2]), args[3]
  items = {}
  local line_number = 0
  for line in io.lines(path) do
    if line_number % nthreads == id - 1 then
      local cookie, body = line:match("^([^\t]*)\t(.*)$")
      local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
      if cookie ~= "" then headers["Cookie"] = "coachlab_session=" .. cookie end
      items[#items + 1] = wrk.format("POST", target, headers, body)
    end
    line_number = line_number + 1
  end
  position, sent, received, exhausted = 1, 0, 0, 0
  codes = {}
end

function request()
  local item = items[position]
  if item == nil then
    exhausted = exhausted + 1  -- ran out of prepared submissions: resend the last (it will be refused)
    item = items[#items]
  else
    position = position + 1
  end
  sent = sent + 1
  return item
end

function response(status, headers, body)
  received = received + 1
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local sent_all, received_all, exhausted_all, statuses = 0, 0, 0, {}
  for _, thread in ipairs(threads) do
    sent_all = sent_all + thread:get("sent")
    received_all = received_all + thread:get("received")
    exhausted_all = exhausted_all + thread:get("exhausted")
    for status, count in pairs(thread:get("codes")) do
      statuses[status] = (statuses[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(statuses) do parts[#parts + 1] = string.format('"%d": %d', status, count) end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"duration_us": %d, "requests": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
    .. '"sent": %d, "received": %d, "exhausted": %d, "statuses": {%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout, sent_all, received_all, exhausted_all,
    table.concat(parts, ", ")))
end
