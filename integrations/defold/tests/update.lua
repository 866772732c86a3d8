-- check finds the newer release; update in the background; its progress and its end arrive by long-poll;
-- status then names the new release and the level stays complete.
-- Env: FERRY_AGENT_URL, FERRY_TOKEN, PACKAGE, FERRY_VERSION (the newer release).
local H = require("tests.harness")
local ferry = H.ferry({ poll_timeout_ms = 5000 })
local version = H.env("FERRY_VERSION")

local _, answer, err = H.await(ferry.check)
H.check(err == nil, "check failed: " .. tostring(err and err.message))
H.report("check", { updateAvailable = answer.updateAvailable, version = answer.version })

local _, started, uerr = H.await(ferry.update, { background = true })
H.check(uerr == nil, "update failed: " .. tostring(uerr and uerr.code) .. " " .. tostring(uerr and uerr.message))
H.check(type(started.job) == "string", "a background update answers {job}")

-- ferry.listen keeps long-polling (here each poll answers before the next starts) until stop_events().
local progress, states, finished = 0, {}, nil
local most, seqs_ok, last_seq = 0, true, 0
local listen_error = nil
ferry.listen(function(_, e, seq)
  if seq <= last_seq then
    seqs_ok = false
  end
  last_seq = seq
  if e.type == "progress" then
    progress = progress + 1
    if e.bytesDone > most then
      most = e.bytesDone
    end
  elseif e.type == "state" then
    states[#states + 1] = e.state
  elseif e.type == "job" and e.job == started.job then
    finished = e
    ferry.stop_events()
  end
end, function(_, err)
  listen_error = err
end)
H.check(listen_error == nil, "listen stopped on " .. tostring(listen_error and listen_error.code))
H.check(seqs_ok, "event seqs did not increase")
H.check(finished ~= nil, "listen ended before the job event arrived")
H.check(finished.error == nil, "the job failed: " .. tostring(finished.error and finished.error.code))
H.report("job", { method = finished.method, version = finished.result.version })
H.report("progress", { events = progress, bytesDone = most })
H.report("states", states)

local _, status = H.await(ferry.status)
H.eq(status.version, version, "installed version after the update")
local _, lack = H.await(ferry.missing, H.env("PACKAGE"))
H.report("missing-after", #lack.files)
_, answer = H.await(ferry.check)
H.report("check-after", answer.updateAvailable)
print("OK update")
