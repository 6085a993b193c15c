// Foresight dashboard: reads the read APIs, draws with plotly.js, redraws on each server-sent event.
// A source that is down shows as a banner and a message on the panels it feeds, never as an empty chart.
// The page arrives with the current state inlined (#state): it is drawn at once, before the load event,
// and the event stream opens only after it, so a stream that never ends never holds the page's loading.
"use strict";

const WINDOW_S = 21600;  // the charts' window; the inlined state is read over the same (DASHBOARD_WINDOW_S)

const state = { mode: "simulate", selected: null, status: null, pending: false, lastDraw: 0, incident: null,
  incidents: null };

async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
  return r.json();
}

// Simulated time is shown in hours since the start; live time as the local clock.
function x(t) { return state.mode === "simulate" ? t / 3600 : new Date(t * 1000); }
function fmtTime(t) {
  if (state.mode !== "simulate") return new Date(t * 1000).toLocaleString();
  const d = Math.floor(t / 86400), h = Math.floor((t % 86400) / 3600), m = Math.floor((t % 3600) / 60);
  return `day ${d} ${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}
function num(v, digits = 1) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c])); }

function panelMessage(panelId, text, info = false) {
  const p = document.querySelector(`#${panelId} .msg`);
  if (!text) { p.hidden = true; p.textContent = ""; return; }
  p.hidden = false; p.textContent = text; p.classList.toggle("info", info);
}

const layoutBase = () => ({
  margin: { l: 46, r: 10, t: 30, b: 28 }, height: 250, showlegend: true,
  legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 10 } },
  xaxis: { automargin: true, ticksuffix: state.mode === "simulate" ? " h" : "" },
  yaxis: { automargin: true, rangemode: "tozero" }, font: { size: 11 },
});
const plotConfig = { displayModeBar: false, responsive: true };

function draw(id, traces, layoutExtra = {}) {
  const el = document.getElementById(id);
  const hasData = traces.some(t => t.x && t.x.length);
  el.hidden = !hasData;
  if (hasData) Plotly.react(el, traces, Object.assign(layoutBase(), layoutExtra), plotConfig);
  return hasData;
}

function line(s, name, extra = {}) {
  return Object.assign({ x: (s ? s.t : []).map(x), y: s ? s.v : [], name, type: "scatter", mode: "lines" }, extra);
}

function renderStatus(s) {
  state.status = s; state.mode = s.mode;
  document.getElementById("mode").textContent = (s.mode === "simulate" ? "simulated platform" : "live platform") +
    (s.role && s.role !== "single" ? ` · ${s.role}` : "");  // a standby shows the views but does not act
  document.getElementById("clock").textContent = fmtTime(s.now) + (s.finished ? " (simulation ended)" : "");
  document.getElementById("controllers").innerHTML = s.controllers.map(c =>
    `<li class="${c.enabled ? "" : "disabled"} ${c.paused ? "paused" : ""}" title="${esc(c.detail)}">` +
    `${esc(c.name)}${c.paused ? " (paused)" : ""}</li>`).join("");
  const down = s.sources.filter(x => !x.ok);
  const banner = document.getElementById("banner");
  const problems = down.map(x => `Data source down: ${x.name}${x.failing_since !== null ? " since " + fmtTime(x.failing_since) : ""} — ${x.error}`);
  if (s.error) problems.push(`Controllers stopped: ${s.error}`);
  for (const p of (s.policies ? s.policies.problems : [])) problems.push(`Policy ignored: ${p}`);
  banner.hidden = problems.length === 0;
  banner.textContent = problems.join("  ·  ");
}

function renderWorkloads(w) {
  const body = document.querySelector("#workloads tbody");
  if (!state.selected && w.workloads.length) state.selected = w.workloads[0].name;
  body.innerHTML = w.workloads.map(r =>
    `<tr data-name="${esc(r.name)}" class="${r.name === state.selected ? "selected" : ""} ${r.alerting ? "alerting" : ""}">` +
    `<td>${esc(r.name)}</td><td class="num">${num(r.load_rps)}</td>` +
    `<td class="num">${num(r.replicas_ready, 0)}/${num(r.replicas_desired, 0)}</td>` +
    `<td class="num">${num(r.anomaly_score, 2)}</td><td>${esc(r.controller || "–")}</td></tr>`).join("");
  const msg = document.getElementById("workloads-msg");
  msg.hidden = !w.source_error; msg.className = "msg";
  msg.textContent = w.source_error ? `latest values unavailable: ${w.source_error}` : "";
}

