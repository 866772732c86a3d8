## Example (UNTESTED, no Godot here): an autoload that checks, updates with a progress bar, and makes
## sure a level's optional package is on disk before loading it. Run the agent beside the game:
##   ferry agent <repo-url> <install-dir> --trust root.pub --listen 127.0.0.1:0
## and pass the {"url","token"} line it prints (the launcher can put them in the environment).
extends Node

var ferry := FerryAgent.new()


func _ready() -> void:
	add_child(ferry)
	ferry.configure(OS.get_environment("FERRY_AGENT_URL"), OS.get_environment("FERRY_AGENT_TOKEN"))
	ferry.event_received.connect(_on_event)
	ferry.start_events()
	var answer := await ferry.check()
	if answer.has("error"):
		push_warning("Ferry check failed: %s %s" % [answer.error.code, answer.error.message])
		return
	if answer.result.updateAvailable:
		var done := await ferry.update()
		if done.has("error"):
			push_warning("Ferry update failed: %s" % done.error.message)


func load_level(level: String, scene_path: String) -> void:
	var lack := await ferry.missing([level])
	if lack.has("result") and lack.result.files.size() > 0:
		var got := await ferry.ensure([level])
		if got.has("error"):
			push_warning("Could not fetch %s: %s" % [level, got.error.message])
			return
	get_tree().change_scene_to_file(scene_path)


func _on_event(event: Dictionary, _seq: int) -> void:
	if event.type == "progress" and event.bytesTotal > 0:
		print("Ferry: %d%%" % int(100.0 * event.bytesDone / event.bytesTotal))
