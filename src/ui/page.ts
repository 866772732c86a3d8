/**
 * The update screen's static files (docs/LIFECYCLE.md "The update screen"): plain HTML, CSS and
 * JavaScript, no framework, no external resources, so a studio can copy, restyle or embed them.
 *
 * - `/ferry-update-view.js` (VIEW_JS, view.ts): the component: model, reducer and rendering, no I/O.
 * - `/app.js` (PAGE_JS): the transport of this loopback page: POST /api/<action> to act, Server-Sent
 *   Events on /api/events to follow the lifecycle, GET /api/log for the update log. It only turns what
 *   it receives into messages for the component.
 * - `/app.css` (PAGE_CSS): the default theme; every colour, size and font is a `--ferry-*` custom property.
 */
export { VIEW_JS } from "./view.js";

export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Update</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<main id="ferry-update" class="ferry-screen"></main>
<script src="/ferry-update-view.js"></script>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = `:root {
  --ferry-font: 15px/1.4 system-ui, sans-serif;
  --ferry-bg: #15171c;
  --ferry-fg: #e8e8e8;
  --ferry-muted: #9aa0aa;
  --ferry-panel: #1f2229;
  --ferry-border: #333840;
  --ferry-accent: #5fa8ff;
  --ferry-on-accent: #08121f;
  --ferry-success: #7fd88f;
  --ferry-warning: #f0c060;
  --ferry-error: #ff7b72;
  --ferry-radius: 4px;
  --ferry-max-width: 44rem;
}
* { box-sizing: border-box; }
body { font: var(--ferry-font); margin: 0; background: var(--ferry-bg); color: var(--ferry-fg); }
.ferry-screen { max-width: var(--ferry-max-width); margin: 1.5rem auto; padding: 0 1rem; overflow-wrap: anywhere; }
.ferry-screen h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
.ferry-screen h2 { font-size: 1.1rem; margin: 1.2rem 0 .4rem; }
.ferry-banner { margin: 0 0 1rem; padding: .5rem .7rem; border: 1px dashed var(--ferry-warning);
  border-radius: var(--ferry-radius); color: var(--ferry-warning); }
.ferry-versions { margin: 0 0 .4rem; }
.ferry-mandatory { margin: 0 0 .6rem; padding: .4rem .7rem; border-left: 4px solid var(--ferry-warning);
  background: var(--ferry-panel); color: var(--ferry-warning); font-weight: 600; }
.ferry-status { margin: .4rem 0; display: flex; flex-wrap: wrap; gap: .2rem .6rem; align-items: baseline; }
.ferry-state { font-size: .75rem; font-weight: 700; text-transform: uppercase; letter-spacing: .04em;
  padding: .05rem .45rem; border: 1px solid var(--ferry-border); border-radius: var(--ferry-radius); }
.ferry-message[data-tone="info"] { color: var(--ferry-muted); }
.ferry-message[data-tone="success"] { color: var(--ferry-success); }
.ferry-message[data-tone="warning"] { color: var(--ferry-warning); }
.ferry-message[data-tone="error"] { color: var(--ferry-error); font-weight: 600; }
.ferry-bar { display: block; width: 100%; height: 1.2rem; accent-color: var(--ferry-accent); }
.ferry-figures { display: flex; flex-wrap: wrap; gap: 0 1rem; min-height: 1.4em; margin: .3rem 0; color: var(--ferry-muted); }
.ferry-buttons { display: flex; flex-wrap: wrap; gap: .4rem; }
.ferry-buttons button { font: inherit; padding: .4rem .9rem; border-radius: var(--ferry-radius);
  border: 1px solid var(--ferry-border); background: var(--ferry-panel); color: var(--ferry-fg); cursor: pointer; }
.ferry-buttons button:disabled { opacity: .45; cursor: default; }
.ferry-screen[data-state="available"] .ferry-buttons button[data-ferry="update"],
.ferry-screen[data-state="paused"] .ferry-buttons button[data-ferry="resume"] {
  background: var(--ferry-accent);
  border-color: var(--ferry-accent);
  color: var(--ferry-on-accent);
  font-weight: 600;
}
.ferry-notes { white-space: pre-wrap; background: var(--ferry-panel); padding: .6rem; margin: 0;
  border-radius: var(--ferry-radius); }
.ferry-log-wrap { max-width: 100%; overflow-x: auto; }
.ferry-log { border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 13px; }
.ferry-log th:nth-child(1) { width: 12.5rem; }
.ferry-log th:nth-child(2) { width: 7rem; }
.ferry-log th:nth-child(3) { width: 8rem; }
.ferry-log td, .ferry-log th { border-bottom: 1px solid var(--ferry-border); padding: .2rem .4rem; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
.ferry-log tr[data-kind="refused"] td:nth-child(2), .ferry-log tr[data-kind="blocked"] td:nth-child(2),
.ferry-log tr[data-kind="rolled-back"] td:nth-child(2) { color: var(--ferry-warning); }
.ferry-log-empty { color: var(--ferry-muted); }
@media (max-width: 36rem) {
  .ferry-log, .ferry-log tbody, .ferry-log tr, .ferry-log td { display: block; width: 100%; }
  .ferry-log thead { display: none; }
  .ferry-log tr { border-bottom: 1px solid var(--ferry-border); padding: .3rem 0; }
  .ferry-log td { border: 0; padding: 0 .2rem; }
  .ferry-log td:nth-child(1) { color: var(--ferry-muted); }
  .ferry-log td:nth-child(2) { font-weight: 600; }
}
`;

export const PAGE_JS = `"use strict";
(function () {
  var View = globalThis.FerryUpdateView;
  var model = View.initialModel();
  var view = View.mount(document.getElementById("ferry-update"), { onAction: post });
  function dispatch(message) { model = View.reduce(model, message); view.render(model); }

  async function post(action) {
    var response = await fetch("/api/" + action, { method: "POST", headers: { "x-ferry-ui": "1" } });
    if (!response.ok) {
      var body = await response.json().catch(function () { return {}; });
      dispatch({ type: "refused", code: body.code || String(response.status), message: body.message || "refused" });
    }
  }

  async function loadLog() {
    var response = await fetch("/api/log");
    if (!response.ok) {
      var body = await response.json().catch(function () { return {}; });
      dispatch({ type: "refused", code: body.code || String(response.status), message: "update log: " + (body.message || "unreadable") });
      return;
    }
    var log = await response.json();
    dispatch({ type: "log", entries: log.entries, present: log.present, simulated: log.simulated });
  }

  var events = new EventSource("/api/events");
  function on(name, after) {
    events.addEventListener(name, function (e) {
      var data = JSON.parse(e.data);
      data.type = name;
      dispatch(data);
      if (after) after(data);
    });
  }
  on("snapshot");
  on("installed");
  on("check");
  on("progress");
  on("state", function (event) {
    if (event.state === "done" || event.state === "failed" || event.state === "cancelled" ||
        event.state === "paused" || event.state === "rolled-back") loadLog();
  });
  view.render(model);
  loadLog();
})();
`;