async function refreshDetail() {
  if (!state.selected) return;
  renderDetail(await getJSON(`/api/v1/workloads/${encodeURIComponent(state.selected)}?window_s=${WINDOW_S}`));
}

function renderDetail(d) {
  document.getElementById("workload-title").textContent = d.name;
  const s = d.series, msgs = d.messages;

  const loadDown = msgs.load_rps;
  const loadTraces = loadDown ? [] : [
    line(s.load_rps, "load req/s", { line: { color: "#1f77b4" } }),
    line(s.capacity_rps, "capacity req/s", { line: { color: "#7f7f7f", dash: "dot" } }),
    line(s.forecast_rps, "forecast (made 5 min ahead)", { line: { color: "#ff7f0e" } }),
  ];
  if (!loadDown && s.predicted_peak_rps) {  // this workload is scaled by the predictive controller
    loadTraces.push(line(s.predicted_peak_rps, "predictive controller: forecast peak (q0.95, next look-ahead)",
      { line: { color: "#2ca02c", shape: "hv" } }));
  }
  if (!loadDown && s.forecast_q90) {
    loadTraces.push(line(s.forecast_q90, "forecast q90", { line: { width: 0 }, showlegend: false }));
    loadTraces.push(line(s.forecast_q10, "forecast 80% band", { fill: "tonexty", line: { width: 0 },
      fillcolor: "rgba(255,127,14,0.18)" }));
    loadTraces.push(line(s.forecast_q50, "forecast median", { line: { color: "#ff7f0e", dash: "dash" } }));
  }
  const drawn = draw("chart-load", loadTraces);
  panelMessage("panel-load", loadDown || msgs.capacity_rps || (drawn ? (msgs.forecast ? `forecast: ${msgs.forecast}` : "") : "no data yet"),
    !loadDown && !msgs.capacity_rps);

  const repDown = msgs.replicas_desired || msgs.replicas_ready;
  if (!("replicas_desired" in s) && !repDown) {
    draw("chart-replicas", []); panelMessage("panel-replicas", "replicas are not read in this mode", true);
  } else {
    draw("chart-replicas", repDown ? [] : [
      line(s.replicas_desired, "desired", { line: { shape: "hv" } }),
      line(s.replicas_ready, "ready", { line: { shape: "hv" } }),
    ]);
    panelMessage("panel-replicas", repDown || "");
  }

  const an = msgs.anomaly_score;
  const anDrawn = draw("chart-anomaly", s.anomaly_score && !(an && an.startsWith("signals not read")) ? [
    line(s.anomaly_score, "score", { line: { color: "#9467bd" } }),
  ] : [], { yaxis: { range: [0, 1.05] }, shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: d.anomaly_threshold ?? 0.5, y1: d.anomaly_threshold ?? 0.5,
    line: { color: "#b42318", dash: "dot", width: 1 } }] });
  panelMessage("panel-anomaly", an || (anDrawn ? "" : "no scores yet"), !!an && !an.startsWith("signals not read"));
}

function renderRollouts(r) {
  if (!r.enabled) { panelMessage("panel-rollouts", "rollout controller not running", true); draw("chart-rollouts", []); return; }
  const recent = r.rollouts.slice(0, 4);
  const ok = draw("chart-rollouts", recent.map(x => ({
    x: x.steps.map(p => x2(p.time)), y: x.steps.map(p => p.weight), name: `${x.id} (${x.outcome})`,
    type: "scatter", mode: "lines", line: { shape: "hv" },
  })), { yaxis: { range: [0, 105], title: { text: "canary %" } } });
  panelMessage("panel-rollouts", ok ? "" : "no release yet", true);
  document.querySelector("#rollouts tbody").innerHTML = recent.map(x => {
    const last = x.steps.length ? x.steps[x.steps.length - 1].reason : "";
    const outcome = x.awaiting_approval ? "awaiting approval (POST /api/v1/rollouts/" + esc(x.id) + "/approve)" : x.outcome;
    return `<tr><td>${esc(x.id)}</td><td>${esc(outcome)}</td><td class="num">${x.weight}%</td><td>${esc(last)}</td></tr>`;
  }).join("");
}
function x2(t) { return x(t); }

