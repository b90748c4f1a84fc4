// The ringwatch dashboard: one EventSource stream of the monitor's messages (see
// monitor/core/dashboard_feed.h), drawn as the ring, a verdict strip, an event list and a cut.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const MAX_SNAPSHOTS = 120;
const MAX_EVENTS = 100;
const state = {
  nodes: [],            // ring order: {id, address}
  states: {},           // node id -> up | silent | paused | down
  snapshots: [],        // newest last
  counts: { ok: 0, token_lost: 0, token_duplicated: 0, inconclusive: 0 },
  selected: null,       // snapshot id whose cut is shown
  open: new Map(),      // open incidents: "token_lost" or "node 3 down" -> since (ms)
  epoch: null,
  view: null,           // the current view: {epoch, members} (null: none yet, the configured ring)
};
// The per-run secret travels in the URL's fragment (never sent to the server, never in a log or a
// Referer), and from the page to the monitor in a header, never in a URL.
const secret = new URLSearchParams(location.hash.slice(1)).get("secret");

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function seconds(ms) { return (ms / 1000).toFixed(1) + " s"; }
function millis(ms) { return ms < 10 ? ms.toFixed(2) + " ms" : ms.toFixed(1) + " ms"; }

// ---- the ring ----
function position(i, n, r) {
  const a = (2 * Math.PI * i) / n - Math.PI / 2;
  return [r * Math.cos(a), r * Math.sin(a)];
}
function latestConclusive() {
  for (let i = state.snapshots.length - 1; i >= 0; i--)
    if (state.snapshots[i].verdict !== "inconclusive") return state.snapshots[i];
  return state.snapshots[state.snapshots.length - 1];
}
function drawRing() {
  const ring = $("ring");
  ring.replaceChildren();
  const n = state.nodes.length;
  if (n === 0) return;
  const R = 150, index = new Map(state.nodes.map((node, i) => [node.id, i]));
  // The ring as its current view has it: a link from each member to the next, straight across
  // (dashed) where it bypasses nodes left out; before any view, the configured ring.
  const members = state.view ? state.view.members.filter((id) => index.has(id)) : null;
  if (!members) {
    ring.appendChild(svg("circle", { class: "link", cx: 0, cy: 0, r: R }));
  } else {
    members.forEach((from, k) => {
      const to = members[(k + 1) % members.length];
      const i = index.get(from), j = index.get(to);
      const [x1, y1] = position(i, n, R), [x2, y2] = position(j, n, R);
      const bypass = (j - i + n) % n !== 1;
      const line = svg("line", { class: bypass ? "link bypass" : "link", "data-from": from, "data-to": to, x1, y1, x2, y2 });
      line.appendChild(svg("title", {}, bypass ? `node ${from} passes to node ${to}, bypassing the nodes left out` : `node ${from} → node ${to}`));
      ring.appendChild(line);
    });
  }
  const shown = latestConclusive();
  const verdict = shown ? shown.verdict : "inconclusive";
  // Tokens recorded in flight: on the arc between the channel's two nodes.
  const tokens = [];
  if (shown) {
    for (const h of shown.holders) tokens.push({ at: index.get(h), where: `node ${h}` });
    for (const c of shown.channels)
      for (let k = 0; k < c.tokens; k++) tokens.push({ at: index.get(c.from) + 0.5, where: `channel ${c.from}→${c.to}` });
  }
  state.nodes.forEach((node, i) => {
    const [x, y] = position(i, n, R);
    const st = state.states[node.id] || "silent";
    const inView = !members || members.includes(node.id);
    const g = svg("g", { class: `node ${st}${inView ? "" : " out"}`, "data-node": node.id, "data-state": st, "data-in-view": String(inView),
                         transform: `translate(${x},${y})` });
    g.appendChild(svg("title", {}, `node ${node.id} at ${node.address}: ${st}${inView ? "" : `, left out of view epoch ${state.view.epoch}`}`));
    g.appendChild(svg("circle", { r: 24 }));
    g.appendChild(svg("text", { y: -2 }, String(node.id)));
    g.appendChild(svg("text", { class: "state", y: 13 }, inView ? st : `${st}, out`));
    ring.appendChild(g);
  });
  const seen = new Map();
  for (const t of tokens) {
    if (t.at === undefined || Number.isNaN(t.at)) continue;
    const k = seen.get(t.at) || 0;
    seen.set(t.at, k + 1);
    const onNode = Number.isInteger(t.at);
    const [x, y] = position(t.at, n, onNode ? R - 40 - 14 * k : R + 14 * k);
    const dot = svg("circle", { class: `token ${verdict}`, "data-where": t.where, cx: x, cy: y, r: 9 });
    dot.appendChild(svg("title", {}, `token ${onNode ? "held by" : "recorded in flight on"} ${t.where}`));
    ring.appendChild(dot);
  }
  const label = shown ? (verdict === "ok" ? "1 token" : verdict.replace("token_", "token ")) : "waiting for a snapshot";
  ring.appendChild(svg("text", { class: `center ${verdict}`, id: "ring-verdict", "data-verdict": verdict, y: 0 }, label));
  if (shown) ring.appendChild(svg("text", { class: "center", y: 22, style: "font-size:12px;font-weight:normal" }, `snapshot ${shown.id}`));
}

