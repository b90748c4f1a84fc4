// The ringwatch dashboard: one EventSource stream of the monitor's messages (see
// monitor/core/dashboard_feed.h), drawn as the ring, a verdict strip, an event list and a cut.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const MAX_SNAPSHOTS = 120;
const MAX_EVENTS = 100;
const state = {
  nodes: [],            // ring order: {id, address}
  states: {},           // node id -> unheard | up | paused | down (the monitor's node events)
  snapshots: new Map(), // snapshot id -> {data, button}, oldest first (the strip, in arrival order)
  greeting: null,       // while a greeting comes: the snapshot ids it told again
  token: null,          // the token as last seen ({"type":"token"}) and when it arrived (performance.now())
  selected: null,       // snapshot id whose cut is shown
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
// Wall-clock times (the monitor sends Unix epoch ms), in this browser's local time.
const pad = (n, w = 2) => String(n).padStart(w, "0");
function clock(unixMs, withMs = false) {
  const d = new Date(unixMs);
  const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return withMs ? `${hms}.${pad(d.getMilliseconds(), 3)}` : hms;
}
function timeEl(unixMs, withMs = false) {
  const t = el("time", { class: "time", datetime: new Date(unixMs).toISOString(), "data-unix-ms": unixMs }, clock(unixMs, withMs));
  t.title = new Date(unixMs).toString();
  return t;
}

// ---- the ring ----
function position(i, n, r) {
  const a = (2 * Math.PI * i) / n - Math.PI / 2;
  return [r * Math.cos(a), r * Math.sin(a)];
}
// How old the token's sighting is now: its age when sent, plus the time since it arrived.
function tokenAge() {
  const t = state.token;
  return t && typeof t.age_ms === "number" ? t.age_ms + (performance.now() - t.received) : null;
}
function tokenLabel(t) {
  if (t.verdict === "ok") return "1 token";
  return t.verdict === "token_lost" ? "token lost" : `${t.tokens} tokens`;
}
// The lines under the ring's centre: what was seen, where, and how long ago; or why it is outdated.
function tokenLines() {
  const t = state.token;
  if (!t || t.freshness === "none") return ["no conclusive snapshot yet", ""];
  const age = seconds(tokenAge());
  if (t.freshness === "fresh") return [`snapshot ${t.snapshot} · ${age} ago`, ""];
  const why = t.freshness === "outdated_node_down"
    ? `node ${t.down_since.join(", ")} down since snapshot ${t.snapshot}`
    : `no conclusive snapshot for ${age}`;
  return [`outdated: ${why}`, `last seen: ${tokenLabel(t)}, ${t.where}, snapshot ${t.snapshot}, ${age} ago`];
}
function refreshAge() {
  const [first, second] = tokenLines();
  if ($("ring-age")) $("ring-age").textContent = first;
  if ($("ring-last")) $("ring-last").textContent = second;
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
  // The token where the latest conclusive snapshot saw it: in its verdict's colour while that is
  // news, hollow and grey once it is outdated (never a stale place drawn as if it were live).
  const t = state.token;
  const seen = t && t.freshness !== "none";
  const fresh = seen && t.freshness === "fresh";
  const tokens = [];
  if (seen) {
    for (const h of t.holders) tokens.push({ at: index.get(h), where: `node ${h}` });
    for (const c of t.channels)
      for (let k = 0; k < c.tokens; k++) tokens.push({ at: index.get(c.from) + 0.5, where: `channel ${c.from}→${c.to}` });
  }
  state.nodes.forEach((node, i) => {
    const [x, y] = position(i, n, R);
    const st = state.states[node.id] || "unheard";
    const inView = !members || members.includes(node.id);
    const g = svg("g", { class: `node ${st}${inView ? "" : " out"}`, "data-node": node.id, "data-state": st, "data-in-view": String(inView),
                         transform: `translate(${x},${y})` });
    g.appendChild(svg("title", {}, `node ${node.id} at ${node.address}: ${st}${inView ? "" : `, left out of view epoch ${state.view.epoch}`}`));
    g.appendChild(svg("circle", { r: 24 }));
    g.appendChild(svg("text", { y: -2 }, String(node.id)));
    const said = st === "unheard" ? "not heard" : st;
    g.appendChild(svg("text", { class: "state", y: 13 }, inView ? said : `${said}, out`));
    ring.appendChild(g);
  });
  const stacked = new Map();
  for (const p of tokens) {
    if (p.at === undefined || Number.isNaN(p.at)) continue;
    const k = stacked.get(p.at) || 0;
    stacked.set(p.at, k + 1);
    const onNode = Number.isInteger(p.at);
    const [x, y] = position(p.at, n, onNode ? R - 40 - 14 * k : R + 14 * k);
    const dot = svg("circle", { class: fresh ? `token ${t.verdict}` : "token stale", "data-where": p.where, cx: x, cy: y, r: 9 });
    dot.appendChild(svg("title", {}, `token ${onNode ? "held by" : "recorded in flight on"} ${p.where} at snapshot ${t.snapshot}` +
                                     (fresh ? "" : " (outdated)")));
    ring.appendChild(dot);
  }
  const verdict = fresh ? t.verdict : "unknown";
  const label = !seen ? "waiting for a conclusive snapshot" : fresh ? tokenLabel(t) : "token unknown";
  ring.appendChild(svg("text", { class: `center ${fresh ? t.verdict : seen ? "outdated" : "none"}`, id: "ring-verdict", "data-verdict": verdict,
                                 "data-freshness": t ? t.freshness : "none", "data-snapshot": seen ? t.snapshot : "", y: 0 }, label));
  const [first, second] = tokenLines();
  ring.appendChild(svg("text", { class: "center detail", id: "ring-age", y: 20 }, first));
  ring.appendChild(svg("text", { class: "center detail", id: "ring-last", y: 36 }, second));
}

// ---- the verdict strip and the figures ----
// The strip changes by single elements: a new verdict appends one, the oldest beyond the bound is
// removed, a selection moves a class. An element under the cursor is never replaced, so a click
// always lands on the verdict it was aimed at.
function addToStrip(s) {
  const known = state.snapshots.get(s.id);
  if (known) {
    known.data = s;
  } else {
    const b = el("button", { class: `verdict ${s.verdict}`, "data-id": s.id, "data-verdict": s.verdict, title: `snapshot ${s.id}: ${s.verdict}` });
    b.addEventListener("click", () => showCut(s.id, true));
    $("verdict-strip").appendChild(b);
    state.snapshots.set(s.id, { data: s, button: b });
  }
  if (state.greeting) state.greeting.add(s.id);
  while (state.snapshots.size > MAX_SNAPSHOTS) {
    const [id, oldest] = state.snapshots.entries().next().value;
    oldest.button.remove();
    state.snapshots.delete(id);
  }
}
// A greeting told every snapshot still kept: the ones drawn before and not told again are gone.
function endGreeting() {
  if (!state.greeting) return;
  for (const [id, s] of [...state.snapshots])
    if (!state.greeting.has(id)) {
      s.button.remove();
      state.snapshots.delete(id);
    }
  state.greeting = null;
}
function select(id) {
  const before = state.snapshots.get(state.selected);
  if (before) before.button.classList.remove("selected");
  state.selected = id;
  const now = state.snapshots.get(id);
  if (now) now.button.classList.add("selected");
}
// The counters are the monitor's own totals (a page opened late shows the same numbers).
function drawTotals(m) {
  for (const [k, v] of Object.entries(m.verdicts)) $(`count-${k}`).textContent = v;
  $("count-incidents").textContent = m.incidents.opened;
  $("count-resolved").textContent = m.incidents.resolved;
  $("totals").dataset.snapshot = m.snapshot === null ? "" : m.snapshot;
  const open = $("open-incidents");
  open.replaceChildren();
  m.open.forEach((o, i) => {
    if (i > 0) open.append(" · ");
    open.append(`${o.what.replace("token_", "token ")} since `, timeEl(o.since_unix_ms));
  });
  if (!m.open.length) open.textContent = "none";
  open.className = m.open.length ? "token_lost" : "ok";
}

// ---- the cut of one snapshot ----
function showCut(id, scroll) {
  const entry = state.snapshots.get(id);
  if (!entry) return;
  const s = entry.data;
  select(id);
  $("cut-panel").hidden = false;
  $("cut-id").textContent = s.id;
  $("cut-verdict").textContent = s.verdict;
  $("cut-verdict").className = s.verdict;
  $("cut-when").replaceChildren("taken at ", timeEl(s.started_unix_ms, true));
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
  // The cut opens below the ring: brought into view, or a click would seem to do nothing.
  if (scroll) $("cut-panel").scrollIntoView({ block: "nearest" });
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
function addEvent(m) {
  const kind = m.type === "control" ? "control" : m.event;
  const li = el("li", { class: kind, "data-event": kind });
  li.append(timeEl(m.at_unix_ms), document.createTextNode(describe(m)));
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
      state.greeting = new Set();
      fillNodeChoices();
      break;
    case "greeted":
      endGreeting();
      break;
    case "snapshot":
      addToStrip(m);
      if (m.verdict !== "inconclusive") state.epoch = Math.max(state.epoch || 0, m.epoch);
      if (typeof m.detection_ms === "number") $("detection").textContent = millis(m.detection_ms);
      $("duration").textContent = millis(m.duration_ms);
      if (state.epoch !== null) $("epoch").textContent = state.epoch;
      break;
    case "token":
      state.token = Object.assign(m, { received: performance.now() });
      scheduleDraw();
      break;
    case "totals":
      drawTotals(m);
      break;
    case "leadership":
      $("leadership").textContent = describeLeadership(m);
      $("leadership").className = m.leading ? "leading" : "standby";
      break;
    case "incident": case "node": case "control":
      addEvent(m);
      if (state.epoch !== null) $("epoch").textContent = state.epoch;
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
  requestAnimationFrame(() => { drawPending = false; drawRing(); });
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

$("cut-close").addEventListener("click", () => { $("cut-panel").hidden = true; select(null); });
setInterval(refreshAge, 250);  // the sighting's age moves with no message
setUpControls();
connect();