// The loop's events as vertical lines on both drift charts.
const eventColours = { drift: "#ff7f0e", retrain: "#9467bd", hold: "#7f7f7f", discard: "#d62728",
  start_canary: "#1f77b4", promote: "#2ca02c", rollback: "#d62728" };

function renderDrift(d) {
  const body = document.querySelector("#model-versions tbody");
  if (!d.configured || !d.monitors.length) {
    panelMessage("panel-drift", d.status, true); draw("chart-drift", []); draw("chart-accuracy", []);
    body.innerHTML = ""; return;
  }
  const mon = d.monitors[0];
  const shapes = mon.events.filter(e => e.what in eventColours).map(e => ({ type: "line", yref: "paper",
    x0: x(e.time), x1: x(e.time), y0: 0, y1: 1, line: { color: eventColours[e.what], width: 1, dash: "dot" } }));
  const ts = mon.features.length ? mon.features[0].t : [];
  const traces = mon.features.map(f => ({ x: f.t.map(x), y: f.v, name: `${f.name}`, type: "scatter", mode: "lines" }));
  if (ts.length) {
    traces.push({ x: [x(ts[0]), x(ts[ts.length - 1])], y: [mon.threshold, mon.threshold], name: `threshold ${mon.threshold}`,
      type: "scatter", mode: "lines", line: { color: "#b42318", dash: "dash", width: 1.5 }, meta: "threshold" });
  }
  // a p-value is flagged below its threshold: a log axis shows both ends
  const yaxis = mon.flag_when === "below" ? { automargin: true, type: "log", title: { text: "KS p (adjusted)" } }
    : { automargin: true, rangemode: "tozero", title: { text: mon.statistic.toUpperCase() } };
  draw("chart-drift", traces, { shapes, yaxis });
  const a = mon.accuracy;
  draw("chart-accuracy", a ? [
    { x: a.t.map(x), y: a.champion, name: "champion (serving)", type: "scatter", mode: "lines" },
    { x: a.t.map(x), y: a.challenger, name: "challenger (canary)", type: "scatter", mode: "lines+markers" },
  ] : [], { shapes, yaxis: { automargin: true, title: { text: "accuracy" } } });
  const c = mon.canary;
  const approval = c && c.awaiting_approval ? ` · v${c.version} awaiting approval (POST /api/v1/models/${mon.model}/approve)` : "";
  const last = mon.events.length ? mon.events[mon.events.length - 1] : null;
  const others = d.monitors.length > 1 ? ` · ${d.monitors.length - 1} more model(s) on /api/v1/drift` : "";
  panelMessage("panel-drift", `${mon.model}: ${mon.verdict}` +
    (mon.drift_detected_at !== null ? `, detected ${fmtTime(mon.drift_detected_at)}` : "") +
    (c ? ` · retrains ${mon.retrains} · champion v${mon.champion ?? "–"} · ${c.outcome}${approval}` : "") +
    (last ? ` · last: ${last.what} (${fmtTime(last.time)})` : "") + others, true);
  body.innerHTML = mon.versions.slice().reverse().map(v =>
    `<tr><td>v${v.version}</td><td>${esc(v.aliases.join(", "))}</td><td class="num">${num(v.accuracy, 3)}</td>` +
    `<td>${esc(v.gate || "–")}</td><td>${esc(v.canary || "–")}</td><td>${esc(v.scan || "–")}</td></tr>`).join("");
}

// Incidents: the list, then the selected one's services and calls (callers above callees, the root cause in
// red, services whose alerts a dependency explains in grey) and the timeline of its alerts.
const RED = "#b42318", ORANGE = "#f79009", GREY = "#98a2b3";