// ---- the verdict strip and the figures ----
function drawStrip() {
  const strip = $("verdict-strip");
  strip.replaceChildren();
  for (const s of state.snapshots) {
    const b = el("button", { class: `verdict ${s.verdict}${s.id === state.selected ? " selected" : ""}`, "data-id": s.id, "data-verdict": s.verdict,
                             title: `snapshot ${s.id}: ${s.verdict}` });
    b.addEventListener("click", () => showCut(s.id));
    strip.appendChild(b);
  }
}
function drawFigures(s) {
  for (const k of Object.keys(state.counts)) $(`count-${k}`).textContent = state.counts[k];
  if (s) $("duration").textContent = millis(s.duration_ms);
  if (state.epoch !== null) $("epoch").textContent = state.epoch;
}

// ---- the cut of one snapshot ----
function showCut(id) {
  const s = state.snapshots.find((x) => x.id === id);
  if (!s) return;
  state.selected = id;
  $("cut-panel").hidden = false;
  $("cut-id").textContent = s.id;
  $("cut-verdict").textContent = s.verdict;
  $("cut-verdict").className = s.verdict;
  $("cut-explanation").textContent = s.explanation;
  const body = $("cut-table").querySelector("tbody");
  body.replaceChildren();
  const byNode = new Map(s.cut.map((r) => [r.node, r]));
  for (const node of state.nodes) {
    const r = byNode.get(node.id);
    const tr = el("tr", { "data-node": node.id, class: r ? "" : "missing" });
    if (!r) {
      tr.append(el("td", {}, node.id), el("td", { colspan: 5 }, "no report (missing from the cut)"));
    } else {
      tr.append(el("td", {}, node.id), el("td", { class: r.held ? "tokens" : "" }, r.held), el("td", {}, r.queue), el("td", {}, r.epoch),
                el("td", {}, `${r.channel_from} → ${r.node}`), el("td", { class: r.in_flight ? "tokens" : "" }, r.in_flight));
    }
    body.appendChild(tr);
  }
  drawStrip();
}

// ---- events ----
function describe(m) {
  switch (m.event) {
    case "alarm": return `ALARM ${m.kind.replace("token_", "token ")} at snapshot ${m.snapshot}: ${m.tokens} token(s)`;
    case "resolved": return `resolved ${m.kind} (snapshots ${m.first_snapshot}–${m.last_snapshot}, ${m.duration_ms} ms, ${m.how.replaceAll("_", " ")})`;
    case "recovery": return `recovery (${m.mode}${m.by_hand ? ", by hand" : ""}): epoch ${m.epoch}` +
                            (m.issuer !== null ? `, node ${m.issuer} issues the token` : "") + (m.note ? ` — ${m.note}` : "");
    case "recovered": return `recovered from ${m.kind} by ${m.mode}, ${m.since_alarm_ms} ms after the alarm (epoch ${m.epoch})`;
    case "node_down": return `node ${m.node} down (${m.address === "port_closed" ? "port closed" : "no answer"}, silent ${m.silent_ms} ms)`;
    case "node_up": return `node ${m.node} up${m.restarted ? " (restarted)" : ""} after ${m.down_ms} ms`;
    case "view": return `view epoch ${m.epoch}: ${m.members.length} node(s) (${m.members.join(" → ")}), token issued by node ${m.issuer}`;
    case "node_evicted": return `node ${m.node} left out of the ring (${m.address === "port_closed" ? "port closed" : m.unacknowledged ? "did not acknowledge a view" : "silent"})`;
    case "node_rejoined": return `node ${m.node} back in the ring (view epoch ${m.epoch})`;
    case "link_fault": return `link ${m.from} → ${m.to} carries nothing while both are heard: the ring goes round it`;
    default: return m.what || JSON.stringify(m);
  }
}
// Open incidents as the events tell them: an alarm opens one, resolved ends it; node_down and node_up likewise.
function trackIncident(m) {
  if (m.event === "alarm") state.open.set(m.kind, m.at_ms);
  if (m.event === "resolved") state.open.delete(m.kind);
  if (m.event === "node_down") state.open.set(`node ${m.node} down`, m.at_ms);
  if (m.event === "node_up") state.open.delete(`node ${m.node} down`);
  const shown = [...state.open].map(([what, since]) => `${what.replace("token_", "token ")} since ${seconds(since)}`);
  $("open-incidents").textContent = shown.length ? shown.join(" · ") : "none";
  $("open-incidents").className = shown.length ? "token_lost" : "ok";
}
function addEvent(m) {
  trackIncident(m);
  const kind = m.type === "control" ? "control" : m.event;
  const li = el("li", { class: kind, "data-event": kind });
  li.append(el("span", { class: "time" }, seconds(m.at_ms)), document.createTextNode(describe(m)));
  const list = $("events");
  list.insertBefore(li, list.firstChild);
  while (list.children.length > MAX_EVENTS) list.removeChild(list.lastChild);
  if (m.type === "incident" && m.event === "recovery" && typeof m.epoch === "number") state.epoch = Math.max(state.epoch || 0, m.epoch);
}

