-- ferry.lua: Defold Live Update content, downloaded and verified by Ferry.
--
-- Talks to `ferry agent --listen 127.0.0.1:0` over its loopback HTTP transport (docs/AGENT.md, protocol 1)
-- with Defold's http.request (or any function of the same shape), and mirrors the engine's liveupdate
-- functions: get_mounts / add_mount / remove_mount, plus missing / ensure for excluded content.
-- Written for Lua 5.1 (LuaJIT, Defold) and runs unchanged under Lua 5.4 (the tests).
--
-- Everything that talks to the agent is asynchronous, as http.request is: callbacks receive
-- (self, result, err) where self is the script instance Defold's http callback gave us (nil outside
-- Defold) and err, on failure, is {code = "E_...", message = "...", data = {...}, status = <http status>}.
-- get_mounts() is synchronous like liveupdate.get_mounts(): it answers from a cache that every
-- add_mount / remove_mount / refresh_mounts / sync refreshes (docs/engines/defold.md).

local M = {}

M.PROTOCOL = 1
-- Result numbers of add_mount / remove_mount callbacks, as liveupdate's: 0 is LIVEUPDATE_OK there too.
M.OK = 0
M.ERROR = -1

local config = nil
local mounts_cache = {}
local install_dir = nil
local next_seq = 0
local listening = false

local function fail(code, message, data, status)
  return { code = code, message = message, data = data or {}, status = status }
end

-- (options, callback) in either order: ferry.check(cb), ferry.check(params, cb), ferry.check(cb, params).
local function options_and_callback(a, b)
  if type(a) == "function" then
    return b, a
  end
  return a, b
end

local function require_init()
  if config == nil then
    error("ferry.init{agent_url=..., token=...} must be called before any other ferry function", 3)
  end
end

-- JSON null decodes to nil (Defold, dkjson) or to a sentinel (cjson.null): both read as "nothing".
local function is_null(value)
  return value == nil or (config ~= nil and config.json.null ~= nil and value == config.json.null)
end

local function trim_slash(url)
  if string.sub(url, -1) == "/" then
    return url
  end
  return url .. "/"
end

-- JSON numbers may decode as floats (lua-cjson under 5.4): an integral one reads back as an integer.
local function int(value)
  if type(value) == "number" and math.floor(value) == value then
    return math.floor(value)
  end
  return value
end

local function as_list(value)
  if value == nil then
    return nil
  end
  if type(value) == "table" then
    return value
  end
  return { value }
end

-- Turns one http response into (result, err). `decode_ok` reads a 200 body.
local function read_response(response, what)
  local status = response and response.status or 0
  local body = response and response.response
  if status == 0 or status == nil then
    local why = (response and response.error) or "no answer"
    return nil,
      fail(
        "E_NETWORK",
        "The Ferry agent at " .. config.agent_url .. " did not answer " .. what .. " (" .. tostring(why)
          .. "). Start it with `ferry agent ... --listen 127.0.0.1:0` and pass the url and token it prints.",
        { url = config.agent_url },
        0
      )
  end
  local ok, decoded = pcall(config.json.decode, body or "")
  if not ok or type(decoded) ~= "table" then
    return nil,
      fail(
        "E_PROTOCOL",
        "The Ferry agent at " .. config.agent_url .. " answered " .. what .. " with HTTP " .. tostring(status)
          .. " and a body that is not a JSON object: " .. string.sub(tostring(body), 1, 200),
        { url = config.agent_url },
        status
      )
  end
  if status ~= 200 then
    local e = decoded.error
    if type(e) ~= "table" or type(e.code) ~= "string" then
      return nil,
        fail(
          "E_PROTOCOL",
          "The Ferry agent answered " .. what .. " with HTTP " .. tostring(status) .. " and no error object.",
          { url = config.agent_url },
          status
        )
    end
    local data = e.data
    if is_null(data) then
      data = {}
    end
    return nil, fail(e.code, tostring(e.message), data, status)
  end
  return decoded, nil
end

local function headers()
  return {
    ["Authorization"] = "Bearer " .. config.token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }
end

