/**
 * The update screen's static files (docs/LIFECYCLE.md "Update screen"): plain HTML, CSS and JavaScript,
 * no framework, no external resources, so a studio can copy or embed them. The page talks only to the
 * endpoint that served it: POST /api/<action> to act, Server-Sent Events on /api/events to follow the
 * lifecycle, GET /api/log for the update log.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Update</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<main>
  <h1>Update</h1>
  <p id="versions">Installed: <span id="installed">?</span> &middot; Available: <span id="available">?</span></p>
  <p id="status" role="status" aria-live="polite">State: <strong id="state">idle</strong> <span id="message"></span></p>
  <progress id="bar" max="1" value="0" aria-label="Download progress"></progress>
  <p id="figures"><span id="bytes"></span> <span id="speed"></span> <span id="eta"></span> <span id="files"></span></p>
  <div id="buttons">
    <button id="check" type="button">Check for updates</button>
    <button id="update" type="button" disabled>Update</button>
    <button id="pause" type="button" disabled>Pause</button>
    <button id="resume" type="button" disabled>Resume</button>
    <button id="cancel" type="button" disabled>Cancel</button>
  </div>
  <section>
    <h2>Release notes</h2>
    <pre id="notes">(check for updates to see the release notes)</pre>
  </section>
  <section>
    <h2>Update log</h2>
    <table id="log"><thead><tr><th>Time</th><th>Event</th><th>Release</th><th>Details</th></tr></thead><tbody></tbody></table>
    <p id="log-empty">No update log yet.</p>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `body { font: 15px/1.4 system-ui, sans-serif; margin: 0; background: #15171c; color: #e8e8e8; }
main { max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
progress { width: 100%; height: 1.2rem; }
button { font: inherit; padding: .4rem .9rem; margin-right: .4rem; }
pre { white-space: pre-wrap; background: #1f2229; padding: .6rem; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
td, th { border-bottom: 1px solid #333; padding: .2rem .4rem; text-align: left; vertical-align: top; }
#message { color: #f5a97f; }
`;

export const PAGE_JS = `"use strict";
const $ = (id) => document.getElementById(id);
const BUSY = new Set(["checking", "downloading", "verifying", "applying"]);
let state = "idle";

function formatBytes(n) {
  if (n === undefined || n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function showState(next, error) {
  state = next;
  $("state").textContent = next;
  $("message").textContent = error ? error.code + ": " + error.message : "";
  const busy = BUSY.has(next);
  $("check").disabled = busy;
  $("update").disabled = busy || !(next === "available" || next === "up-to-date" || next === "failed" || next === "cancelled");
  $("pause").disabled = !(next === "downloading" || next === "verifying");
  $("cancel").disabled = !(busy && next !== "applying") && next !== "paused";
  $("resume").disabled = next !== "paused";
  if (next === "done") { $("bar").value = $("bar").max; loadLog(); }
  if (next === "failed" || next === "cancelled" || next === "rolled-back") loadLog();
}

function showCheck(check) {
  if (!check) return;
  $("installed").textContent = check.installedVersion || "(not installed)";
  $("available").textContent = check.version + (check.updateAvailable ? " (" + formatBytes(check.downloadBytes) + " to download)" : " (up to date)");
  $("notes").textContent = check.notes || "Version " + check.version + " (the publisher gave no release notes).";
}

function showProgress(p) {
  if (!p) return;
  const bytesPhase = p.phase === "downloading";
  $("bar").max = bytesPhase ? Math.max(1, p.bytesTotal) : Math.max(1, p.filesTotal);
  $("bar").value = bytesPhase ? p.bytesDone : p.filesDone;
  $("bar").dataset.phase = p.phase;
  $("bytes").textContent = formatBytes(p.bytesDone) + " / " + formatBytes(p.bytesTotal);
  $("speed").textContent = p.bytesPerSecond === undefined || p.bytesPerSecond === null ? "" : formatBytes(p.bytesPerSecond) + "/s";
  $("eta").textContent = p.etaSeconds === undefined || p.etaSeconds === null ? "" : "ETA " + Math.ceil(p.etaSeconds) + " s";
  $("files").textContent = p.filesTotal ? "files " + p.filesDone + "/" + p.filesTotal : "";
}

async function post(action) {
  const response = await fetch("/api/" + action, { method: "POST", headers: { "x-ferry-ui": "1" } });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    $("message").textContent = (body.code || response.status) + ": " + (body.message || "refused");
  }
}

async function loadLog() {
  const response = await fetch("/api/log");
  if (!response.ok) return;
  const { entries } = await response.json();
  const body = $("log").tBodies[0];
  body.textContent = "";
  for (const entry of entries.slice().reverse()) {
    const row = body.insertRow();
    const { time, type, event, release, version, code, message, ...rest } = entry;
    row.insertCell().textContent = time || "";
    row.insertCell().textContent = type || event || "";
    row.insertCell().textContent = release || version || "";
    row.insertCell().textContent = [code, message].filter(Boolean).join(": ") || JSON.stringify(rest);
  }
  $("log-empty").hidden = entries.length > 0;
}

for (const action of ["check", "update", "pause", "resume", "cancel"]) {
  $(action).addEventListener("click", () => post(action));
}

const events = new EventSource("/api/events");
events.addEventListener("snapshot", (e) => {
  const s = JSON.parse(e.data);
  showState(s.state, s.error);
  showCheck(s.lastCheck);
  showProgress(s.progress);
});
events.addEventListener("state", (e) => {
  const event = JSON.parse(e.data);
  showState(event.state, event.error);
});
events.addEventListener("check", (e) => showCheck(JSON.parse(e.data)));
events.addEventListener("progress", (e) => showProgress(JSON.parse(e.data)));
loadLog();
`;
