-- check finds the newer release; update in the background; its progress and its end arrive by long-poll;
-- status then names the new release and the level stays complete.
-- Env: FERRY_AGENT_URL, FERRY_TOKEN, PACKAGE, FERRY_VERSION (the newer release).
local H = require("tests.harness")
local ferry = H.ferry()
local version = H.env("FERRY_VERSION")

local _, answer, err = H.await(ferry.check)
H.check(err == nil, "check failed: " .. tostring(err and err.message))
H.report("check", { updateAvailable = answer.updateAvailable, version = answer.version })

local _, started, uerr = H.await(ferry.update, { background = true })
H.check(uerr == nil, "update failed: " .. tostring(uerr and uerr.code) .. " " .. tostring(uerr and uerr.message))
H.check(type(started.job) == "string", "a background update answers {job}")

local progress, states, finished, polls = 0, {}, nil, 0
local most = 0
while finished == nil and polls < 60 do
  polls = polls + 1
  local _, events, perr = H.await(ferry.poll_events, 5000)
  H.check(perr == nil, "poll_events failed: " .. tostring(perr and perr.message))
  for _, item in ipairs(events) do
    local e = item.event
    if e.type == "progress" then
      progress = progress + 1
      if e.bytesDone > most then
        most = e.bytesDone
      end
    elseif e.type == "state" then
      states[#states + 1] = e.state
    elseif e.type == "job" and e.job == started.job then
      finished = e
    end
  end
end
H.check(finished ~= nil, "the job event did not arrive in " .. polls .. " polls")
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
