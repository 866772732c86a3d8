-- Shared by the tests: loads ../ferry.lua, a LuaSocket http_request with the shape of Defold's
-- http.request, a JSON module from Debian (cjson, else dkjson), env access and assertions.
-- Run from integrations/defold: `lua5.4 tests/<file>.lua` (test/engines/defold.test.ts does).
package.path = "./?.lua;" .. package.path

local http = require("socket.http")
local ltn12 = require("ltn12")

local H = {}

-- FERRY_LUA_JSON=dkjson picks dkjson even when cjson is there (the tests run both).
local ok_cjson, cjson = false, nil
if os.getenv("FERRY_LUA_JSON") ~= "dkjson" then
  ok_cjson, cjson = pcall(require, "cjson")
end
if ok_cjson then
  H.json_name = "cjson"
  H.json = { encode = cjson.encode, decode = cjson.decode, null = cjson.null }
else
  H.json_name = "dkjson"
  local dkjson = require("dkjson")
  H.json = {
    encode = function(v)
      return dkjson.encode(v)
    end,
    decode = function(s)
      local v, _, err = dkjson.decode(s)
      if err then
        error(err)
      end
      return v
    end,
  }
end

-- Long-polls wait up to their timeout: LuaSocket's default (60 s) is enough for the tests' short ones.
http.TIMEOUT = 60

local ids = 0
-- http.request(url, method, callback, headers, post_data, options): callback(self, id, response) with
-- response.status, response.response, response.headers; status 0 when no connection was made.
function H.http_request(url, method, callback, headers, post_data, _options)
  ids = ids + 1
  local chunks = {}
  local hdrs = {}
  for k, v in pairs(headers or {}) do
    hdrs[k] = v
  end
  local source = nil
  if post_data ~= nil then
    hdrs["Content-Length"] = tostring(#post_data)
    source = ltn12.source.string(post_data)
  end
  local ok, code, response_headers = http.request({
    url = url,
    method = method,
    headers = hdrs,
    source = source,
    sink = ltn12.sink.table(chunks),
  })
  if ok == nil then
    callback(nil, ids, { status = 0, response = "", headers = {}, error = tostring(code) })
  else
    callback(nil, ids, { status = code, response = table.concat(chunks), headers = response_headers or {} })
  end
end

function H.env(name)
  local v = os.getenv(name)
  if v == nil or v == "" then
    error("environment variable " .. name .. " is not set (test/engines/defold.test.ts sets it)")
  end
  return v
end

function H.check(cond, message)
  if not cond then
    error("FAILED: " .. message, 2)
  end
end

function H.eq(actual, expected, what)
  if actual ~= expected then
    error("FAILED: " .. what .. ": expected " .. tostring(expected) .. ", got " .. tostring(actual), 2)
  end
end

-- A callback-taking call made synchronous: the LuaSocket adapter answers before it returns.
function H.await(fn, ...)
  local got = nil
  local args = { ... }
  args[#args + 1] = function(...)
    got = table.pack(...)
  end
  fn(table.unpack(args))
  if got == nil then
    error("FAILED: the callback was not called")
  end
  return table.unpack(got, 1, got.n)
end

-- One line of JSON on stdout for the Node side to check: {"step": name, ...}.
function H.report(step, value)
  io.write(H.json.encode({ step = step, value = value }), "\n")
  io.flush()
end

-- Records what ferry.lua hands to Defold's liveupdate module (no engine runs here): the calls and
-- their arguments, and a mount list as the engine would keep it.
function H.recording_liveupdate()
  local engine = { LIVEUPDATE_OK = 0, calls = {}, mounts = {} }
  -- engine.refuse = <result number>: the next add_mount fails with it (as a real engine may, e.g. for
  -- an archive built for another engine version).
  function engine.add_mount(name, uri, priority, callback)
    engine.calls[#engine.calls + 1] = { op = "add_mount", name = name, uri = uri, priority = priority }
    local refuse = engine.refuse
    engine.refuse = nil
    if refuse ~= nil then
      callback(nil, name, uri, refuse)
      return
    end
    engine.mounts[#engine.mounts + 1] = { name = name, uri = uri, priority = priority }
    callback(nil, name, uri, 0)
  end
  function engine.remove_mount(name)
    engine.calls[#engine.calls + 1] = { op = "remove_mount", name = name }
    local keep = {}
    for _, m in ipairs(engine.mounts) do
      if m.name ~= name then
        keep[#keep + 1] = m
      end
    end
    engine.mounts = keep
    return 0
  end
  function engine.get_mounts()
    return engine.mounts
  end
  return engine
end

function H.ferry(overrides)
  local ferry = require("ferry")
  H.report("json", H.json_name)
  local opts = {
    agent_url = H.env("FERRY_AGENT_URL"),
    token = H.env("FERRY_TOKEN"),
    http_request = H.http_request,
    json = H.json,
  }
  for k, v in pairs(overrides or {}) do
    opts[k] = v
  end
  ferry.init(opts)
  return ferry
end

return H