function renderIncidents(inc) {
  state.incidents = inc;
  const body = document.querySelector("#incidents tbody");
  const list = inc.incidents;
  if (!list.some(i => i.id === state.incident)) state.incident = list.length ? list[0].id : null;
  body.innerHTML = list.slice(0, 12).map(i => {
    const rc = i.root_cause ? (i.root_cause.kind === "node" ? `node ${i.root_cause.component}` : i.root_cause.service) : "–";
    return `<tr data-id="${esc(i.id)}" class="${i.id === state.incident ? "selected" : ""} ${i.status}">` +
      `<td>${fmtTime(i.opened_at)}</td><td>${esc(i.status)}</td><td>${esc(rc)}</td>` +
      `<td>${esc(i.services.join(", "))}</td><td class="num">${i.alerts.length}</td>` +
      `<td class="num">${i.suppressed.length}</td></tr>`;
  }).join("");
  const queue = inc.queue ? ` · webhook queue ${inc.queue.pending}/${inc.queue.capacity}` : "";
  panelMessage("panel-incidents", inc.enabled ? (list.length ? "" : `no incident yet (${inc.note})${queue}`) : inc.note, true);
  const selected = list.find(i => i.id === state.incident);
  drawTopology(selected); drawTimeline(selected);
  document.getElementById("incident-evidence").innerHTML = selected && selected.root_cause ?
    selected.root_cause.evidence.map(e => `<li>${esc(e)}</li>`).join("") : "";
}

// Callers above callees: a service's row is the longest call path reaching it within the incident.
function layers(services, edges) {
  const depth = Object.fromEntries(services.map(s => [s, 0]));
  for (let pass = 0; pass < services.length; pass++) {  // bounded: a cycle cannot loop for ever
    for (const [a, b] of edges) if (depth[b] < depth[a] + 1) depth[b] = depth[a] + 1;
  }
  return depth;
}

function drawTopology(i) {
  if (!i) { draw("chart-topology", []); return; }
  const services = i.topology.services, edges = i.topology.edges, depth = layers(services, edges);
  const rows = {};
  for (const s of services) (rows[depth[s]] = rows[depth[s]] || []).push(s);
  const pos = {};
  for (const [d, names] of Object.entries(rows)) names.forEach((s, k) => { pos[s] = [(k + 1) / (names.length + 1), -Number(d)]; });
  const suppressed = new Set(i.alerts.filter(a => a.suppressed).map(a => a.service));
  const root = i.root_cause ? i.root_cause.service : null;
  const colour = s => s === root ? RED : suppressed.has(s) ? GREY : ORANGE;
  const ex = [], ey = [];
  for (const [a, b] of edges) { ex.push(pos[a][0], pos[b][0], null); ey.push(pos[a][1], pos[b][1], null); }
  draw("chart-topology", [
    { x: ex, y: ey, type: "scatter", mode: "lines", line: { color: "#d0d5dd" }, hoverinfo: "skip", name: "calls" },
    { x: services.map(s => pos[s][0]), y: services.map(s => pos[s][1]), text: services, name: "services",
      type: "scatter", mode: "markers+text", textposition: "middle right", customdata: services,
      marker: { size: 18, color: services.map(colour), line: { color: "#fff", width: 2 } } },
  ], { showlegend: false, xaxis: { visible: false, range: [0, 1] }, yaxis: { visible: false, automargin: true },
       annotations: edges.map(([a, b]) => ({ x: pos[b][0], y: pos[b][1], ax: pos[a][0], ay: pos[a][1], xref: "x",
         yref: "y", axref: "x", ayref: "y", showarrow: true, arrowhead: 2, arrowcolor: "#98a2b3", standoff: 10, text: "" })),
       title: { text: `root cause: ${root ?? "unknown"}`, font: { size: 12, color: RED } } });
}

function drawTimeline(i) {
  if (!i) { draw("chart-timeline", []); return; }
  const now = state.status ? state.status.now : i.opened_at;
  const root = i.root_cause ? i.root_cause.service : null;
  draw("chart-timeline", i.alerts.map(a => {
    const label = `${a.name} · ${a.service ?? "?"}`;
    return { x: [x(a.starts_at), x(a.ends_at ?? now)], y: [label, label], type: "scatter", mode: "lines+markers",
      name: label, line: { width: 8, color: a.service === root ? RED : a.suppressed ? GREY : ORANGE } };
  }), { showlegend: false, yaxis: { automargin: true, type: "category", autorange: "reversed" } });
}

