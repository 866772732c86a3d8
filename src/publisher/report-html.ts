import { formatBytes } from "../core/format-bytes.js";
import type { ReportChannel, ReportData, ReportUpdate } from "./report-data.js";

/**
 * The report as one self-contained HTML page: inline CSS and SVG, no script, no external asset, so it
 * opens from disk or an attachment anywhere. Every value from the repository is escaped.
 */
export function renderReport(data: ReportData): string {
  const channels = data.channels.map(renderChannel).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Ferry repository report</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2330; background: #fafbfc; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { margin-top: 2rem; } h3 { margin: 1.25rem 0 .5rem; }
.meta { color: #5a6372; } table { border-collapse: collapse; background: #fff; margin: .5rem 0; }
th, td { border: 1px solid #d9dee5; padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.latest td { font-weight: 600; } code { font-size: 12px; color: #5a6372; }
svg text { font: 12px system-ui, sans-serif; fill: #1d2330; } .empty { color: #5a6372; font-style: italic; }
</style>
</head>
<body>
<h1>Ferry repository report</h1>
<p class="meta">Repository <code>${esc(data.location)}</code>, generated ${esc(data.generated)}.</p>
${channels === "" ? '<p class="empty">The repository has no channel.</p>' : channels}
</body>
</html>
`;
}

function renderChannel(channel: ReportChannel): string {
  const rows = channel.releases
    .map(
      (r, i) => `<tr${i === 0 ? ' class="latest"' : ""}>
<td>${esc(r.version)}${i === 0 ? " (current)" : ""}</td><td>${esc(r.created)}</td>
<td class="num" data-install-bytes="${r.installBytes}">${formatBytes(r.installBytes)}</td><td class="num" data-install-files="${r.installFiles}">${r.installFiles}</td>
<td class="num" data-bytes="${r.bytes}">${formatBytes(r.bytes)} in ${r.files}</td>
<td class="num">${formatBytes(r.packBytes)} in ${r.packs}</td><td class="num">${formatBytes(r.metadataBytes)} (${r.layout})</td>
<td>${r.packages.map((p) => `${esc(p.name)}${p.optional ? " (optional)" : ""}: ${p.files} files, ${formatBytes(p.bytes)}`).join("<br>")}</td>
<td>${r.runtime === undefined ? "" : esc(r.runtime)}</td><td><code>${esc(r.manifest.slice(0, 12))}</code></td></tr>`,
    )
    .join("\n");
  const latest = channel.releases[0]?.version ?? "";
  const updates = channel.updates
    .map(
      (u) => `<tr data-from="${esc(u.from ?? "")}"><td>${u.from === null ? "fresh install" : esc(u.from)}</td>
<td class="num" data-payload="${u.payloadBytes}">${formatBytes(u.payloadBytes)}</td>
<td class="num" data-metadata="${u.metadataBytes}">${formatBytes(u.metadataBytes)}</td>
<td class="num" data-total="${u.totalBytes}">${formatBytes(u.totalBytes)}</td>
<td class="num" data-ranges="${u.ranges}">${u.ranges}</td>
<td class="num" data-requests="${u.requests}">${u.requests}</td>
<td class="num" data-written="${u.filesWritten}">${u.filesWritten}</td><td class="num" data-deleted="${u.filesDeleted}">${u.filesDeleted}</td><td class="num">${u.deltas}</td></tr>`,
    )
    .join("\n");
  return `<section id="channel-${esc(channel.channel)}">
<h2>Channel ${esc(channel.channel)}</h2>
<p class="meta">Serial ${channel.serial}, published ${esc(channel.published)}, pointer expires ${esc(channel.expires)}.</p>
<h3>Releases (newest first)</h3>
<table class="releases"><thead><tr><th>Version</th><th>Created</th><th class="num">Install size (default packages)</th><th class="num">Files installed</th><th class="num">Whole release (all packages)</th>
<th class="num">Packs</th><th class="num">Metadata</th><th>Packages</th><th>Runtime</th><th>Manifest</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h3>Download to reach ${esc(latest)}</h3>
${chart(channel.updates)}
<table class="updates"><thead><tr><th>Player on</th><th class="num">Payload</th><th class="num">Metadata</th><th class="num">Total</th>
<th class="num">Pack ranges</th><th class="num">Requests</th><th class="num">Files written</th><th class="num">Files deleted</th><th class="num">Deltas</th></tr></thead>
<tbody>
${updates}
</tbody></table>
<p class="meta">Payload is computed by the client's planner (chunks and binary deltas a player on that release fetches, as coalesced byte ranges). Players are counted as clients install: a fresh install takes the default packages (every non-optional one), a player on an older release keeps its packages and gains new non-optional ones, so optional packages count only for players who add them; a client also receives the multipart framing of multi-range responses, about 100 bytes per range. Metadata is the signed pointer, the release manifest and the tree objects the player does not already hold.</p>
</section>`;
}

/** Horizontal bars: payload and metadata per starting release, scaled to the largest total. */
function chart(updates: readonly ReportUpdate[]): string {
  if (updates.length === 0) return "";
  const width = 640;
  const label = 110;
  const row = 24;
  const max = Math.max(1, ...updates.map((u) => u.totalBytes));
  const scale = (n: number) => ((width - label - 90) * n) / max;
  const bars = updates
    .map((u, i) => {
      const y = i * row + 4;
      const payload = scale(u.payloadBytes);
      const meta = scale(u.metadataBytes);
      return `<text x="0" y="${y + 13}">${u.from === null ? "fresh install" : esc(u.from)}</text>
<rect x="${label}" y="${y}" width="${payload.toFixed(1)}" height="16" fill="#3b7dd8"><title>payload ${formatBytes(u.payloadBytes)}</title></rect>
<rect x="${(label + payload).toFixed(1)}" y="${y}" width="${meta.toFixed(1)}" height="16" fill="#f0a030"><title>metadata ${formatBytes(u.metadataBytes)}</title></rect>
<text x="${(label + payload + meta + 6).toFixed(1)}" y="${y + 13}">${formatBytes(u.totalBytes)}</text>`;
    })
    .join("\n");
  const height = updates.length * row + 28;
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="Bytes downloaded to reach the latest release">
${bars}
<rect x="${label}" y="${height - 18}" width="10" height="10" fill="#3b7dd8"/><text x="${label + 14}" y="${height - 9}">payload</text>
<rect x="${label + 80}" y="${height - 18}" width="10" height="10" fill="#f0a030"/><text x="${label + 94}" y="${height - 9}">metadata</text>
</svg>`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