--- Configures the module. opts:
---   agent_url    the url the agent printed (http://127.0.0.1:<port>/)
---   token        the token it printed
---   http_request function(url, method, callback, headers, post_data, options) (default http.request)
---   json         {encode = fn, decode = fn, null = sentinel?} (default Defold's json)
---   liveupdate   the engine's liveupdate module (default the global one, when it exists)
function M.init(opts)
  if type(opts) ~= "table" or type(opts.agent_url) ~= "string" or type(opts.token) ~= "string" then
    error("ferry.init needs {agent_url = <string>, token = <string>}: the url and token `ferry agent` printed", 2)
  end
  local request = opts.http_request
  if request == nil and http ~= nil then
    request = http.request
  end
  local codec = opts.json
  if codec == nil and json ~= nil then
    codec = json
  end
  if type(request) ~= "function" then
    error("ferry.init: no http_request function given and no Defold http module found", 2)
  end
  if type(codec) ~= "table" or type(codec.encode) ~= "function" or type(codec.decode) ~= "function" then
    error("ferry.init: no json module given ({encode, decode}) and no Defold json module found", 2)
  end
  local engine = opts.liveupdate
  if engine == nil and liveupdate ~= nil then
    engine = liveupdate
  end
  config = {
    agent_url = trim_slash(opts.agent_url),
    token = opts.token,
    request = request,
    json = codec,
    liveupdate = engine,
    poll_timeout_ms = opts.poll_timeout_ms or 25000,
  }
  mounts_cache = {}
  install_dir = nil
  next_seq = 0
  listening = false
end

--- Calls one agent method: callback(self, result, err). `params` may be nil.
function M.call(method, params, callback)
  require_init()
  local message = { method = method }
  if params ~= nil and next(params) ~= nil then
    message.params = params
  end
  local body = config.json.encode(message)
  config.request(config.agent_url .. "v1/call", "POST", function(self, _, response)
    local decoded, err = read_response(response, method)
    if callback == nil then
      return
    end
    if err ~= nil then
      callback(self, nil, err)
    else
      local result = decoded.result
      if is_null(result) then
        result = nil
      end
      callback(self, result, nil)
    end
  end, headers(), body)
end

-- hello once, for the install directory (where delivered archives are).
local function with_install_dir(callback)
  if install_dir ~= nil then
    callback(nil, install_dir, nil)
    return
  end
  M.call("hello", nil, function(self, hello, err)
    if err ~= nil then
      callback(self, nil, err)
      return
    end
    if type(hello) ~= "table" or type(hello.installDir) ~= "string" then
      callback(self, nil, fail("E_PROTOCOL", "The agent's hello names no installDir.", {}, 200))
      return
    end
    if hello.protocol ~= M.PROTOCOL then
      callback(
        self,
        nil,
        fail(
          "E_PROTOCOL",
          "The agent speaks protocol " .. tostring(hello.protocol) .. "; this ferry.lua speaks "
            .. M.PROTOCOL .. ". Use the ferry.lua that ships with that agent.",
          { protocol = hello.protocol },
          200
        )
      )
      return
    end
    install_dir = hello.installDir
    callback(self, install_dir, nil)
  end)
end

--- The agent's hello object: callback(self, hello, err).
function M.hello(callback)
  M.call("hello", nil, callback)
end

local function copy_mounts(list)
  local out = {}
  for i, m in ipairs(list) do
    out[i] = { name = m.name, uri = m.uri, priority = m.priority, version = m.version }
  end
  return out
end

-- A mount's uri as the agent takes it: Defold's "zip:/path" is the path of a zip archive.
local function agent_uri(uri)
  if string.sub(uri, 1, 4) == "zip:" then
    return string.sub(uri, 5)
  end
  return uri
end

local function under(path, dir)
  if dir == nil or type(path) ~= "string" then
    return false
  end
  local prefix = trim_slash(dir)
  return string.sub(path, 1, #prefix) == prefix
end

--- Refreshes the mount cache from the agent: callback(self, mounts, err). Mounts inside the install
--- directory (archives Ferry delivered) carry `version`: the installed release, from verified metadata.
function M.refresh_mounts(callback)
  require_init()
  with_install_dir(function(_, dir, derr)
    if derr ~= nil then
      if callback then
        callback(nil, nil, derr)
      end
      return
    end
    M.call("mounts.list", nil, function(self, list, err)
      if err ~= nil then
        if callback then
          callback(self, nil, err)
        end
        return
      end
      M.call("status", nil, function(self2, status, serr)
        if serr ~= nil then
          if callback then
            callback(self2, nil, serr)
          end
          return
        end
        local version = status and status.version
        if is_null(version) then
          version = nil
        end
        local fresh = {}
        for i, m in ipairs(list or {}) do
          fresh[i] = { name = m.name, uri = m.uri, priority = int(m.priority) }
          if under(m.uri, dir) then
            fresh[i].version = version
          end
        end
        mounts_cache = fresh
        if callback then
          callback(self2, copy_mounts(mounts_cache), nil)
        end
      end)
    end)
  end)
end

--- Like liveupdate.get_mounts(): the mounts as last seen, highest priority first ({name, uri, priority,
--- version?}). With a callback, also refreshes from the agent: callback(self, mounts, err).
function M.get_mounts(callback)
  require_init()
  if callback ~= nil then
    M.refresh_mounts(callback)
  end
  return copy_mounts(mounts_cache)
end

-- Whether the engine (when there is one) already mounts the zip at `path`; true without an engine.
local function engine_has(path)
  local engine = config.liveupdate
  if engine == nil or type(engine.get_mounts) ~= "function" then
    return true
  end
  for _, em in ipairs(engine.get_mounts() or {}) do
    if em.uri == "zip:" .. path then
      return true
    end
  end
  return false
end

local function engine_mount(name, path, priority, done)
  local engine = config.liveupdate
  if engine == nil or type(engine.add_mount) ~= "function" then
    done(nil)
    return
  end
  engine.add_mount(name, "zip:" .. path, priority, function(...)
    -- The engine passes its result number last; anything other than LIVEUPDATE_OK is a failure.
    -- (select, not #{...}: the first argument, self, may be nil.)
    local count = select("#", ...)
    local result = nil
    if count > 0 then
      result = select(count, ...)
    end
    local ok = engine.LIVEUPDATE_OK or 0
    if type(result) == "number" and result ~= ok then
      done(
        fail(
          "E_IO",
          "Defold's liveupdate.add_mount refused zip:" .. path .. " (result " .. tostring(result)
            .. "); Ferry verified the file, so check that the archive was built for this engine version.",
          { name = name, path = path, result = result },
          nil
        )
      )
    else
      done(nil)
    end
  end)
end

--- Like liveupdate.add_mount(name, uri, priority, callback): mounts through the agent (which verifies
--- and persists the mount), then, inside Defold and for a zip archive, in the engine too; when the
--- engine refuses it, it is removed from the agent again.
--- callback(self, name, uri, result, err): result is ferry.OK or ferry.ERROR.
function M.add_mount(name, uri, priority, callback)
  require_init()
  local path = agent_uri(uri)
  M.call("mounts.add", { name = name, uri = path, priority = priority }, function(self, mount, err)
    local function finish(e)
      if callback ~= nil then
        callback(self, name, uri, e == nil and M.OK or M.ERROR, e)
      end
    end
    if err ~= nil then
      finish(err)
      return
    end
    M.refresh_mounts(function(_, _, rerr)
      if rerr ~= nil then
        finish(rerr)
        return
      end
      local is_zip = string.sub(uri, 1, 4) == "zip:" or string.lower(string.sub(path, -4)) == ".zip"
      if is_zip then
        engine_mount(name, (mount and mount.uri) or path, priority, function(engine_err)
          if engine_err == nil then
            finish(nil)
            return
          end
          -- The engine refused it: take it back out of the agent, so both serve the same mounts.
          M.call("mounts.remove", { name = name }, function(_, _, back_err)
            M.refresh_mounts(function()
              if back_err ~= nil then
                engine_err.message = engine_err.message .. " Removing it from the agent failed too: "
                  .. tostring(back_err.code) .. " " .. tostring(back_err.message)
              end
              finish(engine_err)
            end)
          end)
        end)
      else
        finish(nil)
      end
    end)
  end)
end

--- Like liveupdate.remove_mount(name): removes it in the agent (and in the engine, inside Defold).
--- callback(self, name, result, err, removed): result ferry.OK and removed true, or ferry.ERROR with the
--- agent's error (E_NOT_FOUND when no mount has that name) and removed false.
function M.remove_mount(name, callback)
  require_init()
  M.call("mounts.remove", { name = name }, function(self, answer, err)
    if err ~= nil then
      if callback then
        callback(self, name, M.ERROR, err, false)
      end
      return
    end
    local engine = config.liveupdate
    if engine ~= nil and type(engine.remove_mount) == "function" then
      for _, m in ipairs(mounts_cache) do
        if m.name == name then
          engine.remove_mount(name)
        end
      end
    end
    M.refresh_mounts(function(_, _, rerr)
      if callback then
        callback(self, name, rerr == nil and M.OK or M.ERROR, rerr, answer ~= nil and answer.ok == true)
      end
    end)
  end)
end

--- Which mount serves a path: callback(self, {path, mount, uri, priority, size} or nil, err); `mount` is
--- the mount's name (the agent answers the library's Resolution, whose `name` it is).
function M.resolve(path, callback)
  M.call("mounts.resolve", { path = path }, function(self, hit, err)
    if hit ~= nil and hit.mount == nil then
      hit.mount = hit.name
    end
    if hit ~= nil then
      hit.priority = int(hit.priority)
    end
    if callback then
      callback(self, hit, err)
    end
  end)
end

--- Startup check that replaces Defold's version_<name>.json convention: the agent re-verifies every
--- persisted mount (runtime, content hash, install identity) and serves only the valid ones; engine
--- mounts of archives inside the install that the agent no longer serves are removed from the engine,
--- and served ones the engine lacks are added. callback(self, mounts, err).
function M.sync(callback)
  M.refresh_mounts(function(self, list, err)
    if err ~= nil then
      if callback then
        callback(self, nil, err)
      end
      return
    end
    local engine = config.liveupdate
    if engine == nil or type(engine.get_mounts) ~= "function" then
      if callback then
        callback(self, list, nil)
      end
      return
    end
    local served = {}
    for _, m in ipairs(list) do
      served["zip:" .. m.uri] = m
    end
    local present = {}
    for _, em in ipairs(engine.get_mounts() or {}) do
      local uri = em.uri
      present[uri] = true
      if type(uri) == "string" and string.sub(uri, 1, 4) == "zip:" and under(string.sub(uri, 5), install_dir) then
        if served[uri] == nil then
          engine.remove_mount(em.name)
        end
      end
    end
    local pending = {}
    for _, m in ipairs(list) do
      if not present["zip:" .. m.uri] and string.lower(string.sub(m.uri, -4)) == ".zip" then
        pending[#pending + 1] = m
      end
    end
    local i = 0
    local function step(e)
      if e ~= nil then
        if callback then
          callback(self, nil, e)
        end
        return
      end
      i = i + 1
      local m = pending[i]
      if m == nil then
        if callback then
          callback(self, list, nil)
        end
        return
      end
      engine_mount(m.name, m.uri, m.priority, step)
    end
    step(nil)
  end)
end

--- What a level lacks: callback(self, {version, files = {{path, package, size}}, bytes}, err).
--- `package` is a package name or a list of them; offline in the agent (no network).
function M.missing(package, callback)
  M.call("missing", { packages = as_list(package) }, callback)
end

--- Downloads what `package` lacks (verified, resumable, delta-updated: the client's ensure), then, with
--- opts.archive (a release path inside the package, e.g. "levels/level1.zip"), mounts that archive as
--- opts.name (default the package name) at opts.priority (default 10) in the agent and, inside Defold,
--- in the engine (liveupdate.add_mount("zip:" .. path)).
--- callback(self, {version, downloaded = <ReselectResult or nil>, mount = {name, uri, priority, version}?}, err).
--- opts and callback may come in either order.
--- Nothing is fetched when nothing is missing (works offline).
function M.ensure(package, callback, opts)
  opts, callback = options_and_callback(callback, opts)
  opts = opts or {}
  local packages = as_list(package)
  local function done(self, result, err)
    if callback then
      callback(self, result, err)
    end
  end
  M.missing(packages, function(self, lack, err)
    if err ~= nil then
      done(self, nil, err)
      return
    end
    local function mount(self2, downloaded)
      local out = { version = lack.version, downloaded = downloaded }
      if opts.archive == nil then
        done(self2, out, nil)
        return
      end
      with_install_dir(function(_, dir, derr)
        if derr ~= nil then
          done(self2, nil, derr)
          return
        end
        local path = trim_slash(dir) .. opts.archive
        local name = opts.name or packages[1]
        local priority = opts.priority or 10
        -- What the agent serves now (a mount persisted by an earlier session counts), not the cache.
        M.refresh_mounts(function(_, served, rerr)
          if rerr ~= nil then
            done(self2, nil, rerr)
            return
          end
          for _, m in ipairs(served) do
            if m.name == name and m.uri == path then
              -- Mounted already: the agent serves it; make sure the engine has it too.
              out.mount = { name = name, uri = path, priority = m.priority, version = lack.version }
              if engine_has(path) then
                done(self2, out, nil)
              else
                engine_mount(name, path, m.priority, function(e)
                  if e ~= nil then
                    done(self2, nil, e)
                  else
                    done(self2, out, nil)
                  end
                end)
              end
              return
            end
          end
          M.add_mount(name, "zip:" .. path, priority, function(self3, _, _, _, merr)
            if merr ~= nil then
              done(self3, nil, merr)
              return
            end
            out.mount = { name = name, uri = path, priority = priority, version = lack.version }
            done(self3, out, nil)
          end)
        end)
      end)
    end
    if #lack.files == 0 then
      mount(self, nil)
      return
    end
    M.call("ensure", { packages = packages }, function(self2, result, eerr)
      if eerr ~= nil then
        done(self2, nil, eerr)
        return
      end
      mount(self2, result)
    end)
  end)
end

--- check / update / status / lifecycle / cancel: the agent's methods of the same names. check and
--- update take (params, callback) in either order, params optional.
function M.check(params, callback)
  params, callback = options_and_callback(params, callback)
  M.call("check", params, callback)
end

function M.update(params, callback)
  params, callback = options_and_callback(params, callback)
  M.call("update", params, callback)
end

function M.status(callback)
  M.call("status", nil, callback)
end

function M.lifecycle(callback)
  M.call("lifecycle", nil, callback)
end

function M.cancel(callback)
  M.call("cancel", nil, callback)
end

--- One long-poll for events newer than the last seen (timeout_ms optional, either order):
--- callback(self, events, err), events a list of
--- {seq, event}; `dropped` (third value) is true when older events were no longer kept.
function M.poll_events(timeout_ms, callback)
  require_init()
  timeout_ms, callback = options_and_callback(timeout_ms, callback)
  local timeout = timeout_ms
  if timeout == nil then
    timeout = config.poll_timeout_ms
  end
  local url = config.agent_url .. "v1/events?after=" .. tostring(next_seq) .. "&timeout=" .. tostring(timeout)
  config.request(url, "GET", function(self, _, response)
    local decoded, err = read_response(response, "events")
    if err ~= nil then
      callback(self, nil, err, false)
      return
    end
    if type(decoded.next) == "number" then
      next_seq = int(decoded.next)
    end
    callback(self, decoded.events or {}, nil, decoded.dropped == true)
  end, headers(), nil, { timeout = math.floor(timeout / 1000) + 10 })
end

--- Keeps long-polling (in Defold the http callbacks come from the engine's update loop, so this never
--- blocks): on_event(self, event) for each event, on_error(self, err) once when polling stops on an
--- error. stop_events() ends it after the poll in flight.
function M.listen(on_event, on_error)
  require_init()
  listening = true
  local function loop()
    if not listening then
      return
    end
    M.poll_events(function(self, events, err)
      if err ~= nil then
        listening = false
        if on_error then
          on_error(self, err)
        end
        return
      end
      for _, item in ipairs(events) do
        on_event(self, item.event, item.seq)
      end
      loop()
    end)
  end
  loop()
end

function M.stop_events()
  listening = false
end

--- The sequence number the next poll starts after.
function M.events_seq()
  return next_seq
end

return M
