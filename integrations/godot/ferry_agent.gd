## Ferry agent client for Godot 4 (GDScript): the loopback HTTP transport of `ferry agent`
## (docs/AGENT.md, protocol 1), nothing more. UNTESTED: no Godot runs in Ferry's CI (docs/engines/godot.md).
##
## Add it as a node (or an autoload named Ferry), configure it with the url and token the agent printed,
## then `await` its methods. Every call returns {"result": ...} or {"error": {code, message, data, status}}.
class_name FerryAgent
extends Node

const PROTOCOL := 1

## One lifecycle event of the agent ({"type": "state"|"progress"|"library"|"job", ...}) and its seq.
signal event_received(event: Dictionary, seq: int)
## Polling stopped on this error.
signal events_failed(error: Dictionary)

var agent_url := ""
var token := ""
## Long-poll wait, in milliseconds (the agent caps it at 60000).
var poll_timeout_ms := 25000

var _next_seq := 0
var _polling := false


func configure(url: String, agent_token: String) -> void:
	agent_url = url if url.ends_with("/") else url + "/"
	token = agent_token


func _headers() -> PackedStringArray:
	return PackedStringArray([
		"Authorization: Bearer " + token,
		"Content-Type: application/json",
		"Accept: application/json",
	])


func _failure(code: String, message: String, status: int) -> Dictionary:
	return {"error": {"code": code, "message": message, "data": {}, "status": status}}


# One HTTP exchange; HTTPRequest nodes are cheap, so each call gets its own and frees it.
func _exchange(url: String, method: int, body: String, timeout_s: float, what: String) -> Dictionary:
	var http := HTTPRequest.new()
	http.timeout = timeout_s
	add_child(http)
	var started := http.request(url, _headers(), method, body)
	if started != OK:
		http.queue_free()
		return _failure("E_NETWORK", "Could not send %s to the Ferry agent at %s (error %d)." % [what, agent_url, started], 0)
	var done: Array = await http.request_completed
	http.queue_free()
	var result: int = done[0]
	var status: int = done[1]
	var text: String = (done[3] as PackedByteArray).get_string_from_utf8()
	if result != HTTPRequest.RESULT_SUCCESS:
		return _failure("E_NETWORK", "The Ferry agent at %s did not answer %s (HTTPRequest result %d). Is `ferry agent --listen` running?" % [agent_url, what, result], 0)
	var parsed = JSON.parse_string(text)
	if typeof(parsed) != TYPE_DICTIONARY:
		return _failure("E_PROTOCOL", "The Ferry agent answered %s with HTTP %d and a body that is not a JSON object." % [what, status], status)
	if status != 200:
		var error = parsed.get("error")
		if typeof(error) != TYPE_DICTIONARY:
			return _failure("E_PROTOCOL", "The Ferry agent answered %s with HTTP %d and no error object." % [what, status], status)
		error["status"] = status
		return {"error": error}
	return parsed


## Calls one agent method: {"result": ...} or {"error": {...}}.
func call_method(method: String, params: Dictionary = {}) -> Dictionary:
	var message := {"method": method}
	if not params.is_empty():
		message["params"] = params
	var answer: Dictionary = await _exchange(agent_url + "v1/call", HTTPClient.METHOD_POST, JSON.stringify(message), 0.0, method)
	return answer


func hello() -> Dictionary:
	return await call_method("hello")

func check(params: Dictionary = {}) -> Dictionary:
	return await call_method("check", params)

func update(params: Dictionary = {}) -> Dictionary:
	return await call_method("update", params)

func status() -> Dictionary:
	return await call_method("status")

func cancel() -> Dictionary:
	return await call_method("cancel")

func missing(packages: Array) -> Dictionary:
	return await call_method("missing", {"packages": packages})

func ensure(packages: Array) -> Dictionary:
	return await call_method("ensure", {"packages": packages})

func get_mounts() -> Dictionary:
	return await call_method("mounts.list")

func add_mount(mount_name: String, uri: String, priority: int) -> Dictionary:
	return await call_method("mounts.add", {"name": mount_name, "uri": uri, "priority": priority})

func remove_mount(mount_name: String) -> Dictionary:
	return await call_method("mounts.remove", {"name": mount_name})

func resolve(path: String) -> Dictionary:
	return await call_method("mounts.resolve", {"path": path})


## Long-polls GET /v1/events until stop_events(); emits event_received for each event.
func start_events() -> void:
	if _polling:
		return
	_polling = true
	while _polling:
		var url := "%sv1/events?after=%d&timeout=%d" % [agent_url, _next_seq, poll_timeout_ms]
		var answer: Dictionary = await _exchange(url, HTTPClient.METHOD_GET, "", poll_timeout_ms / 1000.0 + 10.0, "events")
		if answer.has("error"):
			_polling = false
			events_failed.emit(answer["error"])
			return
		_next_seq = int(answer.get("next", _next_seq))
		for item in answer.get("events", []):
			event_received.emit(item["event"], int(item["seq"]))


func stop_events() -> void:
	_polling = false