// GPUs per node pool (its pool label, else its GPU type), from the scheduler extender's latest read of the
// cluster: allocated GPUs, free ones the running task mix can use, and free ones it cannot (fragmented),
// stacked per pool; then each model's GPUs and what they cost per hour.
function renderGpus(g) {
  const body = document.querySelector("#gpu-pools tbody");
  const models = document.querySelector("#gpu-models tbody");
  if (!g.enabled || !g.pools.length) {
    panelMessage("panel-gpus", g.note, true); draw("chart-gpus", []); body.innerHTML = ""; models.innerHTML = ""; return;
  }
  const pools = g.pools.map(p => p.pool === p.gpu_type ? p.pool : `${p.pool} · ${p.gpu_type}`);
  const gpus = v => v === null ? 0 : v / 1000;
  const frag = g.pools.map(p => gpus(p.fragmented_milli));
  draw("chart-gpus", [
    { x: pools, y: g.pools.map(p => gpus(p.allocated_milli)), name: "allocated", type: "bar", marker: { color: "#1f77b4" } },
    { x: pools, y: g.pools.map((p, i) => gpus(p.free_milli) - frag[i]), name: "free, usable", type: "bar",
      marker: { color: "#98a2b3" } },
    { x: pools, y: frag, name: "free, fragmented", type: "bar", marker: { color: RED } },
  ], { barmode: "stack", xaxis: { automargin: true, type: "category" },  // pools, not time: no " h" suffix
       yaxis: { automargin: true, rangemode: "tozero", title: { text: "GPUs" } } });
  const pct = v => v === null ? "–" : `${(100 * v).toFixed(1)}%`;
  body.innerHTML = g.pools.map(p =>
    `<tr><td>${esc(p.pool)}</td><td>${esc(p.gpu_type)}</td><td class="num">${p.nodes}${p.spot_nodes ? ` (${p.spot_nodes} spot)` : ""}</td>` +
    `<td class="num">${p.gpus}</td>` +
    `<td class="num">${num(p.allocated_milli / 1000, 2)} (${pct(p.allocation_ratio)})</td>` +
    `<td class="num">${p.whole_free_gpus}</td><td class="num">${p.shared_gpus}</td>` +
    `<td class="num">${p.fragmented_milli === null ? "–" : num(p.fragmented_milli / 1000, 2)} (${pct(p.fragmentation_ratio)})</td></tr>`).join("");
  models.innerHTML = g.models.map(m =>
    `<tr><td>${esc(m.model)}</td><td class="num">${m.pods}</td><td class="num">${num(m.gpus, 2)}</td>` +
    `<td class="num">${num(m.spot_gpus, 2)}</td><td class="num">${num(m.usd_per_hour, 2)}</td></tr>`).join("");
  const left = Object.keys(g.unusable).length ? ` · left out: ${Object.entries(g.unusable).map(([n, why]) => `${n} (${why})`).join("; ")}` : "";
  const read = g.read_at ? ` · read ${new Date(g.read_at * 1000).toLocaleTimeString()}` : "";
  panelMessage("panel-gpus", `${g.note} · policy ${g.policy}${read}` + left, true);
}

// The heal controller's latest round: each predicted failure with its time to failure (and interval), and the
// action taken, refused or only recorded (dry run), linked to its incident.
function renderHeal(h) {
  const body = document.querySelector("#heal tbody");
  panelMessage("panel-heal", h.steps.length ? h.note : (h.enabled ? `${h.note} · no failure predicted now` : h.note), true);
  const mins = v => v === null || v === undefined ? "–" : `${num(v / 60, 0)} min`;
  body.innerHTML = h.steps.map(s =>
    `<tr class="${s.applied ? "" : s.action ? "" : "failed"}"><td>${fmtTime(s.time)}</td><td>${esc(s.target)}</td>` +
    `<td>${esc(s.failure)}</td><td class="num">${mins(s.ttf_s)} (${mins(s.ttf_low_s)}–${mins(s.ttf_high_s)})</td>` +
    `<td>${esc(s.action ?? "none")}${s.applied ? " ✓" : s.dry_run ? " (dry run)" : ""}</td>` +
    `<td>${esc(s.incident ?? "–")}</td><td class="reason">${esc(s.reason)}</td></tr>`).join("");
}

function refreshHeal() {
  return getJSON("/api/v1/heal").then(renderHeal).catch(e => panelMessage("panel-heal", `heal view unavailable: ${e.message}`));
}

function refreshGpus() {
  return getJSON("/api/v1/gpus").then(renderGpus).catch(e => panelMessage("panel-gpus", `GPU view unavailable: ${e.message}`));
}

function decisionText(r) {
  const d = r.decision || {};
  if (r.error) return "failed";
  if ("previous" in d && "applied" in d && d.applied !== null && d.previous !== null) {
    return d.applied === d.previous ? `hold ${d.applied}` : `${d.previous} → ${d.applied}`;
  }
  return r.applied ? "applied" : "recorded";
}

