-- Mount validity across sessions, replacing version_<name>.json: the agent re-verifies persisted mounts
-- (runtime = the engine build, content hash) and ferry.sync makes the engine drop what Ferry no longer serves.
-- Env: FERRY_AGENT_URL, FERRY_TOKEN, MODE ("mount", "ensure" or "sync"), PACKAGE, ARCHIVE; for "sync":
-- ENGINE_MOUNT_URI (the engine's persisted mount of the archive, as the engine keeps it across restarts).
local H = require("tests.harness")
local engine = H.recording_liveupdate()
local ferry = H.ferry({ liveupdate = engine })
local mode = H.env("MODE")
local package_name = H.env("PACKAGE")

if mode == "mount" then
  local _, done, err = H.await(ferry.ensure, package_name, { archive = H.env("ARCHIVE"), priority = 10 })
  H.check(err == nil, "ensure failed: " .. tostring(err and err.code) .. " " .. tostring(err and err.message))
  H.report("mounted", engine.calls[1] and engine.calls[1].uri)
elseif mode == "ensure" then
  -- A new session, an engine without the mount: ensure finds the agent's persisted mount (no conflict,
  -- nothing fetched) and hands the archive to the engine.
  local _, done, err = H.await(ferry.ensure, package_name, { archive = H.env("ARCHIVE"), priority = 10 })
  H.check(err == nil, "ensure failed: " .. tostring(err and err.code) .. " " .. tostring(err and err.message))
  H.report("ensured", {
    downloaded = done.downloaded ~= nil,
    engine = engine.calls[1] and engine.calls[1].uri,
    calls = #engine.calls,
  })
else
  -- The engine restored its mount of the archive from the previous session (Defold persists mounts).
  engine.mounts[1] = { name = package_name, uri = H.env("ENGINE_MOUNT_URI"), priority = 10 }
  local _, served, err = H.await(ferry.sync)
  H.check(err == nil, "sync failed: " .. tostring(err and err.code) .. " " .. tostring(err and err.message))
  local agent_names, engine_names = {}, {}
  for i, m in ipairs(served) do
    agent_names[i] = m.name
  end
  for i, m in ipairs(engine.get_mounts()) do
    engine_names[i] = m.name
  end
  H.report("sync", { agent = table.concat(agent_names, ","), engine = table.concat(engine_names, ",") })
end
print("OK stale " .. mode)
