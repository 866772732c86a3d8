-- get_mounts / add_mount / remove_mount and resolve order by priority, against the real agent.
-- Env: FERRY_AGENT_URL, FERRY_TOKEN, MOUNT_ZIP (a zip holding shared.txt and only-zip.txt),
-- MOUNT_DIR (a directory holding shared.txt and only-dir.txt).
local H = require("tests.harness")
local engine = H.recording_liveupdate()
local ferry = H.ferry({ liveupdate = engine })
local zip = H.env("MOUNT_ZIP")
local dir = H.env("MOUNT_DIR")

local function names(list)
  local out = {}
  for i, m in ipairs(list) do
    out[i] = m.name .. "@" .. tostring(m.priority)
  end
  return table.concat(out, ",")
end

-- Before anything: the cache is empty until refreshed; the agent lists what it serves.
H.eq(#ferry.get_mounts(), 0, "cached mounts before any refresh")
local _, initial, err = H.await(ferry.get_mounts)
H.check(err == nil, "get_mounts(callback) failed: " .. tostring(err and err.message))
H.report("initial", names(initial))

-- A zip given Defold's way ("zip:" .. path) at 10, a directory at 20.
local _, name, uri, result, aerr = H.await(ferry.add_mount, "pack", "zip:" .. zip, 10)
H.check(aerr == nil, "add_mount(pack) failed: " .. tostring(aerr and aerr.code) .. " " .. tostring(aerr and aerr.message))
H.eq(result, ferry.OK, "add_mount(pack) result")
H.eq(name, "pack", "add_mount callback name")
H.eq(uri, "zip:" .. zip, "add_mount callback uri")
_, _, _, result, aerr = H.await(ferry.add_mount, "season", dir, 20)
H.check(aerr == nil, "add_mount(season) failed: " .. tostring(aerr and aerr.message))

local cached = ferry.get_mounts()
H.report("after-add", names(cached))
H.eq(cached[1].name, "season", "highest priority first")
H.eq(cached[1].uri, dir, "season's uri as the agent holds it")

-- The zip went to the engine too (inside Defold: liveupdate.add_mount("zip:" .. path)); the directory did not.
H.eq(#engine.calls, 1, "engine calls after two add_mount")
H.eq(engine.calls[1].op, "add_mount", "engine call")
H.eq(engine.calls[1].uri, "zip:" .. zip, "engine mount uri")
H.eq(engine.calls[1].priority, 10, "engine mount priority")

local _, hit, rerr = H.await(ferry.resolve, "shared.txt")
H.check(rerr == nil and hit ~= nil, "resolve(shared.txt) failed")
H.report("resolve-shared-both", hit.mount)
_, hit = H.await(ferry.resolve, "only-zip.txt")
H.report("resolve-only-zip", hit and hit.mount)

-- The same name again is a conflict (the library's rule: remove it first), as is an equal priority.
_, _, _, result, aerr = H.await(ferry.add_mount, "pack", "zip:" .. zip, 30)
H.eq(result, ferry.ERROR, "re-adding pack")
H.report("readd-error", aerr and aerr.code)
_, _, _, result, aerr = H.await(ferry.add_mount, "other", dir, 20)
H.eq(result, ferry.ERROR, "a second mount at priority 20")
H.report("same-priority-error", aerr and aerr.code)
H.eq(#engine.calls, 1, "engine calls after refused add_mount")

-- remove_mount: the other one serves again; the engine is told for the zip.
local _, rname, rresult, rmerr, removed = H.await(ferry.remove_mount, "pack")
H.check(rmerr == nil, "remove_mount(pack) failed: " .. tostring(rmerr and rmerr.message))
H.eq(rname, "pack", "remove_mount callback name")
H.eq(rresult, ferry.OK, "remove_mount result")
H.eq(removed, true, "remove_mount reports the mount existed")
_, hit = H.await(ferry.resolve, "shared.txt")
H.report("resolve-shared-after-remove", hit.mount)
_, hit = H.await(ferry.resolve, "only-zip.txt")
H.report("resolve-only-zip-after-remove", hit == nil and "none" or hit.mount)
H.eq(engine.calls[#engine.calls].op, "remove_mount", "engine told of the removal")
H.eq(engine.calls[#engine.calls].name, "pack", "engine removal name")

-- Removing what is not mounted.
_, _, rresult, rmerr, removed = H.await(ferry.remove_mount, "pack")
H.report("remove-absent", { result = rresult, code = rmerr and rmerr.code or "none", removed = removed })

-- Back at a priority above the directory's: the zip serves shared.txt again.
_, _, _, result, aerr = H.await(ferry.add_mount, "pack", "zip:" .. zip, 30)
H.check(aerr == nil, "add_mount(pack, 30) failed: " .. tostring(aerr and aerr.message))
_, hit = H.await(ferry.resolve, "shared.txt")
H.report("resolve-shared-reprioritized", hit.mount)
H.report("after-reprioritize", names(ferry.get_mounts()))

-- A mount of something that does not exist: the agent's error code comes through.
_, _, _, result, aerr = H.await(ferry.add_mount, "ghost", "zip:" .. zip .. ".absent", 5)
H.eq(result, ferry.ERROR, "add_mount of an absent archive")
H.report("absent-error", aerr and aerr.code)

-- The engine refuses an archive: the mount is taken back out of the agent.
engine.refuse = 9
_, _, _, result, aerr = H.await(ferry.add_mount, "refused", "zip:" .. zip, 40)
H.eq(result, ferry.ERROR, "add_mount the engine refused")
H.report("engine-refused", { code = aerr and aerr.code, result = aerr and aerr.data.result })
_, hit = H.await(ferry.resolve, "only-zip.txt")
H.report("resolve-after-refusal", hit and hit.mount)

H.report("final", names(ferry.get_mounts()))
print("OK mounts")
