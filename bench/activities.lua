-- wrk script for bench/load.py: POSTs Teams message activities to /api/messages.
--
-- Usage (load.py does this): wrk -t1 -cN -dD -s bench/activities.lua URL -- DATA.lua
-- DATA.lua is written by load.py and returns a table:
--   templates     list of activity bodies, each a list of literal strings and markers
--                 (1 = the activity id, 2 = the conversation number)
--   conversations how many conversations the requests rotate through
--   expect_status the status every response must have (200 expectReplies, 201 normal)
--   expect_body   a substring every response body must contain ("" = no check)
--   run_tag       prefix of the activity ids, unique per run
-- Each request takes the next text of the list, the next conversation and a unique id.
-- done() prints one line "BENCH_JSON {...}" that load.py parses.

local threads = {}

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local templates, conversations, expect_status, expect_body, run_tag
local counter = 0
responses = 0
bad_status = 0
bad_body = 0

function init(args)
   local data = dofile(args[1])
   templates = data.templates
   conversations = data.conversations
   expect_status = data.expect_status
   expect_body = data.expect_body
   run_tag = data.run_tag
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local template = templates[(counter - 1) % #templates + 1]
   local id = run_tag .. "-" .. tid .. "-" .. counter
   local conversation = tostring((counter - 1) % conversations)
   local out = {}
   for i, part in ipairs(template) do
      if part == 1 then
         out[i] = id
      elseif part == 2 then
         out[i] = conversation
      else
         out[i] = part
      end
   end
   return wrk.format(nil, nil, nil, table.concat(out))
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= expect_status then
      bad_status = bad_status + 1
   elseif expect_body ~= "" and not string.find(body, expect_body, 1, true) then
      bad_body = bad_body + 1
   end
end

function done(summary, latency, requests)
   local counted, wrong_status, wrong_body = 0, 0, 0
   for _, thread in ipairs(threads) do
      counted = counted + thread:get("responses")
      wrong_status = wrong_status + thread:get("bad_status")
      wrong_body = wrong_body + thread:get("bad_body")
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "responses": %d, "duration_us": %d, "bytes": %d, '
         .. '"bad_status": %d, "bad_body": %d, "connect": %d, "read": %d, "write": %d, '
         .. '"status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
         .. '"max_us": %d, "mean_us": %.1f}\n',
      summary.requests, counted, summary.duration, summary.bytes,
      wrong_status, wrong_body, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50.0), latency:percentile(90.0), latency:percentile(99.0),
      latency.max, latency.mean))
end
