-- missing(package) lists what a level lacks; ensure downloads it and mounts its archive; then nothing is
-- missing; check/status/events; sync drops engine mounts Ferry no longer serves.
-- Env: FERRY_AGENT_URL, FERRY_TOKEN, PACKAGE, ARCHIVE (release path of the package's zip),
-- ARCHIVE_ENTRY (a path inside that zip), FERRY_VERSION (the installed release).
local H = require("tests.harness")
local engine = H.recording_liveupdate()
local ferry = H.ferry({ liveupdate = engine })
local package_name = H.env("PACKAGE")
local archive = H.env("ARCHIVE")

local _, status, err = H.await(ferry.status)
H.check(err == nil, "status failed: " .. tostring(err and err.message))
H.eq(status.version, H.env("FERRY_VERSION"), "installed version")

local function paths(files)
  local out = {}
  for i, f in ipairs(files) do
    H.eq(f.package, package_name, "package of missing file " .. f.path)
    out[i] = f.path
  end
  table.sort(out)
  return out
end

local _, lack, merr = H.await(ferry.missing, package_name)
H.check(merr == nil, "missing failed: " .. tostring(merr and merr.message))
H.report("missing-before", { paths = paths(lack.files), bytes = lack.bytes, version = lack.version })

local _, _, uerr = H.await(ferry.missing, "no-such-package")
H.report("missing-unknown", uerr and uerr.code)

local _, done, eerr = H.await(ferry.ensure, package_name, { archive = archive, priority = 10 })
H.check(eerr == nil, "ensure failed: " .. tostring(eerr and eerr.code) .. " " .. tostring(eerr and eerr.message))
H.check(done.downloaded ~= nil, "ensure downloaded nothing although files were missing")
H.report("ensure", {
  filesWritten = done.downloaded.filesWritten,
  version = done.version,
  mount = done.mount,
})
H.eq(#engine.calls, 1, "engine calls after ensure")
H.eq(engine.calls[1].op, "add_mount", "ensure hands the archive to liveupdate")
H.eq(engine.calls[1].uri, "zip:" .. done.mount.uri, "liveupdate gets zip:<path>")
H.eq(engine.calls[1].name, package_name, "liveupdate mount name")

_, lack = H.await(ferry.missing, package_name)
H.report("missing-after", #lack.files)

local _, hit = H.await(ferry.resolve, H.env("ARCHIVE_ENTRY"))
H.report("resolve-entry", hit and hit.mount)

-- The mount's version data is Ferry's verified release, not a version_<name>.json.
local mine = nil
for _, m in ipairs(ferry.get_mounts()) do
  if m.name == package_name then
    mine = m
  end
end
H.report("mount-version", mine and mine.version)

-- Again: nothing missing, nothing fetched, nothing re-mounted.
_, done, eerr = H.await(ferry.ensure, package_name, { archive = archive, priority = 10 })
H.check(eerr == nil, "second ensure failed: " .. tostring(eerr and eerr.message))
H.report("ensure-again", { downloaded = done.downloaded ~= nil, mounted = done.mount ~= nil })
H.eq(#engine.calls, 1, "engine calls after the second ensure")

local _, answer, cerr = H.await(ferry.check)
H.check(cerr == nil, "check failed: " .. tostring(cerr and cerr.message))
H.report("check", { updateAvailable = answer.updateAvailable, version = answer.version })

local _, events, perr = H.await(ferry.poll_events, 0)
H.check(perr == nil, "poll_events failed: " .. tostring(perr and perr.message))
local types = {}
for _, item in ipairs(events) do
  types[item.event.type] = true
end
local seen = {}
for t in pairs(types) do
  seen[#seen + 1] = t
end
table.sort(seen)
H.report("events", { count = #events, types = seen, next = ferry.events_seq() })

-- An engine mount of an archive inside the install that Ferry does not serve (left from an older
-- session): sync removes it from the engine; the served one stays.
engine.mounts[#engine.mounts + 1] = { name = "old", uri = "zip:" .. done.mount.uri .. ".old", priority = 3 }
local _, synced, serr = H.await(ferry.sync)
H.check(serr == nil, "sync failed: " .. tostring(serr and serr.message))
local left = {}
for i, m in ipairs(engine.get_mounts()) do
  left[i] = m.name
end
H.report("sync", { engine = left, served = #synced })
print("OK ensure")
