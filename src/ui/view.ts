/**
 * The update screen's component (docs/LIFECYCLE.md "The update screen"): framework-free browser
 * JavaScript, shipped as text, that knows nothing of the transport. It defines `globalThis.FerryUpdateView`:
 *
 * - `initialModel()`: the model before anything is known;
 * - `reduce(model, message)`: the next model for one message, where a message is a lifecycle event of the
 *   Updater (`{type:"state"|"progress"}`), `{type:"snapshot", ...LifecycleSnapshot}`,
 *   `{type:"check", ...CheckAnswer}`, `{type:"installed", version, simulated, error?}`,
 *   `{type:"log", entries, present, simulated}` or `{type:"refused", code, message}`;
 * - `mount(root, { onAction })`: builds the element structure in `root` and returns `{ render(model) }`;
 *   `onAction(name)` is called with check, update, pause, resume or cancel.
 *
 * The loopback page (page.ts) feeds it from Server-Sent Events; a browser runtime feeds it the same
 * messages from an Updater in the page. Pure functions of the model, so any host can drive it.
 */
export const VIEW_JS = `"use strict";
(function () {
  var BUSY = { checking: 1, downloading: 1, verifying: 1, applying: 1 };
  var UPDATABLE = { available: 1, "up-to-date": 1, failed: 1, cancelled: 1 };
  var PARTS = ["banner", "versions", "installed", "available", "mandatory", "state", "message", "bar",
    "bytes", "speed", "eta", "files", "check", "update", "pause", "resume", "cancel", "notes", "log",
    "log-body", "log-empty"];

  function initialModel() {
    return { state: "idle", error: null, refused: null, installed: null, check: null, progress: null,
      log: null, simulated: false, updatedTo: null };
  }

  function assign(model, changes) {
    var next = {};
    for (var k in model) next[k] = model[k];
    for (var c in changes) next[c] = changes[c];
    return next;
  }

  /** The model after one message; unknown messages change nothing. */
  function reduce(model, m) {
    switch (m && m.type) {
      case "snapshot":
        return assign(model, { state: m.state, error: m.error || null, check: m.lastCheck || model.check,
          progress: m.progress || null, installed: m.installed || model.installed,
          simulated: m.simulated === true || model.simulated });
      case "state": {
        var changes = { state: m.state, error: m.error || null, refused: null };
        if (m.state === "checking") changes.progress = null;
        if (m.state === "downloading" && m.previous !== "paused") { changes.progress = null; changes.updatedTo = null; }
        if (m.state === "done") changes.updatedTo = model.installed ? model.installed.version : null;
        return assign(model, changes);
      }
      case "progress": {
        var p = {};
        for (var key in m) if (key !== "type") p[key] = m[key];
        return assign(model, { progress: p });
      }
      case "check": {
        var check = {};
        for (var ck in m) if (ck !== "type") check[ck] = m[ck];
        return assign(model, { check: check });
      }
      case "installed":
        return assign(model, { installed: { version: m.version, error: m.error || null },
          simulated: m.simulated === true || model.simulated,
          updatedTo: model.state === "done" ? m.version : model.updatedTo });
      case "log":
        return assign(model, { log: { entries: m.entries || [], present: m.present === true,
          simulated: m.simulated === true }, simulated: m.simulated === true || model.simulated });
      case "refused":
        return assign(model, { refused: { code: m.code, message: m.message } });
      default:
        return model;
    }
  }

  function formatBytes(n) {
    if (typeof n !== "number" || !isFinite(n)) return "";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
  }

  /** "2026-01-01T12:00:00.000Z" as "2026-01-01 12:00:00 UTC"; anything else unchanged. */
  function formatTime(t) {
    if (typeof t !== "string") return "";
    var m = /^(\\d{4}-\\d{2}-\\d{2})T(\\d{2}:\\d{2}:\\d{2})(\\.\\d+)?Z$/.exec(t);
    return m ? m[1] + " " + m[2] + " UTC" : t;
  }

  function installedText(model) {
    var inst = model.installed;
    if (inst && inst.version) return inst.version;
    if (inst && inst.error) return "unknown";
    if (inst) return "not installed";
    return "\\u2026";
  }

  /** The check's release is the installed one (after an update, or when the check found none). */
  function current(model) {
    var check = model.check;
    var installed = model.installed && model.installed.version;
    if (!check) return model.state === "done";
    return !check.updateAvailable || (installed !== null && installed !== undefined && check.version === installed);
  }

  /** What the header says about the channel's release. */
  function availableText(model) {
    var check = model.check;
    if (model.state === "checking") return "Checking\u2026";
    if (current(model)) return "Up to date";
    if (!check) return "Not checked yet";
    if (check.heldForRuntime) return "Available " + check.heldForRuntime.version + " (for runtime " + check.heldForRuntime.runtime + ", not this one)";
    var size = formatBytes(check.downloadBytes);
    return "Available " + check.version + (size ? " (" + size + " to download)" : "");
  }

  function mandatoryText(model) {
    var check = model.check;
    if (!check || current(model)) return "";
    if (check.mustUpdate) return "Required update: the installed version is below the minimum " + check.minVersion + ". Update before playing.";
    if (check.mandatory) return "Mandatory update: this release must be installed.";
    return "";
  }

  /** The sentence under the state, and its tone (info, success, warning, error). */
  function messageOf(model) {
    if (model.refused) return ["error", model.refused.code + ": " + model.refused.message];
    var s = model.state;
    var check = model.check;
    switch (s) {
      case "idle": return ["info", "Not checked yet."];
      case "checking": return ["info", "Checking for updates\\u2026"];
      case "available": return [check && (check.mandatory || check.mustUpdate) ? "warning" : "info",
        "Version " + (check ? check.version : "?") + " is available."];
      case "up-to-date": return ["success", "You have the latest version."];
      case "downloading": return ["info", "Downloading\\u2026"];
      case "verifying": return ["info", "Verifying the new files\\u2026"];
      case "applying": return ["info", "Applying the update\\u2026"];
      case "done": return ["success", "Updated to " + (model.updatedTo || (model.installed && model.installed.version) || "the new version") + "."];
      case "paused": return ["info", "Paused. Downloaded data is kept: Resume continues where it stopped."];
      case "cancelled": return ["info", "Cancelled. The install is unchanged."];
      case "rolled-back": return ["warning", "The update was rolled back to the previous release."];
      case "failed": return ["error", model.error ? model.error.code + ": " + model.error.message : "The operation failed."];
      default: return ["info", ""];
    }
  }

  function el(tag, part, text) {
    var e = document.createElement(tag);
    if (part) { e.setAttribute("data-ferry", part); e.className = "ferry-" + part; }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  /** Builds the documented element structure in root (emptied first). */
  function build(root) {
    root.textContent = "";
    root.classList.add("ferry-screen");
    var parts = {};
    function add(parent, tag, part, text) { var e = el(tag, part, text); parts[part] = e; parent.appendChild(e); return e; }
    add(root, "p", "banner").hidden = true;
    var header = add(root, "header", "header");
    add(header, "h1", "title", "Update");
    var versions = add(header, "p", "versions");
    versions.appendChild(document.createTextNode("Installed "));
    add(versions, "strong", "installed");
    versions.appendChild(document.createTextNode(" \\u00b7 "));
    add(versions, "strong", "available");
    add(header, "p", "mandatory").hidden = true;
    var status = add(root, "div", "status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    add(status, "span", "state");
    add(status, "span", "message");
    var bar = add(root, "progress", "bar");
    bar.max = 1; bar.value = 0;
    bar.setAttribute("aria-label", "Download progress");
    var figures = add(root, "p", "figures");
    ["bytes", "speed", "eta", "files"].forEach(function (p) { add(figures, "span", p); });
    var buttons = add(root, "div", "buttons");
    [["check", "Check for updates"], ["update", "Update"], ["pause", "Pause"], ["resume", "Resume"], ["cancel", "Cancel"]]
      .forEach(function (b) { var e = add(buttons, "button", b[0], b[1]); e.type = "button"; });
    var notes = add(root, "section", "notes-section");
    add(notes, "h2", "notes-title", "Release notes");
    add(notes, "pre", "notes");
    var logSection = add(root, "section", "log-section");
    add(logSection, "h2", "log-title", "Update log");
    var wrap = add(logSection, "div", "log-wrap");
    var table = add(wrap, "table", "log");
    var head = table.createTHead().insertRow();
    ["Time", "Event", "Version", "Details"].forEach(function (h) { var th = document.createElement("th"); th.textContent = h; head.appendChild(th); });
    var body = document.createElement("tbody");
    body.setAttribute("data-ferry", "log-body");
    table.appendChild(body);
    parts["log-body"] = body;
    add(logSection, "p", "log-empty");
    return parts;
  }

  function renderLog(parts, model) {
    var log = model.log;
    var body = parts["log-body"];
    body.textContent = "";
    var entries = log && !log.simulated ? log.entries : [];
    for (var i = entries.length - 1; i >= 0; i--) {
      var e = entries[i] || {};
      var row = body.insertRow();
      row.setAttribute("data-kind", String(e.kind || e.type || "unknown"));
      row.insertCell().textContent = formatTime(e.time);
      row.insertCell().textContent = String(e.kind || e.type || "?");
      var version = e.version || "";
      if (e.fromVersion && e.fromVersion !== e.version) version = e.fromVersion + " \\u2192 " + (e.version || "?");
      var vcell = row.insertCell();
      vcell.textContent = version || "\\u2014";
      if (e.release) vcell.title = "release " + e.release;
      var details = e.message || "";
      if (e.code && e.code !== "OK") details = e.code + (details ? ": " + details : "");
      row.insertCell().textContent = details;
    }
    var empty = parts["log-empty"];
    empty.hidden = entries.length > 0;
    parts["log-wrap"].hidden = entries.length === 0;
    if (model.simulated) empty.textContent = "Simulation: the install's real update log is not shown.";
    else if (!log) empty.textContent = "Loading the update log\\u2026";
    else empty.textContent = "No update log yet.";
  }

  function render(parts, root, model) {
    var s = model.state;
    var busy = BUSY[s] === 1;
    root.setAttribute("data-state", s);
    root.toggleAttribute("data-simulated", model.simulated);
    parts.banner.hidden = !model.simulated;
    parts.banner.textContent = model.simulated ? "Simulation: no network, no file is changed. Versions, progress and errors are made up." : "";
    parts.installed.textContent = installedText(model) + (model.simulated ? " (simulated)" : "");
    if (model.installed && model.installed.error) parts.installed.title = model.installed.error.code + ": " + model.installed.error.message;
    parts.available.textContent = availableText(model);
    var mandatory = mandatoryText(model);
    parts.mandatory.hidden = mandatory === "";
    parts.mandatory.textContent = mandatory;
    root.toggleAttribute("data-mandatory", mandatory !== "");
    parts.state.textContent = s;
    var msg = messageOf(model);
    parts.message.textContent = msg[1];
    parts.message.setAttribute("data-tone", msg[0]);
    if (msg[0] === "error") parts.message.setAttribute("role", "alert"); else parts.message.removeAttribute("role");

    var p = model.progress;
    var bar = parts.bar;
    if (s === "done") { bar.max = 1; bar.value = 1; }
    else if (!p) { bar.max = 1; bar.value = 0; }
    else if (p.phase === "downloading") { bar.max = Math.max(1, p.bytesTotal || 0); bar.value = p.bytesDone || 0; }
    else if (p.phase === "verifying") { bar.max = Math.max(1, p.filesTotal || 0); bar.value = p.filesDone || 0; }
    else { bar.max = 1; bar.value = 1; }
    bar.setAttribute("data-phase", p ? p.phase : "");
    var showBytes = p && (p.bytesTotal > 0) && (busy || s === "paused" || s === "done");
    parts.bytes.textContent = showBytes ? formatBytes(p.bytesDone) + " / " + formatBytes(p.bytesTotal) : "";
    // Speed and ETA describe a running download only: never a stale figure after it stopped.
    var live = p && s === "downloading";
    parts.speed.textContent = live && typeof p.bytesPerSecond === "number" ? formatBytes(Math.round(p.bytesPerSecond)) + "/s" : "";
    parts.eta.textContent = live && typeof p.etaSeconds === "number" ? "ETA " + Math.ceil(p.etaSeconds) + " s" : "";
    parts.files.textContent = p && p.filesTotal && (busy || s === "paused") ? "files " + (p.filesDone || 0) + "/" + p.filesTotal : "";

    parts.check.disabled = busy;
    parts.update.disabled = busy || UPDATABLE[s] !== 1;
    parts.pause.disabled = !(s === "downloading" || s === "verifying");
    parts.resume.disabled = s !== "paused";
    parts.cancel.disabled = !((busy && s !== "applying") || s === "paused");

    var check = model.check;
    parts.notes.textContent = check
      ? check.notes || "Version " + check.version + " (the publisher gave no release notes)."
      : "(check for updates to see the release notes)";
    renderLog(parts, model);
  }

  function mount(root, options) {
    var parts = build(root);
    var onAction = options && options.onAction;
    ["check", "update", "pause", "resume", "cancel"].forEach(function (action) {
      parts[action].addEventListener("click", function () { if (onAction) onAction(action); });
    });
    return { parts: parts, render: function (model) { render(parts, root, model); } };
  }

  globalThis.FerryUpdateView = { initialModel: initialModel, reduce: reduce, mount: mount, formatBytes: formatBytes, parts: PARTS };
})();
`;
