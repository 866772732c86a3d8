-- A wrong token surfaces the agent's refusal (E_UNAUTHORIZED, HTTP 401); an agent that is not there
-- surfaces E_NETWORK. Env: FERRY_AGENT_URL, FERRY_TOKEN (the real one; this test spoils it), FERRY_DEAD_URL.
local H = require("tests.harness")
local ferry = H.ferry({ token = H.env("FERRY_TOKEN") .. "x" })

local _, mounts, err = H.await(ferry.get_mounts)
H.check(mounts == nil and err ~= nil, "get_mounts with a wrong token must fail")
H.report("get_mounts", { code = err.code, status = err.status })
local _, lack, merr = H.await(ferry.missing, "base")
H.check(lack == nil and merr ~= nil, "missing with a wrong token must fail")
H.report("missing", { code = merr.code, status = merr.status })
local _, _, _, result, aerr = H.await(ferry.add_mount, "x", "zip:/nowhere.zip", 1)
H.eq(result, ferry.ERROR, "add_mount with a wrong token")
H.report("add_mount", { code = aerr.code, status = aerr.status })

ferry = H.ferry({ agent_url = H.env("FERRY_DEAD_URL") })
local _, status, serr = H.await(ferry.status)
H.check(status == nil and serr ~= nil, "status against no agent must fail")
H.report("dead", { code = serr.code, status = serr.status })
print("OK bad_token")