// Which monitor this page is served by, and who leads: "monitor 1 of 3 · standby · monitor 0 leads term 2".
function describeLeadership(m) {
  const self = state.monitor || { index: 0, of: 1 };
  const me = self.of > 1 ? `monitor ${self.index} of ${self.of}` : "this monitor";
  if (m.leading) return `${me} · leads term ${m.term}`;
  if (m.leader !== null && m.leader !== undefined) return `${me} · standby · monitor ${m.leader} leads term ${m.term}`;
  return `${me} · standby · no leader known (term ${m.term})`;
}

// ---- the stream ----
function onMessage(m) {
  switch (m.type) {
    case "hello":
      state.nodes = m.nodes;
      state.epoch = m.epoch || null;
      state.view = m.view ? { epoch: m.view.epoch, members: m.view.members } : null;
      $("ring-name").textContent = `ring '${m.ring}' · ${m.nodes.length} nodes · a snapshot every ${m.interval_ms} ms · recovery ${m.recover}`;
      state.monitor = m.monitor || { index: 0, of: 1 };
      $("leadership").textContent = "";
      $("events").replaceChildren();
      state.open.clear();
      state.snapshots = [];
      for (const k of Object.keys(state.counts)) state.counts[k] = 0;
      fillNodeChoices();
      break;
    case "snapshot":
      state.snapshots.push(m);
      if (state.snapshots.length > MAX_SNAPSHOTS) state.snapshots.shift();
      state.counts[m.verdict] = (state.counts[m.verdict] || 0) + 1;
      if (m.verdict !== "inconclusive") state.epoch = Math.max(state.epoch || 0, m.epoch);
      if (typeof m.detection_ms === "number") $("detection").textContent = millis(m.detection_ms);
      drawFigures(m);
      scheduleDraw();
      break;
    case "leadership":
      $("leadership").textContent = describeLeadership(m);
      $("leadership").className = m.leading ? "leading" : "standby";
      break;
    case "incident": case "node": case "control":
      addEvent(m);
      drawFigures();
      break;
    case "membership":
      addEvent(m);
      if (m.event === "view") {
        state.view = { epoch: m.epoch, members: m.members };
        scheduleDraw();
      }
      break;
    case "nodes":
      state.states = m.states;
      scheduleDraw();
      break;
  }
}
let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; drawRing(); drawStrip(); });
}
// With the secret, the page first asks for a one-time ticket (EventSource cannot send a header) and
// opens its stream with it: a stream no crowd of anonymous pages can lock out.
async function connect() {
  let url = "/events";
  if (secret) {
    try {
      const r = await fetch("/control/ticket", { method: "POST", headers: { "X-Ringwatch-Secret": secret } });
      if (r.ok) url += `?ticket=${encodeURIComponent((await r.text()).trim())}`;
    } catch (e) {
      // The stream below says that the monitor cannot be reached.
    }
  }
  const source = new EventSource(url);
  source.onopen = () => { $("connection").textContent = "live"; $("connection").className = "figure online"; };
  source.onerror = () => {
    $("connection").textContent = "reconnecting…";
    $("connection").className = "figure offline";
    // A refused stream is not retried by the browser, and a retry would show a spent ticket: start afresh.
    if (source.readyState === EventSource.CLOSED || secret) {
      source.close();
      setTimeout(connect, 1000);
    }
  };
  source.onmessage = (e) => onMessage(JSON.parse(e.data));
}

// ---- controls ----
function fillNodeChoices() {
  for (const id of ["control-node", "control-to"]) {
    const select = $(id);
    select.replaceChildren(...state.nodes.map((n) => el("option", { value: n.id }, `node ${n.id}`)));
  }
  if (state.nodes.length > 1) $("control-to").value = state.nodes[1].id;
}
async function control(action, args) {
  const q = new URLSearchParams(args);
  $("control-said").textContent = "…";
  try {
    const r = await fetch(`/control/${action}?${q}`, { method: "POST", headers: { "X-Ringwatch-Secret": secret } });
    $("control-said").textContent = (await r.text()).trim();
  } catch (e) {
    $("control-said").textContent = `the monitor did not answer (${e.message})`;
  }
}
function setUpControls() {
  if (!secret) return;
  $("controls").hidden = false;
  $("no-controls").hidden = true;
  const node = () => $("control-node").value;
  const actions = {
    "inject-lose": () => control("inject", { node: node(), kind: "lose" }),
    "inject-duplicate": () => control("inject", { node: node(), kind: "duplicate" }),
    "send": () => control("send", { node: node(), to: $("control-to").value, payload: $("control-payload").value }),
    "recover-regenerate": () => control("recover", { mode: "regenerate" }),
    "recover-rollback": () => control("recover", { mode: "rollback" }),
  };
  for (const b of document.querySelectorAll("#controls button[data-action]")) b.addEventListener("click", actions[b.dataset.action]);
}

$("cut-close").addEventListener("click", () => { $("cut-panel").hidden = true; state.selected = null; drawStrip(); });
setUpControls();
connect();