async function refreshDecisions() {
  const all = document.getElementById("all-decisions").checked;
  const holds = document.getElementById("hold-decisions").checked;  // off: changes, errors and actions only
  const q = (all || !state.selected ? "" : `&workload=${encodeURIComponent(state.selected)}`) +
    (holds ? "" : "&changes_only=true");
  let page;
  try { page = await getJSON(`/api/v1/decisions?limit=25${q}`); }
  catch (e) { panelMessage("panel-decisions", `audit log unavailable: ${e.message}`); return; }
  renderDecisions(page, holds);
}

function renderDecisions(page, holds) {
  const none = holds ? "no decisions yet" : "no changes yet (tick “holds too” to see every decision)";
  panelMessage("panel-decisions", page.items.length ? "" : none, true);
  document.querySelector("#decisions tbody").innerHTML = page.items.map(r =>
    `<tr class="${r.error ? "failed" : ""}"><td>${fmtTime(r.time)}</td><td>${esc(r.controller)}</td>` +
    `<td>${esc(r.target)}</td><td>${esc(decisionText(r))}</td>` +
    `<td class="reason">${esc(r.error ? r.reason + ": " + r.error : r.reason)}</td></tr>`).join("");
}

async function refreshAll() {
  if (state.pending) return;
  state.pending = true;
  try {
    renderStatus(await getJSON("/api/v1/status"));
    renderWorkloads(await getJSON("/api/v1/workloads"));
    await Promise.all([refreshDetail(), getJSON("/api/v1/rollouts").then(renderRollouts),
      getJSON("/api/v1/drift").then(renderDrift), getJSON("/api/v1/incidents").then(renderIncidents),
      refreshGpus(), refreshHeal(), refreshDecisions()]);
    document.body.dataset.loaded = "true";
  } catch (e) {
    const banner = document.getElementById("banner");
    banner.hidden = false; banner.textContent = `Foresight API unreachable: ${e.message}`;
  } finally {
    state.pending = false; state.lastDraw = Date.now();
  }
}

document.querySelector("#workloads tbody").addEventListener("click", ev => {
  const row = ev.target.closest("tr");
  if (!row) return;
  state.selected = row.dataset.name;
  refreshAll();
});
document.querySelector("#incidents tbody").addEventListener("click", ev => {
  const row = ev.target.closest("tr");
  if (!row || !state.incidents) return;
  state.incident = row.dataset.id;
  renderIncidents(state.incidents);
});
document.getElementById("all-decisions").addEventListener("change", refreshDecisions);
document.getElementById("hold-decisions").addEventListener("change", refreshDecisions);

// Each response of /api/v1/events carries at most one tick, then ends and the EventSource reconnects; so
// "live" means it (re)connected within the last 5 s, whatever the ticks (a finished simulation has none).
function connect() {
  const live = document.getElementById("live");
  let quiet;
  const es = new EventSource("/api/v1/events");
  es.onopen = () => {
    live.textContent = "live"; live.className = "badge on";
    clearTimeout(quiet);
    quiet = setTimeout(() => { live.textContent = "reconnecting"; live.className = "badge off"; }, 5000);
  };
  es.addEventListener("tick", () => {
    if (Date.now() - state.lastDraw > 2000) refreshAll();
  });
}

// The state inlined in the page, as the read APIs answer it (the first workload selected, changes only).
function renderInlined(snapshot) {
  renderStatus(snapshot.status);
  renderWorkloads(snapshot.workloads);
  if (snapshot.detail) renderDetail(snapshot.detail);
  renderRollouts(snapshot.rollouts);
  renderDrift(snapshot.drift);
  renderIncidents(snapshot.incidents);
  renderDecisions(snapshot.decisions, false);
  document.body.dataset.loaded = "true";
  state.lastDraw = Date.now();
}

renderInlined(JSON.parse(document.getElementById("state").textContent));
refreshHeal();  // not in the inlined state either: the heal controller's latest round
refreshGpus();  // not in the inlined state: the extender's view is read from the cluster, apart from the steps
// after the load event: the page is complete, and drawn, before the first event is asked for
if (document.readyState === "complete") connect(); else window.addEventListener("load", connect);
