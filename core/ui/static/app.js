// Wigo dashboard: one ES module, no build step, no dependencies.
//
// Data flow: a websocket (/api/ws) sends a snapshot of the whole state, then
// every change event with a sequence number. The page keeps a flat map of
// hosts (local and remote, at any depth) updated from those events and
// re-renders the current view at most once per animation frame. A hole in
// the sequence means events were lost: the page reconnects for a fresh
// snapshot. Logs, authority and plugins come from the JSON API.
//
// Every piece of text from the daemon reaches the DOM through textContent
// (the el() helper), never innerHTML: probe messages are untrusted.

const LEVELS = ["OK", "INFO", "WARN", "CRIT", "ERROR", "DOWN"];
// The log view's recent periods.
const LOG_PERIODS = [["", "any time"], ["1h", "last hour"], ["24h", "last 24 hours"], ["7d", "last 7 days"], ["30d", "last 30 days"]];
const PERIOD_MS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };

// The original's log levels (DEBUG … EMERGENCY) in the host views' words,
// as model.StatusForLogLevel maps them: one vocabulary on every page.
const LOG_LEVEL_WORD = { 1: "OK", 2: "OK", 3: "INFO", 4: "ERROR", 5: "WARN", 6: "CRIT", 7: "DOWN" };
const FAVICON_COLOURS = { OK: "#1a7f37", INFO: "#0969da", WARN: "#d4a72c", CRIT: "#cf222e", ERROR: "#8250df", DOWN: "#000000", UNKNOWN: "#8c959f" };

/** level is the word for a status code, as core/model.StatusName. */
export function level(status) {
  if (status === 999) return "DOWN";
  if (status >= 500) return "ERROR";
  if (status >= 300) return "CRIT";
  if (status >= 200) return "WARN";
  if (status > 100) return "INFO";
  if (status === 100) return "OK";
  return "UNKNOWN";
}

/** el builds an element: el("a", {href: "#"}, "text", child…). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function badge(status, extra) {
  const l = level(status);
  return el("span", { class: "badge", "data-level": l, title: `status ${status}`, ...extra }, l);
}

function ago(ts) {
  if (!ts) return "never";
  const s = Math.max(0, Math.round(Date.now() / 1000 - ts));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** timeZone is where the log's times are shown: "utc" (as the API and
 * wigocli print them) or "local" (the browser's zone), the user's last
 * choice. */
function timeZone() {
  return localStorage.getItem("wigo.tz") === "local" ? "local" : "utc";
}

/** stamp writes a moment (unix seconds) with its zone, in the chosen one:
 * "2026-12-04 18:58:08 UTC", "2026-12-04 19:58:08 CET"; the title gives it
 * in the other. */
function stamp(ts, tz) {
  const d = new Date(ts * 1000);
  const fmt = (zone) => {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
      hourCycle: "h23", timeZoneName: "short",
    }).formatToParts(d).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} ${zone === "UTC" ? "UTC" : parts.timeZoneName}`;
  };
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [shown, other] = tz === "local" ? [fmt(local), fmt("UTC")] : [fmt("UTC"), fmt(local)];
  return el("time", { datetime: d.toISOString(), title: other, "data-tz": tz }, shown);
}

/** age is a text node kept current by the once-a-second ticker. */
function age(ts) {
  return el("time", { "data-ts": ts || 0, datetime: ts ? new Date(ts * 1000).toISOString() : null, title: ts ? new Date(ts * 1000).toLocaleString() : null }, ago(ts));
}

setInterval(() => {
  for (const t of document.querySelectorAll("time[data-ts]")) {
    const v = ago(Number(t.dataset.ts));
    if (t.textContent !== v) t.textContent = v;
  }
}, 1000);

// ---------------------------------------------------------------- state

/** Host records by UUID, flattened from the nested document. */
const model = {
  hosts: new Map(),
  // acks: acknowledgements in force, by ackKey.
  acks: new Map(),
  // silences: the silences not yet ended (some may start later), by Id.
  silences: new Map(),
  // soft: the changes awaiting their confirming results (check attempts),
  // by ackKey, as the core counts them.
  soft: new Map(),
  localUuid: "",
  // global: the worst status of every host, as the core last said.
  global: 100,
  // me: who the dashboard is for (GET /api/whoami); an operator until
  // the answer says otherwise, so that an older daemon loses no button.
  me: { name: "", role: "operator", via: "" },
  hostname: "",
  seq: -1,
  ready: false,
};

function loadSnapshot(doc) {
  model.hosts.clear();
  model.localUuid = doc.Uuid;
  model.hostname = doc.Hostname || (doc.LocalHost && doc.LocalHost.Name) || "";
  const walk = (w, path, remote) => {
    if (!w || !w.LocalHost) return;
    const h = {
      uuid: w.Uuid,
      name: w.LocalHost.Name || w.Hostname || w.Uuid,
      group: w.LocalHost.Group || "",
      alive: w.IsAlive !== false,
      probes: { ...(w.LocalHost.Probes || {}) },
      lastUpdate: w.LastUpdate,
      version: w.Version,
      claimedBy: w.ClaimedBy || "",
      neverAnswered: !!w.NeverAnswered,
      remote,
      path,
    };
    // The core's rollup: a DOWN host is 999, else its worst probe.
    h.status = w.IsAlive === false ? 999 : w.LocalHost.Status;
    model.hosts.set(h.uuid || h.name, h);
    for (const r of Object.values(w.RemoteWigos || {})) walk(r, [...path, h.name], true);
  };
  walk(doc, [], false);
  model.global = doc.GlobalStatus;
  model.ready = true;
}

/** ackKey names what an acknowledgement is about, as the core keys it:
 * the host's UUID (its name when it has none) and the probe ("" for the
 * host itself). */
function ackKey(hostUuid, host, probe) {
  return `${hostUuid || host}/${probe || ""}`;
}

/** ackFor is the acknowledgement of h's probe (or of h, probe ""). */
function ackFor(h, probe) {
  return model.acks.get(ackKey(h.uuid, h.name, probe));
}

/** ackNote says who took a problem and offers to remove it. */
function ackNote(h, probe, a) {
  const key = `${h.uuid}/${probe}`;
  return el("p", { class: "ack-note" }, `Acknowledged by ${a.Author} ${ago(Math.floor(new Date(a.Time).getTime() / 1000))}`,
    a.Comment ? `: ${a.Comment}` : "", a.Sticky ? " (sticky)" : "",
    a.Expires ? ` until ${new Date(a.Expires).toLocaleString()}` : "",
    " — its notifications are held back while it does not get worse. ",
    operator(el("button", { type: "button", "data-key": `${key}/unack`, onclick: (ev) => unack(h, probe, ev.target) }, "Remove acknowledgement")));
}

/** operator shows the controls that change something (acknowledge,
 * silence, approve, retry) only to who may use them: a viewer's would be
 * refused (403). */
function operator(node) {
  return model.me.role === "operator" || model.me.role === "admin" ? node : null;
}

/** whoami shows who is logged in, with a Log out button for a session. */
async function whoami() {
  let me;
  try { me = await api("api/whoami"); } catch { return; }
  model.me = me;
  const p = document.getElementById("me");
  document.getElementById("me-name").textContent = me.via === "anonymous" ? `anonymous (${me.role})` : `${me.name} (${me.role})`;
  const out = document.getElementById("logout");
  out.hidden = me.via !== "session";
  out.onclick = async () => {
    try { await api("api/logout", { method: "POST" }); } finally { location.replace("login"); }
  };
  p.hidden = false;
  changed();
}

// The cluster's health comes from GET /api/cluster, read this often.
const CLUSTER_MS = 5000;

/** cluster shows, in the header, the other masters sharing this one's
 * database (up, or down since when), and loudly a database this master
 * cannot reach; nothing for a master alone on its database. */
async function cluster() {
  let c;
  try { c = await api("api/cluster"); } catch { return; }
  const p = document.getElementById("cluster");
  const items = [];
  if (c.Database && !c.Database.Reachable && c.Database.Since) {
    items.push(el("span", { class: "peer", "data-up": "false", "data-database": "", title: c.Database.Error || "" }, "database unreachable"));
  }
  for (const peer of c.Peers || []) {
    const seen = Math.floor(Date.parse(peer.LastSeen) / 1000);
    items.push(el("span", { class: "peer", "data-up": String(peer.Up), "data-peer": peer.Uuid,
      title: `${peer.Url || peer.Uuid}: last seen ${new Date(seen * 1000).toLocaleString()}, lag ${peer.LagSeconds.toFixed(1)} s` },
    `peer ${peer.Hostname} `, peer.Up ? "up" : el("strong", {}, "DOWN ", age(seen))));
  }
  p.replaceChildren(...items);
  p.hidden = items.length === 0;
}

function ackMark(a) {
  return a ? el("span", { class: "badge ack", title: `acknowledged by ${a.Author}${a.Comment ? ": " + a.Comment : ""}` }, "ACK") : null;
}

/** softMark says a probe's change is not confirmed yet: "SOFT 2/3". */
function softMark(h, probe) {
  const s = model.soft.get(ackKey(h.uuid, h.name, probe));
  if (!s) return null;
  return el("span", { class: "badge soft", "data-level": level(s.Status),
    title: `${level(s.Status)} for ${s.Count} result${s.Count === 1 ? "" : "s"} in a row: notified as a change from ${level(s.Hard)} once ${s.Of} in a row confirm it` },
  `SOFT ${s.Count}/${s.Of}`);
}

function loadSoft(list) {
  model.soft.clear();
  for (const s of list || []) model.soft.set(ackKey(s.HostUUID, s.Host, s.Probe), s);
}

function loadAcks(list) {
  model.acks.clear();
  for (const a of list || []) model.acks.set(ackKey(a.HostUuid, a.Host, a.Probe), a);
}

function loadSilences(list) {
  model.silences.clear();
  for (const si of list || []) model.silences.set(si.Id, si);
  wakeForSilences();
}

/** globMatch mirrors event.Match: case-insensitive, '*' matching any run of
 * characters (empty included), every other character itself. */
export function globMatch(pattern, name) {
  const p = pattern.toLowerCase();
  let s = name.toLowerCase();
  const parts = p.split("*");
  if (parts.length === 1) return p === s;
  if (!s.startsWith(parts[0])) return false;
  s = s.slice(parts[0].length);
  for (const mid of parts.slice(1, -1)) {
    const i = s.indexOf(mid);
    if (i < 0) return false;
    s = s.slice(i + mid.length);
  }
  return s.endsWith(parts[parts.length - 1]);
}

/** silenceMatches mirrors event.Silence.Matches: an empty matcher matches
 * any name, and a silence with a probe matcher does not match the host's
 * own changes (probe ""). */
export function silenceMatches(si, host, group, probe) {
  if (!probe && si.Probe) return false;
  const any = (pat, name) => !pat || globMatch(pat, name || "");
  return any(si.Host, host) && any(si.Group, group) && any(si.Probe, probe);
}

/** silenceStarted: a silence in the server's list has not ended (the
 * server says when it does); one set to start later is only scheduled. */
function silenceStarted(si) {
  return Date.parse(si.Start) <= Date.now();
}

/** silencesFor lists the silences in force over h's probe (probe "" for
 * the host itself), from the server's list. */
function silencesFor(h, probe) {
  return [...model.silences.values()].filter((si) => silenceStarted(si) && silenceMatches(si, h.name, h.group, probe));
}

function silenceMark(list) {
  if (!list.length) return null;
  return el("span", { class: "badge silenced", title: list.map((si) => `silenced until ${new Date(si.End).toLocaleString()} by ${si.Author}${si.Comment ? ": " + si.Comment : ""}`).join("\n") }, "SILENCED");
}

// A silence set to start later starts without an event: redraw then.
let silenceWake = null;
function wakeForSilences() {
  clearTimeout(silenceWake);
  const now = Date.now();
  const next = Math.min(...[...model.silences.values()].map((si) => Date.parse(si.Start)).filter((t) => t > now));
  if (Number.isFinite(next)) silenceWake = setTimeout(() => { changed(); wakeForSilences(); }, Math.min(next - now + 50, 2 ** 31 - 1));
}

function hostFor(e) {
  const key = e.HostUuid || (e.Remote ? e.Host : model.localUuid);
  let h = model.hosts.get(key);
  if (!h) {
    // A configured remote that never answered has a stand-in UUID made of
    // this prefix and its address (documents say NeverAnswered).
    h = { uuid: key, name: e.Host, group: e.Group, alive: true, probes: {}, status: 100, remote: e.Remote, path: [],
      neverAnswered: key.startsWith("unanswered:") };
    model.hosts.set(key, h);
  }
  h.name = e.Host || h.name;
  h.group = e.Group;
  h.lastUpdate = Math.floor(new Date(e.Time).getTime() / 1000);
  return h;
}

function applyEvent(e) {
  switch (e.Kind) {
    case "probe_changed":
    case "probe_appeared":
    case "probe_updated": {
      const h = hostFor(e);
      if (e.New) h.probes[e.Probe] = e.New;
      // The core says what the host's status is after a change;
      // probe_updated changes no status.
      if (e.HostStatus) h.status = h.alive ? e.HostStatus : 999;
      break;
    }
    case "probe_disappeared": {
      const h = hostFor(e);
      delete h.probes[e.Probe];
      if (e.HostStatus) h.status = h.alive ? e.HostStatus : 999;
      break;
    }
    case "host_appeared":
      hostFor(e).alive = true;
      break;
    case "host_down": {
      const h = hostFor(e);
      h.alive = false;
      h.status = 999;
      break;
    }
    case "host_up": {
      const h = hostFor(e);
      h.alive = true;
      h.status = e.NewStatus; // the host's status now it is back
      break;
    }
    case "host_removed":
      model.hosts.delete(e.HostUuid || e.Host);
      for (const k of [...model.acks.keys()]) if (k.startsWith(`${e.HostUuid || e.Host}/`)) model.acks.delete(k);
      break;
    case "acknowledged":
      if (e.Ack) model.acks.set(ackKey(e.Ack.HostUuid, e.Ack.Host, e.Ack.Probe), e.Ack);
      break;
    case "ack_removed":
      if (e.Ack) model.acks.delete(ackKey(e.Ack.HostUuid, e.Ack.Host, e.Ack.Probe));
      break;
    case "silence_set":
      if (e.Silence) model.silences.set(e.Silence.Id, e.Silence);
      wakeForSilences();
      break;
    case "silence_ended":
      if (e.Silence) model.silences.delete(e.Silence.Id);
      wakeForSilences();
      break;
  }
  // The core says the global status after every change that can move it.
  if (e.GlobalStatus) model.global = e.GlobalStatus;
  const d = e.Decision || {};
  if (d.Soft) model.soft.set(ackKey(d.Soft.HostUUID, d.Soft.Host, d.Soft.Probe), d.Soft);
  if (d.SoftEnded) model.soft.delete(ackKey(e.HostUuid, e.Host, e.Probe));
  if (e.Kind === "host_removed") for (const k of [...model.soft.keys()]) if (k.startsWith(`${e.HostUuid || e.Host}/`)) model.soft.delete(k);
  const ended = e.Decision && e.Decision.AckEnded;
  if (ended) model.acks.delete(ackKey(ended.HostUuid, ended.Host, ended.Probe));
  // The core decided whether and how the change is logged (event.Log).
  if (e.Log) for (const f of logListeners) f({ ...e.Log, live: true });
}

const logListeners = new Set();

function sortedHosts() {
  return [...model.hosts.values()].sort((a, b) => b.status - a.status || a.name.localeCompare(b.name));
}

// ---------------------------------------------------------------- connection

const conn = { ws: null, attempt: 0, timer: null, state: "connecting" };

function setConn(state, text) {
  conn.state = state;
  const p = document.getElementById("conn");
  p.dataset.conn = state;
  document.getElementById("conn-text").textContent = text || state;
}

function wsURL() {
  const u = new URL("api/ws", document.baseURI);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}

function connect() {
  clearTimeout(conn.timer);
  conn.timer = null;
  let ws;
  try {
    ws = new WebSocket(wsURL());
  } catch (err) {
    scheduleReconnect();
    return;
  }
  conn.ws = ws;
  let live = false;
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch { return; }
    if (msg.type === "snapshot") {
      loadSnapshot(msg.state);
      loadAcks(msg.acks);
      loadSilences(msg.silences);
      loadSoft(msg.soft);
      model.seq = msg.seq;
      live = true;
      conn.attempt = 0;
      setConn("live");
      changed();
      return;
    }
    if (msg.type !== "event" || !live) return;
    if (msg.seq <= model.seq) return; // already in the snapshot
    if (msg.seq !== model.seq + 1) {
      // Events were lost: a fresh snapshot is the only truth.
      ws.close(4000, "sequence gap");
      return;
    }
    model.seq = msg.seq;
    applyEvent(msg.event);
    heard(msg.event);
    changed();
  };
  ws.onclose = () => {
    if (conn.ws !== ws) return;
    conn.ws = null;
    scheduleReconnect();
  };
}

/** Backoff: a quick first retry (a restart or a dropped slow client), then
 * doubling to a 10 s cap, with jitter so a wall of browsers does not
 * reconnect in lockstep. */
function scheduleReconnect() {
  const n = conn.attempt++;
  const base = n === 0 ? 250 : Math.min(10000, 1000 * 2 ** (n - 1));
  const delay = Math.round(base * (0.8 + Math.random() * 0.4));
  if (n < 2) setConn("reconnecting", "reconnecting…");
  else setConn("offline", `offline · retry in ${Math.round(delay / 1000)} s`);
  conn.timer = setTimeout(connect, delay);
  changed();
}

window.addEventListener("online", () => { if (!conn.ws) connect(); });

// ---------------------------------------------------------------- chrome

// Renders are coalesced: at most one per animation frame and per
// RENDER_GAP ms, so a burst of events (a master ingesting a thousand hosts)
// costs a few renders, not one per event.
const RENDER_GAP = 200;
let dirty = false;
let lastRender = 0;
function changed() {
  if (dirty) return;
  dirty = true;
  const wait = Math.max(0, lastRender + RENDER_GAP - performance.now());
  setTimeout(() => requestAnimationFrame(() => {
    dirty = false;
    lastRender = performance.now();
    updateChrome();
    if (current && current.update) current.update();
  }), wait);
}

/** render replaces area's content, keeping keyboard focus on the same link
 * or button when it still exists and every <details data-key> the user
 * opened open: live updates must not throw a keyboard user back to the top
 * of the page nor close what was just clicked open. The open state is read
 * from the page itself, so a click an instant before an update is kept. */
function render(area, ...nodes) {
  const opened = new Set([...area.querySelectorAll("details[data-key][open]")].map((d) => d.dataset.key));
  const a = document.activeElement;
  let key = null;
  if (a && a !== area && area.contains(a)) {
    if (a.dataset.key) key = `[data-key="${CSS.escape(a.dataset.key)}"]`;
    else if (a.getAttribute("href")) key = `a[href="${CSS.escape(a.getAttribute("href"))}"]`;
    else if (a.id) key = `#${CSS.escape(a.id)}`;
  }
  area.replaceChildren(...nodes);
  for (const d of area.querySelectorAll("details[data-key]")) if (opened.has(d.dataset.key)) d.open = true;
  if (key) {
    const again = area.querySelector(key);
    if (again) again.focus({ preventScroll: true });
  }
}

let lastFavicon = "";
let staleSince = null;
function updateChrome() {
  // While not live, say so above the content and grey the statuses out:
  // a wall that silently shows an old "all OK" is worse than none.
  const main = document.getElementById("main");
  let banner = document.getElementById("stale");
  if (conn.state !== "live" && model.ready) {
    staleSince = staleSince || new Date();
    main.classList.add("stale");
    if (!banner) {
      banner = el("p", { id: "stale", class: "banner bad", role: "alert" });
      main.prepend(banner);
    }
    banner.textContent = `Not connected to the daemon: showing the state as of ${staleSince.toLocaleTimeString()}. Reconnecting by itself.`;
  } else {
    staleSince = conn.state === "live" ? null : staleSince;
    main.classList.remove("stale");
    if (banner) banner.remove();
  }
  const l = model.ready ? level(model.global) : "UNKNOWN";
  const g = document.getElementById("global-status");
  g.dataset.level = l;
  g.textContent = model.ready ? l : "…";
  const live = conn.state === "live" ? "" : ` (${conn.state})`;
  document.getElementById("brand-name").textContent = model.hostname ? `wigo — ${model.hostname}` : "wigo";
  document.title = `${model.ready ? l : "…"} · wigo — ${model.hostname || "dashboard"}${live}`;
  const key = l + conn.state;
  if (key !== lastFavicon) {
    lastFavicon = key;
    document.getElementById("favicon").href = favicon(l, conn.state !== "live");
  }
}

/** favicon draws a status dot; hollow while not live, so a tab shows a
 * stale status for what it is. */
function favicon(l, stale) {
  const c = document.createElement("canvas");
  c.width = c.height = 32;
  const g = c.getContext("2d");
  g.beginPath();
  g.arc(16, 16, 13, 0, 2 * Math.PI);
  if (stale) {
    g.lineWidth = 5;
    g.strokeStyle = FAVICON_COLOURS[l];
    g.stroke();
  } else {
    g.fillStyle = FAVICON_COLOURS[l];
    g.fill();
    g.lineWidth = 2;
    g.strokeStyle = "#ffffff";
    g.stroke();
  }
  return c.toDataURL("image/png");
}

// ---------------------------------------------------------------- routing

let current = null;

function route() {
  const raw = location.hash.replace(/^#\/?/, "") || "hosts";
  const [pathPart, query] = raw.split("?");
  const parts = pathPart.split("/").map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  const views = { hosts: hostsView, group: groupView, host: hostView, logs: logsView, held: heldView, authority: authorityView, plugins: pluginsView };
  const view = views[parts[0]] || notFoundView;
  if (current && current.unmount) current.unmount();
  const main = document.getElementById("main");
  main.replaceChildren();
  for (const a of document.querySelectorAll("nav a[data-view]")) {
    const on = a.dataset.view === parts[0] || (a.dataset.view === "hosts" && (parts[0] === "group" || parts[0] === "host"));
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  current = view(main, parts.slice(1), params) || {};
  if (current.update) current.update();
  updateChrome();
}

function focusMain() {
  document.getElementById("main").focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => { route(); focusMain(); });

function waiting(area) {
  if (model.ready) return false;
  area.replaceChildren(el("p", { class: "muted" }, conn.state === "live" || conn.state === "connecting" ? "Loading…" : "Not connected to the daemon yet."));
  return true;
}

// ---------------------------------------------------------------- hosts

function groupsOf(hosts) {
  const groups = new Map();
  for (const h of hosts) {
    const g = h.group || "";
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(h);
  }
  return [...groups.entries()]
    .map(([name, list]) => ({ name, list, status: Math.max(...list.map((h) => h.status)) }))
    .sort((a, b) => b.status - a.status || a.name.localeCompare(b.name));
}

function hostMatches(h, q) {
  if (!q) return true;
  q = q.toLowerCase();
  return h.name.toLowerCase().includes(q) || h.group.toLowerCase().includes(q) ||
    level(h.status).toLowerCase() === q || Object.keys(h.probes).some((p) => p.toLowerCase().includes(q));
}

/** counts shows, for every level, how many hosts are at it (the core's
 * host status) and how many probes: a CRIT probe on an ERROR host is a
 * CRIT probe all the same. Levels with nothing are shown quiet, not left
 * out, so "0 CRIT" reads as news too. */
function counts(hosts) {
  const n = Object.fromEntries(LEVELS.map((l) => [l, { hosts: 0, probes: 0 }]));
  for (const h of hosts) {
    n[level(h.status)].hosts++;
    for (const p of Object.values(h.probes)) {
      const c = n[level(p.Status)];
      if (c) c.probes++;
    }
  }
  const plural = (k, word) => `${word}${k === 1 ? "" : "s"}`;
  return el("ul", { class: "counts", id: "counts", "aria-label": "Hosts and probes per status" },
    LEVELS.map((l) => el("li", { "data-level": l, class: n[l].hosts + n[l].probes === 0 ? "zero" : null },
      el("span", { class: "badge", "data-level": l }, l),
      el("strong", { "data-count": "hosts" }, n[l].hosts), plural(n[l].hosts, "host"),
      el("strong", { "data-count": "probes" }, n[l].probes), plural(n[l].probes, "probe"))));
}

function sortedProbes(h) {
  return Object.values(h.probes).sort((a, b) => b.Status - a.Status || a.Name.localeCompare(b.Name));
}

/** hostLink is a host's name as a link to its view, never broken inside a
 * word (CSS: .hname). */
function hostLink(h) {
  return el("a", { class: "hname", href: `#/host/${encodeURIComponent(h.name)}`, title: h.name }, h.name);
}

function hostCard(h, spark) {
  const l = level(h.status);
  const probes = sortedProbes(h);
  const shown = probes.length <= 8 ? probes : probes.filter((p) => p.Status > 100).slice(0, 8);
  const hidden = probes.length - shown.length;
  return el("li", { class: "host" + (h.alive ? "" : " down"), "data-level": l, "data-host": h.name },
    el("h3", {}, hostLink(h),
      el("span", { class: "marks" }, badge(h.status), ackMark(ackFor(h, "")), silenceMark(silencesFor(h, "")))),
    el("p", { class: "sub" },
      h.alive ? `${probes.length} probe${probes.length === 1 ? "" : "s"}` : h.neverAnswered ? "DOWN: never answered" : "DOWN: not heard from",
      h.neverAnswered ? " since " : " · updated ", age(h.lastUpdate),
      h.path && h.path.length ? ` · via ${h.path.join(" › ")}` : ""),
    spark ? sparkFor(h) : null,
    el("ul", { class: "probes" }, shown.map((p) =>
      el("li", { "data-probe": p.Name, "data-level": level(p.Status) }, badge(p.Status), el("span", { class: "pname" }, p.Name, softMark(h, p.Name), ackMark(ackFor(h, p.Name)), silenceMark(silencesFor(h, p.Name))),
        el("span", { class: "pmsg", title: p.Message }, p.Message)))),
    hidden > 0 ? el("p", { class: "sub" }, `${hidden} more probe${hidden === 1 ? "" : "s"}, all OK`) : null);
}

/** compactRow is one host of the compact overview: its name and status,
 * then only its probes that are not OK, each with its whole message. */
function compactRow(h) {
  const l = level(h.status);
  const bad = sortedProbes(h).filter((p) => p.Status > 100);
  return el("li", { class: "crow" + (h.alive ? "" : " down"), "data-level": l, "data-host": h.name },
    el("div", { class: "chost" }, badge(h.status), hostLink(h), ackMark(ackFor(h, "")), silenceMark(silencesFor(h, ""))),
    el("ul", { class: "cprobes" },
      h.alive ? null : el("li", { class: "cdown" }, h.neverAnswered ? "never answered since " : "not heard from since ", age(h.lastUpdate)),
      bad.map((p) => el("li", { "data-probe": p.Name, "data-level": level(p.Status) }, badge(p.Status),
        el("span", { class: "pname" }, p.Name), softMark(h, p.Name), ackMark(ackFor(h, p.Name)), silenceMark(silencesFor(h, p.Name)),
        el("span", { class: "pmsg" }, p.Message)))));
}

/** groupHeader is a group's heading, tinted by its worst host's status
 * and saying it in a word, with the group's count of hosts. */
function groupHeader(g, extra, fold) {
  return el("div", { class: "ghead", "data-level": level(g.status) },
    el("h2", { id: `g-${g.name}` }, badge(g.status),
      g.name ? el("a", { href: `#/group/${encodeURIComponent(g.name)}` }, g.name) : el("span", {}, "(no group)"),
      el("span", { class: "gcount" }, `${g.list.length} host${g.list.length === 1 ? "" : "s"}`, extra || "")),
    fold);
}

// okOpen holds the groups whose OK hosts the user opened, across redraws
// (the fold of a group with problems is a button in its header, not a
// <details>, so render() does not keep it by itself).
const okOpen = new Set();

function okList(ok) {
  return el("ul", { class: "oklist" }, ok.map((h) => el("li", { "data-host": h.name, "data-level": "OK" }, hostLink(h))));
}

/** compactGroup lists a group's hosts that are not OK one row each and
 * folds the OK ones into a count that opens on a click (in the header);
 * a group with no problem is that fold alone, on one line. */
function compactGroup(g, problemsOnly, redraw) {
  const bad = g.list.filter((h) => h.status > 100);
  const ok = g.list.filter((h) => h.status <= 100);
  const okText = `${ok.length} host${ok.length === 1 ? "" : "s"} OK`;
  if (problemsOnly && bad.length === 0) return null;
  if (bad.length === 0) {
    // The names are built when the fold opens (render() reopens it after
    // a redraw, which fires toggle again): a closed fold of thousands of
    // OK hosts costs nothing per redraw.
    const fill = (ev) => {
      const d = ev.currentTarget;
      if (d.open && !d.querySelector("ul.oklist")) d.append(okList(ok));
    };
    return el("section", { class: "cgroup allok", "data-group": g.name, "aria-label": `Group ${g.name || "(no group)"}: all OK` },
      el("details", { class: "oks okgroup", "data-key": `oks/${g.name}`, "data-level": "OK", ontoggle: fill },
        el("summary", { "data-key": `oks/${g.name}/summary` }, el("span", { class: "badge", "data-level": "OK" }, "OK"), " ",
          g.name ? el("a", { href: `#/group/${encodeURIComponent(g.name)}` }, g.name) : "(no group)", ` · ${okText}`)));
  }
  const open = okOpen.has(g.name);
  const fold = ok.length && !problemsOnly ? el("button", {
    type: "button", class: "okfold", "data-key": `oks/${g.name}`, "aria-expanded": String(open), "aria-controls": `oks-${g.name}`,
    onclick: () => { if (okOpen.has(g.name)) okOpen.delete(g.name); else okOpen.add(g.name); redraw(); },
  }, el("span", { class: "badge", "data-level": "OK" }, "OK"), ` ${okText}`) : null;
  return el("section", { class: "cgroup", "data-group": g.name, "aria-labelledby": `g-${g.name}` },
    groupHeader(g, ` · ${bad.length} not OK`, fold),
    el("ul", { class: "compact" }, bad.map(compactRow)),
    fold && open ? el("div", { id: `oks-${g.name}`, class: "oks" }, okList(ok)) : null);
}

/** wallTile is one host of the wall: its name and status word, large. */
function wallTile(h) {
  const l = level(h.status);
  const bad = sortedProbes(h).filter((p) => p.Status > 100).map((p) => p.Name);
  return el("li", { "data-level": l, "data-host": h.name },
    el("a", { href: `#/host/${encodeURIComponent(h.name)}`, title: bad.join(", ") },
      el("span", { class: "n" }, h.name), el("span", { class: "w" }, l), bad.length ? ` · ${bad.length} not OK` : ""));
}

// The overview's modes; without one in the URL, compact above
// COMPACT_ABOVE hosts (cards would list thousands of OK probes), cards
// below.
const MODES = [["compact", "Compact"], ["cards", "Cards"], ["wall", "Wall"]];
const COMPACT_ABOVE = 30;

function hostsView(main, _parts, params) {
  const filter = el("input", { type: "search", id: "filter", placeholder: "host, group, probe or status", autocomplete: "off", value: params.get("filter") || "" });
  let mode = MODES.some(([m]) => m === params.get("mode")) ? params.get("mode") : "";
  let problemsOnly = params.get("problems") === "1";
  const modeButtons = MODES.map(([m, label]) => el("button", { type: "button", id: m === "wall" ? "wall-toggle" : `mode-${m}`, "data-mode": m }, label));
  const problems = el("button", { type: "button", id: "problems-toggle" }, "Problems only");
  const area = el("div", { id: "hosts-area" });
  main.append(
    el("div", { class: "toolbar" }, el("h1", {}, "Hosts"), el("label", { for: "filter" }, "Filter"), filter,
      el("div", { class: "seg", role: "group", "aria-label": "Layout" }, modeButtons), problems),
    area);
  // The view's state lives in its URL, so a link or a kiosk opens exactly
  // this view; replaceState does not fire hashchange, so nothing redraws.
  const save = () => {
    const q = new URLSearchParams();
    if (filter.value.trim()) q.set("filter", filter.value.trim());
    if (mode) q.set("mode", mode);
    if (problemsOnly) q.set("problems", "1");
    const s = q.toString();
    history.replaceState(null, "", `#/hosts${s ? "?" + s : ""}`);
  };
  const update = () => {
    const all = sortedHosts();
    const shown = mode || (all.length > COMPACT_ABOVE ? "compact" : "cards");
    for (const b of modeButtons) b.setAttribute("aria-pressed", String(b.dataset.mode === shown));
    problems.setAttribute("aria-pressed", String(problemsOnly));
    if (waiting(area)) return;
    const q = filter.value.trim();
    const matching = all.filter((h) => hostMatches(h, q));
    const hosts = problemsOnly ? matching.filter((h) => h.status > 100) : matching;
    const out = [counts(matching)];
    if (model.acks.size > 0) {
      // Who took what: the first thing a second on-call person asks.
      out.push(el("section", { class: "acks", "aria-labelledby": "acks-h" },
        el("h2", { id: "acks-h" }, "Acknowledged", el("span", { class: "muted" }, String(model.acks.size))),
        el("ul", {}, [...model.acks.values()].sort((a, b) => a.Host.localeCompare(b.Host) || (a.Probe || "").localeCompare(b.Probe || "")).map((a) =>
          el("li", {}, badge(a.Status), " ", el("a", { href: `#/host/${encodeURIComponent(a.Host)}` }, a.Probe ? `${a.Host}/${a.Probe}` : a.Host),
            ` by ${a.Author}`, a.Comment ? `: ${a.Comment}` : "")))));
    }
    if (model.silences.size > 0) out.push(silencesSection());
    if (q && matching.length === 0) out.push(el("p", { class: "banner note" }, `No host matches “${q}”.`));
    else if (problemsOnly && hosts.length === 0) out.push(el("p", { class: "banner note", id: "no-problem" }, `No problem: ${matching.length === 1 ? "the host is" : `all ${matching.length} hosts are`} OK.`));
    if (shown === "wall") {
      out.push(el("ul", { class: "wall", "aria-label": "All hosts" }, hosts.map(wallTile)));
    } else if (shown === "compact") {
      out.push(...groupsOf(matching).map((g) => compactGroup(g, problemsOnly, update)).filter(Boolean));
    } else {
      for (const g of groupsOf(hosts)) {
        out.push(el("section", { "aria-labelledby": `g-${g.name}` }, groupHeader(g), el("ul", { class: "hosts" }, g.list.map((h) => hostCard(h, hosts.length <= SPARK_MAX_CARDS)))));
      }
    }
    render(area, ...out);
  };
  filter.addEventListener("input", () => { save(); update(); });
  for (const b of modeButtons) {
    b.addEventListener("click", () => {
      // The wall's button toggles: pressed again, it goes back to the
      // default layout.
      mode = b.dataset.mode === "wall" && b.getAttribute("aria-pressed") === "true" ? "" : b.dataset.mode;
      save();
      update();
    });
  }
  problems.addEventListener("click", () => { problemsOnly = !problemsOnly; save(); update(); });
  return { update };
}

// ---------------------------------------------------------------- group & host

/** detailTable renders Detail as a table when its shape allows: a flat
 * object gives key/value rows, an object of objects one row per key with
 * the union of inner keys as columns. Anything else returns null. */
function detailTable(d) {
  if (!d || typeof d !== "object" || Array.isArray(d)) return null;
  const keys = Object.keys(d);
  if (keys.length === 0) return null;
  const scalar = (v) => v === null || typeof v !== "object";
  const fmt = (v) => (v === null ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v));
  if (keys.every((k) => scalar(d[k]))) {
    return el("table", {}, el("tbody", {}, keys.map((k) => el("tr", {}, el("th", { scope: "row" }, k), el("td", { class: "msg" }, fmt(d[k]))))));
  }
  if (keys.every((k) => d[k] && typeof d[k] === "object" && !Array.isArray(d[k]))) {
    const cols = [...new Set(keys.flatMap((k) => Object.keys(d[k])))];
    return el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, ""), cols.map((c) => el("th", { scope: "col" }, c)))),
      el("tbody", {}, keys.map((k) => el("tr", {}, el("th", { scope: "row" }, k), cols.map((c) => el("td", { class: "msg" }, c in d[k] ? fmt(d[k][c]) : ""))))));
  }
  return null;
}

/** maxDetailDepth is the core's cap on a Detail's nesting (MaxDetailDepth). */
const maxDetailDepth = 32;

/** capDepth returns v with what nests deeper than maxDetailDepth replaced
 * by "…", as the core does: a Detail sent as a string of JSON escapes the
 * core's cap, and the browser's JSON.stringify overflows its stack on deep
 * input. Its own recursion is bounded by the cap. */
function capDepth(v, depth = 0) {
  if (v === null || typeof v !== "object") return v;
  if (depth >= maxDetailDepth) return "…";
  if (Array.isArray(v)) return v.map((x) => capDepth(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, capDepth(x, depth + 1)]));
}

function parseDetail(p) {
  if (p.Detail === undefined || p.Detail === null || p.Detail === "") return null;
  if (typeof p.Detail === "string") {
    try { return capDepth(JSON.parse(p.Detail)); } catch { return p.Detail; }
  }
  return capDepth(p.Detail);
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "Copied";
  } catch {
    // No clipboard (plain http on a non-local host): select the text so
    // Ctrl+C works.
    const pre = button.closest("details").querySelector("pre");
    getSelection().selectAllChildren(pre);
    button.textContent = "Selected: press Ctrl+C";
  }
  setTimeout(() => { button.textContent = "Copy JSON"; }, 2000);
}

function probeRows(h) {
  return sortedProbes(h).flatMap((p) => {
    const detail = parseDetail(p);
    const table = detailTable(detail);
    const raw = JSON.stringify(p, null, 2);
    const key = `${h.uuid}/${p.Name}`;
    const rawBox = el("details", { "data-key": `${key}/details` },
      el("summary", { "data-key": `${key}/raw` }, "Raw JSON"),
      el("div", { class: "actions" }, el("button", { type: "button", "data-key": `${key}/copy`, onclick: (ev) => copy(raw, ev.target) }, "Copy JSON")),
      el("pre", { class: "json" }, raw));
    const metrics = (p.Metrics || []).map((m) =>
      el("li", {}, Object.entries(m.Tags || {}).map(([k, v]) => `${k}=${v}`).join(" ") || "value", ": ", el("strong", {}, String(m.Value))));
    const ack = ackFor(h, p.Name);
    const silenced = silencesFor(h, p.Name);
    const extra = [];
    if (ack) extra.push(ackNote(h, p.Name, ack));
    if (silenced.length) extra.push(silenceNote(silenced));
    extra.push(el("div", { class: "actions" },
      !ack && p.Status > 100 ? operator(el("button", { type: "button", "data-key": `${key}/ack`, onclick: (ev) => acknowledge(h, p.Name, ev.target) }, "Acknowledge")) : null,
      operator(el("button", { type: "button", "data-key": `${key}/silence`, "aria-label": `Silence ${p.Name} on ${h.name}`, onclick: () => silenceDialog(h.name, p.Name) }, "Silence…"))));
    if (table) extra.push(el("div", { class: "detail" }, table));
    else if (detail !== null && !(typeof detail === "object" && Object.keys(detail).length === 0)) extra.push(el("pre", { class: "json" }, JSON.stringify(detail, null, 2)));
    if (metrics.length) extra.push(el("p", { class: "muted" }, "Metrics"), el("ul", { class: "metrics" }, metrics));
    extra.push(rawBox);
    return [
      el("tr", { class: "probe", "data-level": level(p.Status), "data-probe": p.Name },
        el("th", { scope: "row" }, el("a", { href: `#/host/${encodeURIComponent(h.name)}/${encodeURIComponent(p.Name)}`, title: `${p.Name}: its history` }, p.Name)),
        el("td", { class: "tight" }, badge(p.Status), softMark(h, p.Name), ackMark(ack), silenceMark(silenced)),
        el("td", { class: "msg" }, p.Message),
        el("td", { class: "num tight", "data-label": "result" }, age(p.Timestamp)),
        el("td", { class: "num tight", "data-label": "exit" }, p.ExitCode ?? "")),
      el("tr", { class: "extra" }, el("td", { colspan: 5 }, extra)),
    ];
  });
}

function probesTable(h) {
  if (Object.keys(h.probes).length === 0) return el("p", { class: "muted" }, "No probe results.");
  return el("table", { class: "probes", "aria-label": `Probes of ${h.name}` },
    el("thead", {}, el("tr", {}, ["Probe", "Status", "Message", "Result", "Exit"].map((c) => el("th", { scope: "col" }, c)))),
    el("tbody", {}, probeRows(h)));
}

function hostHeader(h, tag) {
  return el(tag, { id: tag === "h2" ? `h-${h.name}` : null }, badge(h.status),
    tag === "h2" ? el("a", { href: `#/host/${encodeURIComponent(h.name)}` }, h.name) : h.name,
    silenceMark(silencesFor(h, "")),
    h.alive ? null : el("span", { class: "badge", "data-level": "DOWN" }, h.neverAnswered ? "NEVER ANSWERED" : "NOT HEARD FROM"),
    h.claimedBy ? el("span", { class: "badge", "data-level": "WARN", title: `${h.claimedBy} also claims this host's UUID; refused` }, "UUID CLAIMED TWICE") : null);
}

function hostMeta(h) {
  return el("p", { class: "muted" },
    h.group ? ["group ", el("a", { href: `#/group/${encodeURIComponent(h.group)}` }, h.group), " · "] : null,
    h.neverAnswered ? ["never answered since ", age(h.lastUpdate)] : ["updated ", age(h.lastUpdate)],
    h.remote ? ` · remote${h.path.length ? " via " + h.path.join(" › ") : ""}` : " · this instance",
    h.uuid && !h.neverAnswered ? ` · ${h.uuid}` : "",
    h.claimedBy ? ` · also claimed by ${h.claimedBy} (refused)` : "",
    " · ", el("a", { href: `#/logs?host=${encodeURIComponent(h.name)}` }, "log"));
}

function groupView(main, [name]) {
  const area = el("div");
  main.append(el("h1", {}, "Group ", el("span", {}, name)), area);
  return {
    update() {
      if (waiting(area)) return;
      const hosts = sortedHosts().filter((h) => h.group === name);
      if (hosts.length === 0) {
        area.replaceChildren(el("p", { class: "banner note" }, `No host in group “${name}”.`));
        return;
      }
      render(area, counts(hosts), ...hosts.map((h) =>
        el("section", { "aria-labelledby": `h-${h.name}` }, hostHeader(h, "h2"), hostMeta(h), probesTable(h))));
    },
  };
}

/** hostView shows a host with its probes (#/host/NAME), or one of its
 * probes (#/host/NAME/PROBE); under either, the history of its metrics and
 * statuses over the range in the URL (?range=24h, or from= and to=). */
function hostView(main, [name, probeName], params) {
  const area = el("div");
  const save = (changes) => {
    for (const [k, v] of Object.entries(changes)) if (v === null) params.delete(k); else params.set(k, v);
    const q = params.toString();
    history.replaceState(null, "", `#/host/${encodeURIComponent(name)}${probeName ? "/" + encodeURIComponent(probeName) : ""}${q ? "?" + q : ""}`);
  };
  const hist = historyPanel(name, probeName || null, params, save);
  main.append(area, hist.node);
  return {
    update() {
      if (waiting(area)) return;
      hist.update();
      const h = [...model.hosts.values()].find((x) => x.name === name);
      if (!h) {
        area.replaceChildren(el("h1", {}, name), el("p", { class: "banner note" }, `No host named “${name}” is known to this instance.`));
        return;
      }
      if (probeName) {
        const p = h.probes[probeName];
        render(area, el("h1", {}, p ? badge(p.Status) : null, probeName, el("span", { class: "muted" }, "on"), hostLink(h), h.alive ? null : el("span", { class: "badge", "data-level": "DOWN" }, "NOT HEARD FROM")),
          el("p", { class: "muted" }, "probe of ", el("a", { href: `#/host/${encodeURIComponent(h.name)}` }, h.name), " · ",
            el("a", { href: `#/logs?host=${encodeURIComponent(h.name)}&probe=${encodeURIComponent(probeName)}` }, "log")),
          p ? probesTable({ ...h, probes: { [probeName]: p } }) :
            el("p", { class: "banner note" }, `${h.name} has no probe named “${probeName}” now; what its history holds is below.`));
        return;
      }
      const hostAck = ackFor(h, "");
      const silenced = silencesFor(h, "");
      const actions = el("div", { class: "actions" },
        !hostAck && h.status > 100 ? operator(el("button", { type: "button", "data-key": `${h.uuid}//ack`, onclick: (ev) => acknowledge(h, "", ev.target) }, "Acknowledge host")) : null,
        operator(el("button", { type: "button", "data-key": `${h.uuid}//silence`, "aria-label": `Silence host ${h.name} and all its probes`, onclick: () => silenceDialog(h.name, "") }, "Silence host…")));
      render(area, ...[hostHeader(h, "h1"), hostMeta(h), hostAck ? ackNote(h, "", hostAck) : null,
        silenced.length ? silenceNote(silenced) : null, actions, probesTable(h)].filter(Boolean));
    },
    unmount: hist.unmount,
  };
}

/** acknowledge asks for a comment and acknowledges the probe's problem;
 * the page changes when the event comes back over the websocket. */
async function acknowledge(h, probe, button) {
  const what = probe ? `${probe} on ${h.name}` : `host ${h.name}`;
  const comment = window.prompt(`Acknowledge ${what}: a comment for the others (optional)`, "");
  if (comment === null) return;
  button.disabled = true;
  try {
    await api(`api/hosts/${encodeURIComponent(h.name)}/ack`, { method: "POST", body: new URLSearchParams({ probe, comment }) });
  } catch (err) {
    button.disabled = false;
    button.title = err.message;
    window.alert(`Not acknowledged: ${err.message}`);
  }
}

async function unack(h, probe, button) {
  button.disabled = true;
  try {
    await api(`api/hosts/${encodeURIComponent(h.name)}/ack?probe=${encodeURIComponent(probe)}`, { method: "DELETE" });
  } catch (err) {
    button.disabled = false;
    window.alert(`Not removed: ${err.message}`);
  }
}

// ---------------------------------------------------------------- silences

/** matcherText says what a silence matches: "host=web-* probe=disk". */
function matcherText(si) {
  return [["host", si.Host], ["group", si.Group], ["probe", si.Probe]].filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join(" ");
}

/** clock is a moment as an on-call person reads it: the time alone
 * today, with the day otherwise. */
function clock(iso) {
  const d = new Date(iso);
  const today = d.toDateString() === new Date().toDateString();
  return today ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) :
    d.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** silenceNote says, under a host or probe, which silences hold its
 * notifications back and until when. */
function silenceNote(list) {
  return el("div", { class: "silence-note" }, list.map((si) =>
    el("p", { "data-silence": si.Id }, el("strong", {}, `Silenced by ${si.Author} until ${clock(si.End)}`), " (", when(si.End), ")",
      si.Comment ? `: ${si.Comment}` : "", ". Matches ", el("code", {}, matcherText(si)),
      ". Changes are logged as held back, not notified; what is still wrong when it ends is notified once.")));
}

const SILENCE_DURATIONS = [["1h", "1 hour"], ["4h", "4 hours"], ["24h", "1 day"]];

/** silenceDialog asks for the matchers (pre-filled with the host and the
 * probe), a duration and a comment, and sets the silence. It is a modal
 * outside the views, which redraw on every probe run and would lose what
 * is being typed; the page shows the silence when the event comes back
 * over the websocket. */
function silenceDialog(host, probe) {
  const field = (id, label, value, hint) => el("p", { class: "field" },
    el("label", { for: id }, label), el("input", { type: "text", id, name: id.slice(4), value, autocomplete: "off", "aria-describedby": hint ? `${id}-hint` : null }),
    hint ? el("span", { class: "muted hint", id: `${id}-hint` }, hint) : null);
  const error = el("p", { class: "banner bad", role: "alert", hidden: true, id: "sil-error" });
  const submit = el("button", { type: "submit", class: "primary", id: "sil-submit" }, "Silence");
  const form = el("form", { method: "dialog" },
    el("h2", { id: "sil-h" }, "Silence notifications"),
    el("p", { class: "muted" }, "Changes that match are logged as held back instead of notified. When the silence ends, what is still not as last notified is notified once."),
    field("sil-host", "Host", host, "* matches any run of characters; empty matches any host"),
    field("sil-group", "Group", "", "empty: any group"),
    field("sil-probe", "Probe", probe, probe ? "empty: the host and all its probes" : "empty: the host itself and all its probes"),
    el("fieldset", { class: "durations" }, el("legend", {}, "For"),
      SILENCE_DURATIONS.map(([v, label], i) => el("label", {},
        el("input", { type: "radio", name: "duration", value: v, checked: i === 0 || null, id: `sil-d-${v}` }), label))),
    field("sil-comment", "Comment", "", "why, for the others: \"reboot for the kernel update\""),
    error,
    el("div", { class: "actions" }, submit, el("button", { type: "button", id: "sil-cancel", onclick: () => dlg.close() }, "Cancel")));
  const dlg = el("dialog", { class: "silence-dialog", "aria-labelledby": "sil-h" }, form);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = new URLSearchParams();
    for (const k of ["host", "group", "probe", "comment"]) body.set(k, form.elements[k].value.trim());
    body.set("duration", form.elements.duration.value);
    submit.disabled = true;
    try {
      await api("api/silences", { method: "POST", body });
      dlg.close();
    } catch (err) {
      error.hidden = false;
      error.textContent = `Not silenced: ${err.message}`;
      submit.disabled = false;
    }
  });
  // Back to the button that opened it, which a redraw may have replaced.
  const opener = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
  dlg.addEventListener("close", () => {
    dlg.remove();
    const again = opener && document.querySelector(`[data-key="${CSS.escape(opener)}"]`);
    if (again) again.focus({ preventScroll: true });
  });
  document.body.append(dlg);
  dlg.showModal();
  form.elements.comment.focus();
}

/** silencesSection lists the silences not yet ended, soonest end first,
 * each with its matchers, end, author and comment, and buttons to extend
 * or end it. */
function silencesSection() {
  const list = [...model.silences.values()].sort((a, b) => Date.parse(a.End) - Date.parse(b.End) || a.Id.localeCompare(b.Id));
  return el("section", { class: "silences", "aria-labelledby": "silences-h" },
    el("h2", { id: "silences-h" }, "Silenced", el("span", { class: "muted" }, String(list.length))),
    el("ul", {}, list.map((si) => {
      const what = matcherText(si);
      return el("li", { "data-silence": si.Id, "data-end": si.End },
        el("div", { class: "what" },
          el("span", { class: "badge silenced" }, silenceStarted(si) ? "SILENCED" : "SCHEDULED"), " ",
          el("code", { class: "matcher" }, what), " ",
          el("span", { class: "ends" }, silenceStarted(si) ? null : ["from ", clock(si.Start), " "], `until ${clock(si.End)} `,
            el("span", { class: "muted" }, "(", when(si.End), ")")), " ",
          el("span", { class: "who" }, `by ${si.Author}`, si.Comment ? `: ${si.Comment}` : "")),
        el("span", { class: "actions" },
          operator(el("button", { type: "button", "data-key": `silence/${si.Id}/extend`, "aria-label": `Extend the silence of ${what} by an hour`, onclick: (ev) => extendSilence(si, ev.target) }, "Extend +1 h")),
          operator(el("button", { type: "button", class: "danger", "data-key": `silence/${si.Id}/expire`, "aria-label": `Expire the silence of ${what} now`, onclick: (ev) => expireSilence(si, ev.target) }, "Expire"))));
    })));
}

async function extendSilence(si, button) {
  button.disabled = true;
  try {
    await api(`api/silences/${encodeURIComponent(si.Id)}`, { method: "POST", body: new URLSearchParams({ end: new Date(Date.parse(si.End) + 3600e3).toISOString() }) });
  } catch (err) {
    button.disabled = false;
    window.alert(`Not extended: ${err.message}`);
  }
}

async function expireSilence(si, button) {
  button.disabled = true;
  try {
    await api(`api/silences/${encodeURIComponent(si.Id)}`, { method: "DELETE" });
  } catch (err) {
    button.disabled = false;
    window.alert(`Not expired: ${err.message}`);
  }
}

// ---------------------------------------------------------------- history

// The range picker's presets: [key, label, span in s, step in s]. Each
// step keeps a chart at a few hundred points (one every few pixels at a
// desk's width); from 24 h on it is whole 5-minute buckets, which the API
// answers from the rollups, with their min/max.
const RANGES = [["1h", "1 h", 3600, 10], ["6h", "6 h", 6 * 3600, 60], ["24h", "24 h", 86400, 300], ["7d", "7 d", 7 * 86400, 1800], ["30d", "30 d", 30 * 86400, 7200]];
const DEFAULT_RANGE = "6h";
// Geometry of a chart, in CSS pixels: the plot's margins (room for the
// value labels on the left and the times below) and heights.
const CHART = { left: 58, right: 14, top: 10, bottom: 24, height: 190 };
// A time-axis tick's interval is the first of these (in s) that leaves
// TICK_PX pixels between labels.
const TICKS = [60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];
const TICK_PX = 96;
// A live point of these kinds carries a probe's new result.
const RESULT_KINDS = new Set(["probe_changed", "probe_appeared", "probe_updated"]);

/** serverNow is the daemon's time, as its events date themselves: the
 * ranges the API is asked for are the daemon's "last hour", whatever this
 * browser's clock says. */
let serverSkew = 0;
function serverNow() { return Date.now() + serverSkew; }

// metricListeners receive every probe result that carries metrics, as it
// arrives over the websocket.
const metricListeners = new Set();
// statusListeners receive every change that moves a timeline.
const statusListeners = new Set();

/** heard takes what an event says about the time and the history. */
function heard(e) {
  const t = Date.parse(e.Time);
  if (Number.isFinite(t)) serverSkew = t - Date.now();
  if (RESULT_KINDS.has(e.Kind) && e.New && e.New.Metrics && e.New.Metrics.length) for (const f of metricListeners) f(e, t);
  if (e.Kind !== "probe_updated") for (const f of statusListeners) f(e);
}

/** addPoint adds the value v received at t to points (the API's shape,
 * steps of stepMs): into the last point while in its step (steps start
 * where the answer's did), as a new point after it otherwise; points
 * before from go. */
function addPoint(points, stepMs, t, v, from) {
  const lastP = points[points.length - 1];
  const at = lastP ? lastP.t + Math.floor((t - lastP.t) / stepMs) * stepMs : t;
  if (lastP && lastP.t === at && lastP.count > 0) {
    lastP.min = Math.min(lastP.min, v); lastP.max = Math.max(lastP.max, v);
    lastP.avg = (lastP.avg * lastP.count + v) / (lastP.count + 1); lastP.count++; lastP.last = v;
  } else if (!lastP || at > lastP.t) {
    points.push({ t: at, min: v, max: v, avg: v, last: v, count: 1 });
  }
  while (points.length && points[0].t < from - stepMs) points.shift();
}

/** svg builds an SVG element as el() builds HTML ones. */
function svg(tag, attrs, ...children) {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** tagsText names a series by its tags: "mount=/var", "value" for none. */
function tagsText(tags) {
  return Object.entries(tags || {}).filter(([k]) => k !== "unit").map(([k, v]) => `${k}=${v}`).join(" ") || "value";
}

/** tagsKey is a tag set as the store keys it (sorted keys). */
function tagsKeyOf(tags) {
  return JSON.stringify(Object.keys(tags || {}).sort().map((k) => [k, tags[k]]));
}

/** num writes a value short enough for an axis: 3 significant digits,
 * with k, M, G, T above a thousand. */
function num(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  for (const [d, s] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) if (a >= d) return `${+(v / d).toPrecision(3)}${s}`;
  if (a === 0) return "0";
  return a >= 0.01 ? String(+v.toPrecision(3)) : v.toExponential(1);
}

/** niceStep is a round interval (1, 2 or 5 × 10ⁿ) near span/n. */
function niceStep(span, n) {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/** clockText writes a moment for a time axis, in the zone of the log
 * view's choice: "14:30", or "12-04" at midnight and on a daily axis. */
function clockText(ms, tz, withDate) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
    timeZone: tz === "local" ? undefined : "UTC", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const hm = `${parts.hour}:${parts.minute}`;
  return withDate || hm === "00:00" ? `${parts.month}-${parts.day}${hm === "00:00" ? "" : " " + hm}` : hm;
}

/** longTime is a moment in full, for a tooltip: "2026-12-04 14:30:05 UTC". */
function longTime(ms, tz) {
  return stamp(ms / 1000, tz).textContent;
}

function zoneName(tz) {
  return tz === "local" ? Intl.DateTimeFormat().resolvedOptions().timeZone : "UTC";
}

/** duration says how long a stretch lasted: "45 s", "12 min", "3 h 5 min". */
function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.floor(s / 3600)} h${s % 3600 >= 60 ? ` ${Math.round((s % 3600) / 60)} min` : ""}`;
  return `${Math.round(s / 86400)} d`;
}

/** timeAxis draws the vertical grid and the time labels of [from, to]
 * over a plot w wide starting at x0, labels at y. */
function timeAxis(from, to, x0, w, y, top, tz) {
  const span = (to - from) / 1000;
  const every = (TICKS.find((s) => (w * s) / span >= TICK_PX) || TICKS[TICKS.length - 1]) * 1000;
  // Ticks fall on whole intervals of the zone shown (midnight, 14:00).
  const off = tz === "local" ? -new Date(from).getTimezoneOffset() * 60000 : 0;
  const out = [];
  for (let t = Math.ceil((from + off) / every) * every - off; t <= to; t += every) {
    const x = x0 + ((t - from) / (to - from)) * w;
    out.push(svg("line", { class: "grid", x1: x.toFixed(1), x2: x.toFixed(1), y1: top, y2: y - 14 }),
      svg("text", { class: "tick", x: x.toFixed(1), y, "text-anchor": "middle" }, clockText(t, tz, every >= 86400e3)));
  }
  return out;
}

/** seriesValue is the value a point is drawn at: its average over the
 * step (the value itself for a raw point). */
function seriesValue(p) {
  return p.avg;
}

/** chartSVG draws one series over [from, to] at width w: the value axis,
 * the time axis, a tint behind the stretches its probe was not OK
 * (intervals of the timeline), the min/max band of rollups, the line
 * (broken where nothing was received), and a cursor layer for hover. */
function chartSVG(s, from, to, w, tz, intervals) {
  const h = CHART.height;
  const pw = Math.max(40, w - CHART.left - CHART.right), ph = h - CHART.top - CHART.bottom;
  const pts = s.points.filter((p) => p.count > 0 && p.t >= from - s.step * 1000 && p.t <= to);
  let lo = Infinity, hi = -Infinity;
  for (const p of pts) { lo = Math.min(lo, p.min); hi = Math.max(hi, p.max); }
  if (!pts.length) { lo = 0; hi = 1; }
  // A value that hardly moves above zero is drawn from zero: a flat line
  // at the top of an axis from 41.9 to 42.1 would look like a cliff.
  if (lo > 0 && lo < hi * 0.5) lo = 0;
  if (hi - lo < 1e-9) { const pad = Math.abs(hi) * 0.1 || 1; lo -= pad; hi += pad; }
  const step = niceStep(hi - lo, 4);
  lo = Math.floor(lo / step) * step;
  hi = Math.ceil(hi / step) * step;
  const x = (t) => CHART.left + ((t - from) / (to - from)) * pw;
  const y = (v) => CHART.top + (1 - (v - lo) / (hi - lo)) * ph;
  const axis = [];
  for (let v = lo; v <= hi + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    axis.push(svg("line", { class: "grid", x1: CHART.left, x2: CHART.left + pw, y1: yy, y2: yy }),
      svg("text", { class: "tick", x: CHART.left - 6, y: (+yy + 4).toFixed(1), "text-anchor": "end" }, num(v)));
  }
  // Runs of points with no hole: a jump over twice the usual distance
  // between points (the daemon was stopped, the probe did not run, a
  // bucket received nothing) breaks the line.
  const gaps = pts.slice(1).map((p, i) => p.t - pts[i].t).sort((a, b) => a - b);
  const usual = Math.max(s.step * 1000, gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0);
  const runs = [];
  let run = [];
  for (const p of pts) {
    if (run.length && p.t - run[run.length - 1].t > usual * 2) { runs.push(run); run = []; }
    run.push(p);
  }
  if (run.length) runs.push(run);
  const f = (v) => v.toFixed(1);
  const line = runs.map((r) => r.map((p, i) => `${i ? "L" : "M"}${f(x(p.t))} ${f(y(seriesValue(p)))}`).join("")).join("");
  const band = s.rollup ? runs.filter((r) => r.length > 1).map((r) =>
    `M${r.map((p) => `${f(x(p.t))} ${f(y(p.max))}`).join("L")}L${r.slice().reverse().map((p) => `${f(x(p.t))} ${f(y(p.min))}`).join("L")}Z`).join("") : "";
  // A lone point (a run of one) is a dot: a line of one point is invisible.
  const dots = runs.filter((r) => r.length === 1).map((r) => svg("circle", { class: "dot", cx: f(x(r[0].t)), cy: f(y(seriesValue(r[0]))), r: 2.5 }));
  const tints = (intervals || []).filter((iv) => iv.level !== "ok" && iv.level !== "unknown").map((iv) => {
    const a = Math.max(from, Date.parse(iv.from)), b = Math.min(to, Date.parse(iv.to));
    return b > a ? svg("rect", { class: "tint", "data-level": iv.level.toUpperCase(), x: f(x(a)), y: CHART.top, width: f(Math.max(1, x(b) - x(a))), height: ph }) : null;
  });
  const cursor = svg("g", { class: "cursor", visibility: "hidden" },
    svg("line", { x1: 0, x2: 0, y1: CHART.top, y2: CHART.top + ph }), svg("circle", { r: 4.5, cx: 0, cy: 0 }));
  const node = svg("svg", { class: "chart", width: w, height: h, viewBox: `0 0 ${w} ${h}`, tabindex: 0,
    "data-points": pts.length, "data-source": s.rollup ? "rollup" : "raw",
    role: "img", "aria-label": pts.length ? `${s.name}: ${pts.length} points from ${num(seriesValue(pts[0]))} to ${num(seriesValue(pts[pts.length - 1]))}` : `${s.name}: no point in this range` },
  tints, axis, timeAxis(from, to, CHART.left, pw, h - 6, CHART.top, tz),
  svg("line", { class: "axis", x1: CHART.left, x2: CHART.left + pw, y1: CHART.top + ph, y2: CHART.top + ph }),
  band ? svg("path", { class: "band", d: band }) : null,
  svg("path", { class: "line", d: line }), dots, cursor);
  return { node, pts, x, y, pw };
}

/** chartFigure is one metric's chart with its name, last value and a
 * tooltip that follows the pointer (or the arrow keys) with the time and
 * the value of the nearest point. */
function chartFigure(s, lvl) {
  const unit = (s.tags && s.tags.unit) || "";
  const last = el("strong", { class: "last" });
  const tip = el("div", { class: "tip", hidden: true, role: "status" });
  const fig = el("figure", { class: "chart", "data-level": lvl, "data-series": s.name },
    el("figcaption", {}, el("span", { class: "sname" }, s.probe ? [el("a", { href: s.href }, s.probe), " · "] : null, s.name, unit ? el("span", { class: "muted" }, ` (${unit})`) : null,
      " ", el("a", { class: "csv", href: s.csv, download: "", title: `The series of ${s.probeName} in this range, as CSV` }, "CSV")), last),
    el("div", { class: "plot" }), tip);
  let drawn = null, at = -1;
  const show = (i) => {
    if (!drawn || !drawn.pts.length) return;
    at = Math.max(0, Math.min(drawn.pts.length - 1, i));
    const p = drawn.pts[at];
    const cx = drawn.x(p.t), cy = drawn.y(seriesValue(p));
    const cursor = drawn.node.querySelector(".cursor");
    cursor.setAttribute("visibility", "visible");
    cursor.querySelector("line").setAttribute("x1", cx); cursor.querySelector("line").setAttribute("x2", cx);
    cursor.querySelector("circle").setAttribute("cx", cx); cursor.querySelector("circle").setAttribute("cy", cy);
    const u = unit ? ` ${unit}` : "";
    tip.replaceChildren(el("span", { class: "when" }, longTime(p.t, s.tz)), " ", el("strong", {}, `${num(seriesValue(p))}${u}`),
      ...(s.rollup || p.count > 1 ? [el("span", { class: "muted" }, ` min ${num(p.min)} · max ${num(p.max)} · ${p.count} point${p.count === 1 ? "" : "s"}`)] : []));
    tip.hidden = false;
    const left = Math.min(Math.max(0, cx - tip.offsetWidth / 2), fig.clientWidth - tip.offsetWidth);
    tip.style.left = `${left}px`;
  };
  const hide = () => { tip.hidden = true; at = -1; if (drawn) drawn.node.querySelector(".cursor").setAttribute("visibility", "hidden"); };
  const nearest = (px) => {
    const pts = drawn.pts;
    let lo = 0, hi = pts.length - 1;
    while (lo < hi) { const m = (lo + hi) >> 1; if (drawn.x(pts[m].t) < px) lo = m + 1; else hi = m; }
    return lo > 0 && Math.abs(drawn.x(pts[lo - 1].t) - px) < Math.abs(drawn.x(pts[lo].t) - px) ? lo - 1 : lo;
  };
  const draw = (from, to, w, intervals) => {
    const old = at;
    drawn = chartSVG(s, from, to, w, s.tz, intervals);
    const l = drawn.pts[drawn.pts.length - 1];
    last.textContent = l ? `${num(seriesValue(l))}${unit ? " " + unit : ""}` : "";
    last.title = l ? `last point: ${longTime(l.t, s.tz)}` : "";
    drawn.node.addEventListener("pointermove", (ev) => show(nearest(ev.clientX - drawn.node.getBoundingClientRect().left)));
    drawn.node.addEventListener("pointerleave", hide);
    drawn.node.addEventListener("blur", hide);
    drawn.node.addEventListener("keydown", (ev) => {
      const d = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity }[ev.key];
      if (ev.key === "Escape") hide();
      if (d === undefined) return;
      ev.preventDefault();
      show(at < 0 ? drawn.pts.length - 1 : Number.isFinite(d) ? at + d : d < 0 ? 0 : drawn.pts.length - 1);
    });
    fig.querySelector(".plot").replaceChildren(drawn.node);
    if (old >= 0) show(Math.min(old, drawn.pts.length - 1));
  };
  return { node: fig, draw };
}

/** timelineSVG draws the status of each row (the host, its probes) over
 * [from, to] as coloured stretches with their level in a word where it
 * fits: red CRIT, orange WARN, green OK, grey where nothing was heard. */
function timelineSVG(rows, from, to, w, tz) {
  const band = 18, label = 17, gap = 6;
  const pw = Math.max(40, w - CHART.left - CHART.right);
  const h = rows.length * (label + band + gap) + 20;
  const x = (t) => CHART.left + ((Math.min(to, Math.max(from, t)) - from) / (to - from)) * pw;
  const parts = [];
  rows.forEach((r, i) => {
    const top = i * (label + band + gap);
    parts.push(svg("text", { class: "rowname", x: CHART.left, y: top + 13 }, r.name));
    const g = svg("g", { class: "band", "data-row": r.name });
    for (const iv of r.intervals) {
      const a = Date.parse(iv.from), b = Date.parse(iv.to);
      if (b <= from || a >= to) continue;
      const word = iv.level === "unknown" ? "UNKNOWN" : iv.level.toUpperCase();
      const x1 = x(a), x2 = x(b);
      const text = word === "UNKNOWN" ? "nothing heard" : word;
      g.append(svg("g", { "data-level": word, "data-from": a, "data-to": b },
        svg("rect", { x: x1.toFixed(1), y: top + label, width: Math.max(1, x2 - x1).toFixed(1), height: band },
          svg("title", {}, `${text}: ${longTime(a, tz)} – ${longTime(b, tz)} (${duration(b - a)})`)),
        x2 - x1 > text.length * 8 + 8 ? svg("text", { class: "word", x: ((x1 + x2) / 2).toFixed(1), y: top + label + 13, "text-anchor": "middle" }, text) : null));
    }
    parts.push(g);
  });
  const axisY = rows.length * (label + band + gap) + 12;
  return svg("svg", { class: "timeline", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img",
    "aria-label": rows.map((r) => `${r.name}: ${r.intervals.filter((iv) => iv.level !== "ok").map((iv) => `${iv.level === "unknown" ? "nothing heard" : iv.level} ${duration(Date.parse(iv.to) - Date.parse(iv.from))}`).join(", ") || "ok"}`).join("; ") },
  timeAxis(from, to, CHART.left, pw, axisY, 0, tz), parts);
}

/** rangeOf reads the view's range from its URL: a preset (range=6h) or
 * an exact one (from, to: RFC 3339). */
function rangeOf(params) {
  const from = Date.parse(params.get("from") || ""), to = Date.parse(params.get("to") || "");
  if (Number.isFinite(from) && Number.isFinite(to) && from < to) return { key: "custom", from, to };
  const key = RANGES.some(([k]) => k === params.get("range")) ? params.get("range") : DEFAULT_RANGE;
  return { key };
}

/** span is the range's [from, to] in ms and its step in s: a preset ends
 * now on the daemon's clock; a custom range steps to about 300 points. */
function span(range) {
  if (range.key === "custom") {
    const secs = (range.to - range.from) / 1000;
    const step = Math.max(1, Math.ceil(secs / 300 / (secs >= 86400 ? 300 : 1)) * (secs >= 86400 ? 300 : 1));
    return { from: range.from, to: range.to, step };
  }
  const [, , secs, step] = RANGES.find(([k]) => k === range.key);
  const to = serverNow();
  return { from: to - secs * 1000, to, step };
}

function isoSeconds(ms) {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** localInput is a moment as a datetime-local input shows it. */
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

/** historyPanel shows, under a host (probe null) or one probe, the range
 * picker, the status timeline and a chart of each metric, and keeps them
 * live: new points come over the websocket, status changes reload the
 * timeline. save(q) writes the range into the view's URL. */
function historyPanel(hostName, probe, params, save) {
  let range = rangeOf(params);
  const buttons = RANGES.map(([k, label]) => el("button", { type: "button", "data-range": k, "aria-pressed": "false" }, label));
  const customBtn = el("button", { type: "button", "data-range": "custom", "aria-pressed": "false", "aria-expanded": "false" }, "Custom…");
  const fromIn = el("input", { type: "datetime-local", id: "hist-from", "aria-label": "From" });
  const toIn = el("input", { type: "datetime-local", id: "hist-to", "aria-label": "To" });
  const custom = el("form", { class: "custom", hidden: true },
    el("label", { for: "hist-from" }, "From"), fromIn, el("label", { for: "hist-to" }, "to"), toIn,
    el("button", { type: "submit", class: "primary" }, "Show"), el("span", { class: "muted" }, "(this browser's time)"));
  const msg = el("p", { class: "muted", id: "history-msg", role: "status" });
  const timeline = el("div", { class: "tl", id: "timeline" });
  const charts = el("div", { class: "charts", id: "charts" });
  const node = el("section", { class: "history", "aria-labelledby": "history-h" },
    el("div", { class: "toolbar" }, el("h2", { id: "history-h" }, "History"),
      el("div", { class: "seg", role: "group", "aria-label": "Time range" }, buttons, customBtn)),
    custom, msg, timeline, charts);
  const base = `api/hosts/${encodeURIComponent(hostName)}`;
  let series = [], tl = null, cur = null, figures = new Map(), width = 0, seq = 0, probesKey = null;

  const pressed = () => {
    for (const b of [...buttons, customBtn]) b.setAttribute("aria-pressed", String(b.dataset.range === range.key));
  };
  const probeHref = (p) => `#/host/${encodeURIComponent(hostName)}/${encodeURIComponent(p)}`;
  const levelOf = (p) => {
    const h = [...model.hosts.values()].find((x) => x.name === hostName);
    return h && h.probes[p] ? level(h.probes[p].Status) : "UNKNOWN";
  };
  const drawTimeline = () => {
    if (!tl || !cur || !width) return;
    const rows = probe ? [{ name: probe, intervals: tl.probes[probe] || [] }] :
      [{ name: `${hostName} (host)`, intervals: tl.status }, ...Object.keys(tl.probes).sort().map((p) => ({ name: p, intervals: tl.probes[p] }))];
    timeline.replaceChildren(timelineSVG(rows, cur.from, cur.to, width, timeZone()),
      el("p", { class: "legend muted" }, ["OK", "WARN", "CRIT", "ERROR", "UNKNOWN"].map((l) =>
        el("span", { "data-level": l }, el("i", { "aria-hidden": "true" }), l === "UNKNOWN" ? "nothing heard (stopped, DOWN)" : l)),
        el("span", { class: "zone" }, `times in ${zoneName(timeZone())}`)));
  };
  // drawCharts draws the charts again (of one probe only, when only its
  // points changed), or builds them anew.
  const drawCharts = (rebuild, onlyProbe) => {
    if (!cur || !width) return;
    if (rebuild) {
      figures = new Map();
      charts.replaceChildren(...series.map((s) => {
        const f = chartFigure(s, levelOf(s.probeName));
        figures.set(s, f);
        return f.node;
      }));
      const h = [...model.hosts.values()].find((x) => x.name === hostName);
      if (!series.length && !msg.textContent) msg.textContent = h && h.remote ?
        "No metric in this range. A master keeps the metrics of the hosts it learns only with history { remote_hosts = true }." : "No metric in this range.";
    }
    const w = charts.firstElementChild ? charts.firstElementChild.clientWidth : width;
    for (const [s, f] of figures) {
      if (onlyProbe && s.probeName !== onlyProbe) continue;
      f.node.dataset.level = levelOf(s.probeName);
      f.draw(cur.from, cur.to, Math.max(120, Math.floor(w)), tl && tl.probes[s.probeName]);
    }
  };
  const probesWithMetrics = () => {
    if (probe) return [probe];
    const h = [...model.hosts.values()].find((x) => x.name === hostName);
    return h ? Object.values(h.probes).filter((p) => p.Metrics && p.Metrics.length).map((p) => p.Name).sort() : [];
  };
  async function load() {
    const mine = ++seq;
    cur = span(range);
    pressed();
    const q = new URLSearchParams({ from: isoSeconds(cur.from), to: isoSeconds(cur.to) });
    const mq = new URLSearchParams(q);
    mq.set("step", `${cur.step}s`);
    const names = probesWithMetrics();
    probesKey = names.join("\n");
    const csvOf = (p) => `${base}/probes/${encodeURIComponent(p)}/metrics?${mq}&format=csv`;
    msg.textContent = "Loading…";
    try {
      // A probe gone since (404) has no chart; any other failure is the
      // whole panel's.
      const [t, ...ms] = await Promise.all([api(`${base}/timeline?${q}`), ...names.map((p) => api(`${base}/probes/${encodeURIComponent(p)}/metrics?${mq}`)
        .catch((err) => { if (err.status === 404) return { probe: p, step: cur.step, source: "raw", series: [] }; throw err; }))]);
      if (mine !== seq) return;
      tl = t;
      const tz = timeZone();
      series = ms.flatMap((m) => m.series.map((sr) => ({
        probeName: m.probe, probe: probe ? null : m.probe, href: probeHref(m.probe), name: tagsText(sr.tags), tags: sr.tags, key: tagsKeyOf(sr.tags),
        step: m.step, rollup: m.source !== "raw", tz, points: sr.points, csv: csvOf(m.probe),
      })));
      msg.textContent = "";
      width = timeline.clientWidth;
      drawTimeline();
      drawCharts(true);
      // The store commits points every few seconds: a result newer than
      // the answer's last point is added as if it came live.
      const h = [...model.hosts.values()].find((x) => x.name === hostName);
      for (const p of names) {
        const r = h && h.probes[p];
        if (r && r.Metrics && r.Metrics.length) onMetrics({ Host: hostName, Probe: p, New: r }, r.Timestamp * 1000, true);
      }
    } catch (err) {
      if (mine !== seq) return;
      msg.textContent = err.status === 503 ? "Metric history is not enabled on this instance (history { enabled = true })." : `Cannot load the history: ${err.message}`;
      timeline.replaceChildren();
      charts.replaceChildren();
    }
  }
  // A new result's metrics become points of their series (merged into the
  // last one while in its step), the window slides to now, and only the
  // charts of that probe are drawn again.
  const onMetrics = (e, t, catchUp) => {
    if (e.Host !== hostName || (probe && e.Probe !== probe) || range.key === "custom" || !cur || !Number.isFinite(t)) return;
    // A result the answer holds already, or one dated outside the range
    // (a remote's clock): nothing to add.
    if (catchUp && (t > serverNow() + 60000 || series.some((x) => x.probeName === e.Probe && x.points.length && x.points[x.points.length - 1].t + x.step * 1000 > t))) return;
    const now = span(range);
    let added = false;
    for (const m of e.New.Metrics) {
      if (typeof m.Value !== "number" || !Number.isFinite(m.Value)) continue;
      const key = tagsKeyOf(m.Tags);
      let s = series.find((x) => x.probeName === e.Probe && x.key === key);
      if (!s) {
        if (!probe && !probesWithMetrics().includes(e.Probe)) continue;
        s = { probeName: e.Probe, probe: probe ? null : e.Probe, href: probeHref(e.Probe), name: tagsText(m.Tags), tags: m.Tags || {}, key,
          step: cur.step, rollup: false, tz: timeZone(), points: [], csv: `${base}/probes/${encodeURIComponent(e.Probe)}/metrics?format=csv` };
        series.push(s);
        added = true;
      }
      addPoint(s.points, s.step * 1000, t, m.Value, now.from);
    }
    cur = { ...cur, from: now.from, to: Math.max(now.to, t) };
    if (added) msg.textContent = "";
    // The other charts and the timeline move on with the minute's tick.
    drawCharts(added, added ? null : e.Probe);
  };
  // A status change of this host reloads the timeline, a second later
  // (the store writes the log in batches).
  let tlTimer = null;
  const onStatus = (e) => {
    if (e.Host !== hostName || (probe && e.Probe && e.Probe !== probe)) return;
    clearTimeout(tlTimer);
    tlTimer = setTimeout(async () => {
      if (!cur) return;
      const now = range.key === "custom" ? cur : span(range);
      const mine = seq; // a range picked meanwhile loads its own
      try {
        const t = await api(`${base}/timeline?${new URLSearchParams({ from: isoSeconds(now.from), to: isoSeconds(now.to) })}`);
        if (mine !== seq) return;
        tl = t;
        cur = { ...cur, from: now.from, to: now.to };
        drawTimeline();
        drawCharts(false);
      } catch { /* the next change tries again */ }
    }, 1000);
  };
  for (const b of buttons) {
    b.addEventListener("click", () => {
      range = { key: b.dataset.range };
      custom.hidden = true;
      customBtn.setAttribute("aria-expanded", "false");
      save({ range: range.key === DEFAULT_RANGE ? null : range.key, from: null, to: null });
      load();
    });
  }
  customBtn.addEventListener("click", () => {
    custom.hidden = !custom.hidden;
    customBtn.setAttribute("aria-expanded", String(!custom.hidden));
    if (!custom.hidden) {
      const s = cur || span(range);
      fromIn.value = localInput(s.from);
      toIn.value = localInput(s.to);
      fromIn.focus();
    }
  });
  custom.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const from = new Date(fromIn.value).getTime(), to = new Date(toIn.value).getTime();
    if (!(from < to)) { msg.textContent = "The start must be before the end."; return; }
    range = { key: "custom", from, to };
    save({ range: null, from: isoSeconds(from), to: isoSeconds(to) });
    load();
  });
  const resized = new ResizeObserver(() => {
    const w = timeline.clientWidth;
    if (!w || w === width) return;
    width = w;
    drawTimeline();
    drawCharts(false);
  });
  resized.observe(node);
  metricListeners.add(onMetrics);
  statusListeners.add(onStatus);
  // Once a minute a preset's timeline moves on with the clock.
  const tick = setInterval(() => { if (range.key !== "custom") onStatus({ Host: hostName }); }, 60000);
  let started = false;
  return {
    node,
    /** update loads once the state is known, and again when the host's
     * probes with metrics change. */
    update() {
      if (!model.ready) return;
      if (!started) { started = true; load(); return; }
      if (probesWithMetrics().join("\n") !== probesKey) load();
      else for (const [s, f] of figures) f.node.dataset.level = levelOf(s.probeName);
    },
    unmount() {
      metricListeners.delete(onMetrics);
      statusListeners.delete(onStatus);
      clearTimeout(tlTimer);
      clearInterval(tick);
      resized.disconnect();
    },
  };
}

// ---------------------------------------------------------------- sparklines

// A host card shows its main metric (the first metric of its worst probe
// that has any) over the last SPARK_SPAN seconds, in steps of SPARK_STEP
// (raw points, so the last minutes are there). Each host's is fetched at
// most once per SPARK_TTL ms, SPARK_PARALLEL at a time, then kept live by
// the websocket; above SPARK_MAX_CARDS cards none is drawn, so a wall of
// thousands costs no request.
const SPARK_SPAN = 3 * 3600, SPARK_STEP = 120, SPARK_TTL = 300e3, SPARK_PARALLEL = 4, SPARK_MAX_CARDS = 60;
const SPARK_W = 150, SPARK_H = 30;
// sparks holds each host's sparkline by host name: the series and its
// node, moved from card to card as the cards are drawn again.
const sparks = new Map();
const sparkQueue = [];
let sparkRunning = 0;

function mainMetric(h) {
  for (const p of sortedProbes(h)) if (p.Metrics && p.Metrics.length) return { probe: p, tags: p.Metrics[0].Tags || {} };
  return null;
}

/** sparkFor is the node of h's sparkline, loading it when due; null for
 * a host without metrics. */
function sparkFor(h) {
  const m = mainMetric(h);
  if (!m) return null;
  const key = tagsKeyOf(m.tags);
  let sp = sparks.get(h.name);
  if (!sp || sp.probe !== m.probe.Name || sp.key !== key) {
    sp = { host: h.name, probe: m.probe.Name, key, name: tagsText(m.tags), unit: m.tags.unit || "", points: null, at: 0, queued: false,
      node: el("a", { class: "spark", href: `#/host/${encodeURIComponent(h.name)}/${encodeURIComponent(m.probe.Name)}` }) };
    sparks.set(h.name, sp);
  }
  sp.node.dataset.level = level(m.probe.Status);
  if (Date.now() - sp.at > SPARK_TTL && !sp.queued) {
    sp.queued = true;
    sparkQueue.push(sp);
    pumpSparks();
  }
  return sp.node;
}

function pumpSparks() {
  while (sparkRunning < SPARK_PARALLEL && sparkQueue.length) {
    const sp = sparkQueue.shift();
    sparkRunning++;
    const to = serverNow();
    const q = new URLSearchParams({ from: isoSeconds(to - SPARK_SPAN * 1000), to: isoSeconds(to), step: `${SPARK_STEP}s` });
    api(`api/hosts/${encodeURIComponent(sp.host)}/probes/${encodeURIComponent(sp.probe)}/metrics?${q}`).then((m) => {
      const sr = m.series.find((x) => tagsKeyOf(x.tags) === sp.key);
      sp.points = sr ? sr.points : [];
    }).catch(() => {
      sp.points = []; // no history here (503) or none for it: tried again after SPARK_TTL
    }).finally(() => {
      sp.at = Date.now();
      sp.queued = false;
      sparkRunning--;
      drawSpark(sp);
      pumpSparks();
    });
  }
}

/** drawSpark draws sp's points as a line with the last value beside it. */
function drawSpark(sp) {
  const to = serverNow(), from = to - SPARK_SPAN * 1000;
  const pts = (sp.points || []).filter((p) => p.count > 0 && p.t >= from - SPARK_STEP * 1000);
  // One point is no trend: nothing is drawn until there are two.
  if (pts.length < 2) { sp.node.replaceChildren(); return; }
  let lo = Math.min(...pts.map((p) => p.avg)), hi = Math.max(...pts.map((p) => p.avg));
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const x = (t) => ((t - from) / (to - from)) * (SPARK_W - 4) + 2;
  const y = (v) => 2 + (1 - (v - lo) / (hi - lo)) * (SPARK_H - 4);
  const d = pts.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)} ${y(p.avg).toFixed(1)}`).join("");
  const last = pts[pts.length - 1];
  const what = `${sp.probe}${sp.name === "value" ? "" : " " + sp.name}`;
  sp.node.title = `${what}, the last ${SPARK_SPAN / 3600} h: from ${num(pts[0].avg)} to ${num(last.avg)}${sp.unit ? " " + sp.unit : ""}`;
  sp.node.replaceChildren(el("span", { class: "sname" }, what),
    svg("svg", { width: SPARK_W, height: SPARK_H, viewBox: `0 0 ${SPARK_W} ${SPARK_H}`, "data-points": pts.length, "aria-hidden": "true" }, svg("path", { class: "line", d })),
    el("strong", {}, `${num(last.avg)}${sp.unit ? " " + sp.unit : ""}`));
}

metricListeners.add((e, t) => {
  const sp = sparks.get(e.Host);
  if (!sp || !sp.points || e.Probe !== sp.probe || !Number.isFinite(t)) return;
  const m = e.New.Metrics.find((x) => tagsKeyOf(x.Tags) === sp.key);
  if (!m || typeof m.Value !== "number" || !Number.isFinite(m.Value)) return;
  addPoint(sp.points, SPARK_STEP * 1000, t, m.Value, serverNow() - SPARK_SPAN * 1000);
  drawSpark(sp);
});

// ---------------------------------------------------------------- API helper

/** api fetches a JSON route; a non-2xx answer throws an Error carrying
 * the status and the API's own sentence. */
async function api(path, opts) {
  // Resolved against the origin rather than the page's URL: a page opened
  // as http://user:pw@host/ has a base URL fetch refuses to use, while the
  // browser already holds those credentials for the origin.
  const url = new URL(path, location.origin + location.pathname);
  const r = await fetch(url, { headers: { Accept: "application/json", "X-Wigo-Request": "dashboard" }, ...opts });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const err = new Error((body && body.error) || `${r.status} ${r.statusText}`);
    err.status = r.status;
    throw err;
  }
  return body;
}

// ---------------------------------------------------------------- logs

function logsView(main, _parts, params) {
  const limitDefault = 50;
  const f = { host: params.get("host") || "", group: params.get("group") || "", probe: params.get("probe") || "" };
  let offset = Number(params.get("offset")) || 0;
  let limit = Number(params.get("limit")) || limitDefault;
  const wanted = (params.get("level") || "").toUpperCase();
  let lvl = LEVELS.includes(wanted) ? wanted : "";
  let exact = params.get("level_exact") === "1";
  let tz = params.get("tz") === "local" || params.get("tz") === "utc" ? params.get("tz") : timeZone();
  const sel = (id, label) => {
    const s = el("select", { id }, el("option", { value: "" }, "any"));
    if (f[id]) s.append(el("option", { value: f[id] }, f[id]));
    s.value = f[id];
    s.addEventListener("change", () => { f[id] = s.value; offset = 0; load(); });
    return [el("label", { for: id }, label), s];
  };
  const selects = { host: sel("host", "Host"), group: sel("group", "Group"), probe: sel("probe", "Probe") };
  // A label stays on the line of its control when the toolbar wraps.
  const pair = (...nodes) => el("span", { class: "pair" }, nodes);
  const levelSel = el("select", { id: "level" }, el("option", { value: "" }, "any"), LEVELS.map((l) => el("option", { value: l }, l)));
  levelSel.value = lvl;
  levelSel.addEventListener("change", () => { lvl = levelSel.value; offset = 0; load(); });
  const exactSel = el("select", { id: "level-exact", "aria-label": "Level match" }, el("option", { value: "0" }, "or worse"), el("option", { value: "1" }, "only"));
  exactSel.value = exact ? "1" : "0";
  exactSel.addEventListener("change", () => { exact = exactSel.value === "1"; offset = 0; load(); });
  const search = el("input", { type: "search", id: "log-q", placeholder: "message, host or probe", autocomplete: "off", value: params.get("q") || "" });
  let typing = null;
  search.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(() => { offset = 0; load(); }, 250); });
  const tzButton = el("button", { type: "button", id: "tz-toggle", title: "Show times in UTC or in this browser's zone" });
  const tzLabel = () => { tzButton.textContent = tz === "utc" ? "Times: UTC" : `Times: local (${Intl.DateTimeFormat().resolvedOptions().timeZone})`; };
  tzLabel();
  tzButton.addEventListener("click", () => {
    tz = tz === "utc" ? "local" : "utc";
    localStorage.setItem("wigo.tz", tz);
    tzLabel();
    for (const t of tbody.querySelectorAll("time[data-tz]")) t.replaceWith(stamp(Date.parse(t.getAttribute("datetime")) / 1000, tz));
    save();
  });
  const limitSel = el("select", { id: "limit" }, [25, 50, 100, 200, 500].map((n) => el("option", { value: n, selected: n === limit || null }, n)));
  limitSel.addEventListener("change", () => { limit = Number(limitSel.value); offset = 0; load(); });
  // The period: a recent span (period=24h, from now at each load) or, from
  // a link, an exact range (since, until: RFC 3339).
  let period = LOG_PERIODS.some(([v]) => v === params.get("period")) ? params.get("period") : "";
  let range = { since: params.get("since") || "", until: params.get("until") || "" };
  const periodSel = el("select", { id: "period" }, LOG_PERIODS.map(([v, label]) => el("option", { value: v }, label)),
    range.since || range.until ? el("option", { value: "range" }, `${range.since ? "from " + range.since : ""} ${range.until ? "until " + range.until : ""}`.trim()) : null);
  periodSel.value = range.since || range.until ? "range" : period;
  periodSel.addEventListener("change", () => {
    if (periodSel.value !== "range") { period = periodSel.value; range = { since: "", until: "" }; }
    offset = 0;
    load();
  });
  const status = el("p", { class: "muted", role: "status", "aria-live": "polite" });
  const tbody = el("tbody");
  const prev = el("button", { type: "button", onclick: () => { offset = Math.max(0, offset - limit); load(); } }, "← Newer");
  const next = el("button", { type: "button", onclick: () => { offset += limit; load(); } }, "Older →");
  const pageInfo = el("span", { class: "muted" });
  main.append(
    el("h1", {}, "Log"),
    el("div", { class: "toolbar" }, el("label", { for: "log-q" }, "Search"), search,
      pair(el("label", { for: "level" }, "Level"), levelSel, exactSel), pair(el("label", { for: "period" }, "When"), periodSel), tzButton),
    el("div", { class: "toolbar" }, pair(selects.host), pair(selects.group), pair(selects.probe), pair(el("label", { for: "limit" }, "Per page"), limitSel)),
    status,
    el("table", { id: "logs", "aria-label": "Status-change log" },
      el("thead", {}, el("tr", {}, ["Date", "Level", "Host", "Group", "Probe", "Message"].map((c) => el("th", { scope: "col" }, c)))),
      tbody),
    el("div", { class: "pager" }, prev, pageInfo, next));

  const row = (e) => {
    const word = LOG_LEVEL_WORD[e.Level] || "UNKNOWN";
    return el("tr", { "data-level": word, class: e.live ? "live" : null },
      el("td", { class: "num" }, stamp(e.Timestamp, tz)),
      el("td", {}, el("span", { class: "badge", "data-level": word }, word)),
      el("td", {}, e.Host ? el("a", { class: "hname", href: `#/host/${encodeURIComponent(e.Host)}`, title: e.Host }, e.Host) : ""),
      el("td", { "data-label": e.Group ? "group" : "" }, e.Group),
      el("td", { "data-label": e.Probe ? "probe" : "" }, e.Probe),
      el("td", { class: "msg" }, e.HeldBack ? [heldBadge(e.HeldBack), " "] : null, e.Message));
  };

  api("api/logs/indexes").then((ix) => {
    for (const [id, list] of [["host", ix.hosts], ["group", ix.groups], ["probe", ix.probes]]) {
      const s = selects[id][1];
      s.replaceChildren(el("option", { value: "" }, "any"), ...[...new Set([...(list || []), f[id]].filter(Boolean))].sort().map((v) => el("option", { value: v }, v)));
      s.value = f[id];
    }
  }).catch(() => { /* the table load reports the error */ });

  /** query is the API's query for the view's filters, which is also the
   * view's URL (plus tz): a link opens this very page of the log. */
  const query = () => {
    const q = new URLSearchParams({ limit, offset });
    for (const k of ["host", "group", "probe"]) if (f[k]) q.set(k, f[k]);
    if (lvl) q.set("level", lvl.toLowerCase());
    if (lvl && exact) q.set("level_exact", "1");
    if (search.value.trim()) q.set("q", search.value.trim());
    for (const k of ["since", "until"]) if (range[k]) q.set(k, range[k]);
    if (period && !range.since && !range.until) q.set("since", new Date(Date.now() - PERIOD_MS[period]).toISOString().replace(/\.\d+Z$/, "Z"));
    return q;
  };
  const save = () => {
    const q = query();
    if (period && !range.since && !range.until) { q.delete("since"); q.set("period", period); }
    if (tz === "local") q.set("tz", "local");
    history.replaceState(null, "", `#/logs?${q}`);
  };
  let rows = 0;
  let seq = 0;
  async function load() {
    const q = query();
    save();
    status.textContent = "Loading…";
    const mine = ++seq;
    try {
      const list = await api(`api/logs?${q}`);
      if (mine !== seq) return; // a newer search is on its way
      rows = list.length;
      tbody.replaceChildren(...list.map(row));
      status.textContent = list.length ? (q.has("q") ? "Searching: new entries are not added live; search again to see them." : "") : "No log entry matches.";
    } catch (err) {
      if (mine !== seq) return;
      tbody.replaceChildren();
      rows = 0;
      status.textContent = `Cannot load the log: ${err.message}`;
    }
    prev.disabled = offset === 0;
    next.disabled = rows < limit;
    pageInfo.textContent = rows ? `entries ${offset + 1}–${offset + rows}` : "";
  }
  const onLog = (e) => {
    if (offset !== 0 || range.until) return; // older pages and past ranges stay put; the newest page is live
    if ((f.host && f.host !== e.Host) || (f.group && f.group !== e.Group) || (f.probe && f.probe !== e.Probe)) return;
    // The server searches text (its index decides what a word matches):
    // live rows are not guessed at while a search is shown.
    if (search.value.trim()) return;
    if (lvl) {
      const rank = LEVELS.indexOf(LOG_LEVEL_WORD[e.Level]), want = LEVELS.indexOf(lvl);
      if (exact ? rank !== want : rank < want) return;
    }
    tbody.prepend(row(e));
    while (tbody.children.length > limit) tbody.lastElementChild.remove();
    rows = tbody.children.length;
    pageInfo.textContent = `entries 1–${rows}`;
    status.textContent = "";
  };
  logListeners.add(onLog);
  load();
  return { unmount: () => { logListeners.delete(onLog); clearTimeout(typing); } };
}

// ---------------------------------------------------------------- held back

// recentHeld keeps the held-back rows of the last RECENT_MS, newest first:
// the store writes rows in batches, so a page loaded right after a change
// may not find it in the answer yet.
const RECENT_MS = 5000;
const recentHeld = [];
logListeners.add((e) => {
  if (!e.HeldBack) return;
  recentHeld.unshift({ ...e, seen: Date.now() });
  while (recentHeld.length && (recentHeld.length > 200 || recentHeld[recentHeld.length - 1].seen < Date.now() - RECENT_MS)) recentHeld.pop();
});

// Why a change was not notified, as event.Held* names it, in words.
const HELD_REASONS = { silenced: "silenced", acknowledged: "acknowledged", flapping: "flapping", attempts: "soft", dependency: "parent down", quiet_hours: "delayed" };

/** heldBadge names why a change was not notified, in a word (quiet hours
 * put it off for some notify blocks, until they end). */
function heldBadge(reason) {
  const title = reason === "quiet_hours" ? "delayed: sent when the quiet hours end" : "held back: not notified";
  return el("span", { class: "badge reason", "data-reason": reason, title }, (HELD_REASONS[reason] || reason).toUpperCase());
}

/** heldView lists what the core's decisions held back across the fleet
 * (GET /api/held), newest first, with the reason; a held-back change that
 * arrives over the websocket is prepended to the newest page. */
function heldView(main, _parts, params) {
  const limit = 50;
  let offset = Number(params.get("offset")) || 0;
  let reason = params.get("reason") || "";
  const reasonSel = el("select", { id: "held-reason" }, el("option", { value: "" }, "any"),
    Object.entries(HELD_REASONS).map(([v, w]) => el("option", { value: v }, w)));
  reasonSel.value = reason;
  reasonSel.addEventListener("change", () => { reason = reasonSel.value; offset = 0; load(); });
  const status = el("p", { class: "muted", role: "status", "aria-live": "polite" });
  const tbody = el("tbody");
  const prev = el("button", { type: "button", onclick: () => { offset = Math.max(0, offset - limit); load(); } }, "← Newer");
  const next = el("button", { type: "button", onclick: () => { offset += limit; load(); } }, "Older →");
  main.append(
    el("h1", {}, "Held back"),
    el("p", { class: "muted" }, "Changes that were logged but not notified, and why. Silences and acknowledgements are set from the host and probe views."),
    el("div", { class: "toolbar" }, el("label", { for: "held-reason" }, "Reason"), reasonSel),
    status,
    el("table", { id: "held", "aria-label": "Changes held back" },
      el("thead", {}, el("tr", {}, ["Time", "Reason", "Host", "Probe", "Message"].map((c) => el("th", { scope: "col" }, c)))),
      tbody),
    el("div", { class: "pager" }, prev, next));

  const row = (e) => {
    const word = LOG_LEVEL_WORD[e.Level] || "UNKNOWN";
    return el("tr", { class: "held" + (e.live ? " live" : ""), "data-reason": e.HeldBack, "data-level": word },
      el("td", { class: "num" }, stamp(e.Timestamp, timeZone()), el("br"), age(e.Timestamp)),
      el("td", { class: "tight" }, heldBadge(e.HeldBack)),
      el("td", { class: "tight" }, e.Host ? el("a", { class: "hname", href: `#/host/${encodeURIComponent(e.Host)}`, title: e.Host }, e.Host) : ""),
      el("td", { class: "tight" }, e.Probe || el("span", { class: "muted" }, "(host)")),
      el("td", { class: "msg" }, el("span", { class: "badge", "data-level": word }, word), " ", e.Message));
  };
  let rows = 0;
  const same = (a, b) => a.Timestamp === b.Timestamp && a.Host === b.Host && a.Probe === b.Probe && a.Message === b.Message;
  const empty = () => { status.textContent = rows ? "" : reason ? `Nothing held back as ${reason}.` : "Nothing held back: every change was notified."; };
  async function load() {
    const q = new URLSearchParams({ limit, offset });
    if (reason) q.set("reason", reason);
    history.replaceState(null, "", `#/held?${q}`);
    status.textContent = "Loading…";
    try {
      const list = await api(`api/held?${q}`);
      const missed = offset === 0 ? recentHeld.filter((e) => e.seen >= Date.now() - RECENT_MS && (!reason || reason === e.HeldBack) && !list.some((x) => same(x, e))) : [];
      const all = [...missed, ...list].slice(0, limit);
      rows = all.length;
      tbody.replaceChildren(...all.map(row));
      empty();
    } catch (err) {
      tbody.replaceChildren();
      rows = 0;
      status.textContent = `Cannot load what was held back: ${err.message}`;
    }
    prev.disabled = offset === 0;
    next.disabled = rows < limit;
  }
  const onLog = (e) => {
    if (!e.HeldBack || offset !== 0 || (reason && reason !== e.HeldBack)) return;
    tbody.prepend(row(e));
    while (tbody.children.length > limit) tbody.lastElementChild.remove();
    rows = tbody.children.length;
    empty();
  };
  logListeners.add(onLog);
  load();
  return { unmount: () => logListeners.delete(onLog) };
}

// ---------------------------------------------------------------- authority

function authorityView(main) {
  const msg = el("div", { role: "alert" });
  const area = el("div");
  main.append(el("h1", {}, "Push-client authority"), msg, area);
  // clients (from a push server that describes them) adds, under each
  // UUID, what the operator checks before approving: where the client
  // connected from, since when, and its key's fingerprint; for an allowed
  // client, whether it may relay the hosts under it.
  const facts = (c) => {
    if (!c) return null;
    const items = [];
    if (c.remote) items.push(el("li", { "data-fact": "remote" }, "from ", el("code", {}, c.remote)));
    if (c.first_seen) {
      const d = new Date(c.first_seen);
      items.push(el("li", { "data-fact": "first-seen" }, "first seen ", age(Math.floor(d.getTime() / 1000))));
    }
    items.push(el("li", { "data-fact": "key" }, "key ", c.key_fingerprint ? el("code", {}, c.key_fingerprint) : el("span", { class: "muted" }, "none (approved before client keys)")));
    if (c.relay !== undefined && !c.remote) items.push(el("li", { "data-fact": "relay" }, c.relay ? "relay: reports the hosts under it" : "not a relay: reports its own host only"));
    if (c.pending) items.push(el("li", { "data-fact": "pending" }, "signature not yet collected"));
    if (c.unrelayed_hosts) items.push(el("li", { "data-fact": "unrelayed", class: "warn" },
      `carries ${c.unrelayed_hosts} host${c.unrelayed_hosts === 1 ? "" : "s"} it may not relay: dropped`));
    return el("ul", { class: "facts" }, items);
  };
  const list = (title, map, action, clients) => {
    const ids = Object.keys(map || {}).sort((a, b) => map[a].localeCompare(map[b]) || a.localeCompare(b));
    const info = new Map((clients || []).map((c) => [c.uuid, c]));
    const button = (what, id, label, cls) => operator(el("button", {
      type: "button", class: cls, "data-key": `${what}/${id}`,
      "aria-label": `${label} ${map[id] || id}`,
      onclick: (ev) => act(what, id, map[id], ev.target),
    }, label));
    return el("section", { "aria-labelledby": `auth-${action}` },
      el("h2", { id: `auth-${action}` }, title, el("span", { class: "muted" }, `(${ids.length})`)),
      ids.length === 0 ? el("p", { class: "muted" }, "None.") :
        el("table", { id: `auth-${action === "allow" ? "waiting" : "allowed"}` },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Host"), el("th", { scope: "col" }, "UUID"), el("th", { scope: "col" }, "Action"))),
          el("tbody", {}, ids.map((id) => {
            const c = info.get(id);
            return el("tr", { "data-uuid": id },
              el("th", { scope: "row" }, map[id] || "(unnamed)"),
              el("td", { class: "msg" }, el("code", {}, id), facts(c)),
              el("td", {}, el("div", { class: "actions" },
                action === "allow" ? button("allow", id, "Approve", "primary") : button("revoke", id, "Revoke", "danger"),
                c && action === "revoke" ? (c.relay ? button("unrelay", id, "Withdraw relay") : button("relay", id, "Grant relay")) : null)));
          }))));
  };
  const ACTIONS = {
    allow: { path: "allow", done: "Approved", verb: "approve" },
    revoke: { path: "revoke", done: "Revoked", verb: "revoke" },
    relay: { path: "relay", done: "Granted relay to", verb: "grant relay to" },
    unrelay: { path: "relay?relay=0", done: "Withdrew relay from", verb: "withdraw relay from" },
  };
  async function act(action, id, name, button) {
    const a = ACTIONS[action];
    button.disabled = true;
    try {
      await api(`api/authority/hosts/${encodeURIComponent(id)}/${a.path}`, { method: "POST" });
      msg.replaceChildren(el("p", { class: "banner note" }, `${a.done} ${name || id}.`));
    } catch (err) {
      msg.replaceChildren(el("p", { class: "banner bad" }, err.status === 503 ?
        "The push server is not enabled on this instance: there are no push clients to approve." :
        `Could not ${a.verb} ${name || id}: ${err.message}`));
    }
    load();
  }
  async function load() {
    try {
      const a = await api("api/authority/hosts");
      render(area, list("Waiting for approval", a.waiting, "allow", a.waiting_clients),
        list("Allowed", a.allowed, "revoke", a.allowed_clients));
    } catch (err) {
      area.replaceChildren(el("p", { class: err.status === 503 ? "banner note" : "banner bad", id: "authority-error" },
        err.status === 503 ? "The push server is not enabled on this instance, so no push client can ask to join. Enable a transport \"push\" block with the server role to use this view." :
          `Cannot load the authority: ${err.message}`));
    }
  }
  load();
  // No authority events exist yet: poll while the view is open.
  const t = setInterval(load, 5000);
  return { unmount: () => clearInterval(t) };
}

// ---------------------------------------------------------------- plugins

// Plugin states and outbox row states as badges: the word is always shown,
// the colour (a status level's palette) only repeats it.
const PLUGIN_STATE_LEVEL = { starting: "INFO", running: "OK", restarting: "WARN", failed: "CRIT" };
const OUTBOX_STATE_LEVEL = { pending: "INFO", held: "UNKNOWN", dead: "CRIT" };
// A notifier's delivery state, as the core reports it (notify.Delivery*).
const DELIVERY_LEVEL = { healthy: "OK", degraded: "WARN", failing: "CRIT" };

/** deliveryCell says how a notifier's deliveries go: its state, failures
 * in a row with the last error, last success, and its rows waiting. */
function deliveryCell(d) {
  if (!d) return el("td", { class: "tight" }, el("span", { class: "muted" }, "—"));
  const at = (t) => (t ? when(t) : el("span", { class: "muted" }, "never"));
  return el("td", { class: "delivery", "data-delivery": d.state },
    stateBadge(d.state, DELIVERY_LEVEL),
    el("ul", { class: "facts" },
      d.consecutive_failures ? el("li", { "data-fact": "failures" }, `${d.consecutive_failures} failed in a row, last `, at(d.last_failure), ": ",
        el("span", { class: "err" }, d.last_error || "")) : null,
      d.last_success || d.last_failure ? el("li", { "data-fact": "success" }, "last delivered ", at(d.last_success)) :
        el("li", { "data-fact": "success" }, "no delivery attempted since start"),
      el("li", { "data-fact": "rows" }, `${d.pending} pending · ${d.dead} dead`)));
}

function stateBadge(word, levels, extra) {
  return el("span", { class: "badge", "data-level": levels[word] || "UNKNOWN", ...extra }, word || "unknown");
}

/** rel says how far a moment (ms since the epoch) is from now, either way:
 * "in 4 s", "12 s ago". */
function rel(ms) {
  const s = Math.round((ms - Date.now()) / 1000);
  if (s <= 0) return ago(ms / 1000);
  if (s < 90) return `in ${s} s`;
  if (s < 5400) return `in ${Math.round(s / 60)} min`;
  return `in ${Math.round(s / 3600)} h`;
}

/** when is a <time> for an RFC 3339 date from the API, kept current by the
 * ticker; "now" replaces a due time that has passed (the row is being
 * sent), "never" a zero time. */
function when(iso, duePast) {
  const ms = Date.parse(iso);
  if (!iso || Number.isNaN(ms) || ms <= 0) return el("span", { class: "muted" }, "never");
  return el("time", { "data-at": ms, "data-due": duePast ? "1" : null, datetime: iso, title: new Date(ms).toLocaleString() }, relDue(ms, duePast));
}

function relDue(ms, duePast) {
  return duePast && ms <= Date.now() ? "now" : rel(ms);
}

setInterval(() => {
  for (const t of document.querySelectorAll("time[data-at]")) {
    const v = relDue(Number(t.dataset.at), t.dataset.due === "1");
    if (t.textContent !== v) t.textContent = v;
  }
}, 1000);

function pluginsTable(list) {
  if (list.length === 0) {
    return el("p", { class: "banner note", id: "plugins-empty" },
      "No plugin is configured on this instance. Add a notify block (for example ", el("code", {}, 'notify "http" { url = "…" }'),
      ") to the configuration and restart the daemon.");
  }
  return el("table", { id: "plugins", "aria-label": "Plugin instances" },
    el("thead", {}, el("tr", {}, ["Instance", "State", "Delivery", "Kind", "Plugin", "Version", "Restarts", "Since", "Last error"].map((c) => el("th", { scope: "col" }, c)))),
    el("tbody", {}, list.map((p) => {
      const since = Date.parse(p.since);
      return el("tr", { "data-instance": p.instance, "data-kind": p.kind, "data-state": p.state, "data-level": PLUGIN_STATE_LEVEL[p.state] || "UNKNOWN", class: "plugin" },
        el("th", { scope: "row" }, p.instance),
        el("td", { class: "tight" }, stateBadge(p.state, PLUGIN_STATE_LEVEL)),
        deliveryCell(p.delivery),
        el("td", { class: "tight" }, p.kind),
        el("td", { class: "tight" }, el("code", {}, p.plugin)),
        el("td", { class: "tight" }, p.version || el("span", { class: "muted" }, "—")),
        el("td", { class: "num tight restarts" }, String(p.restarts ?? 0)),
        el("td", { class: "num tight" }, since > 0 ? age(since / 1000) : "—"),
        el("td", { class: "msg err" }, p.last_error || el("span", { class: "muted" }, "none")));
    })));
}

/** outboxCounts shows the rows per state. The list answer gives exact
 * totals for "all waiting" and "dead"; pending and held are told apart
 * from the rows themselves, so only when the page holds every waiting row. */
function outboxCounts(all, dead) {
  const waiting = all.Notifications.filter((n) => n.State !== "dead");
  const waitingTotal = Math.max(0, all.Total - dead.Total);
  const complete = all.Total <= all.Offset + all.Notifications.length;
  const item = (state, n, word) => el("li", { "data-state": state, class: n === 0 ? "zero" : null },
    stateBadge(state, OUTBOX_STATE_LEVEL, word ? { title: word } : {}), el("strong", { "data-count": state }, n), word ? el("span", { class: "muted" }, word) : null);
  const items = complete ?
    [item("pending", waiting.filter((n) => n.State === "pending").length),
      item("held", waiting.filter((n) => n.State === "held").length)] :
    [item("pending", waitingTotal, "pending or held")];
  items.push(item("dead", dead.Total));
  return el("ul", { class: "counts", id: "outbox-counts", "aria-label": "Notifications per state" }, items);
}

function payloadOf(n) {
  return n.Notification && typeof n.Notification === "object" ? n.Notification : {};
}

function outboxRow(n, retry) {
  const p = payloadOf(n);
  const dead = n.State === "dead";
  return el("tr", { "data-id": n.Id, "data-state": n.State, "data-instance": n.Instance, "data-level": OUTBOX_STATE_LEVEL[n.State] || "UNKNOWN", class: "outbox" },
    el("td", { class: "num tight" }, String(n.Id)),
    el("th", { scope: "row" }, n.Instance, n.FallbackFor ? el("span", { class: "muted" }, ` (fallback for ${n.FallbackFor})`) : null),
    el("td", { class: "tight" }, n.Host ? el("a", { href: `#/host/${encodeURIComponent(n.Host)}` }, n.Host) : ""),
    el("td", { class: "tight" }, stateBadge(n.State, OUTBOX_STATE_LEVEL)),
    el("td", { class: "msg", title: p.EventId ? `event ${p.EventId}` : null }, p.Message || el("span", { class: "muted" }, "(no message)")),
    el("td", { class: "num tight attempts" }, String(n.Attempts)),
    el("td", { class: "num tight" }, dead ? when(n.Updated) : n.State === "held" ? el("span", { class: "muted" }, `when ${n.FallbackFor || "its primary"} fails`) : when(n.NextAttempt, true)),
    el("td", { class: "msg err" }, n.LastError || el("span", { class: "muted" }, "none")),
    dead ? el("td", { class: "tight" }, operator(el("button", {
      type: "button", class: "primary", "data-key": `retry/${n.Id}`,
      "aria-label": `Retry notification ${n.Id} to ${n.Instance}${n.Host ? " for " + n.Host : ""}`,
      onclick: (ev) => retry(n, ev.target),
    }, "Retry"))) : null);
}

/** outboxTable lists dead letters (with a Retry button each) or the rows
 * waiting for delivery. */
function outboxTable(id, label, rows, total, retry, empty, dead) {
  if (rows.length === 0) return el("p", { class: "muted", id: `${id}-empty` }, empty);
  const cols = ["#", "Instance", "Host", "State", "Message", "Attempts", dead ? "Failed" : "Next attempt", "Last error"];
  if (dead) cols.push("Action");
  return [
    el("table", { id, "aria-label": label },
      el("thead", {}, el("tr", {}, cols.map((c) => el("th", { scope: "col" }, c)))),
      el("tbody", {}, rows.map((n) => outboxRow(n, retry)))),
    total > rows.length ? el("p", { class: "muted" }, `Showing the oldest ${rows.length} of ${total}.`) : null,
  ];
}

// The outbox lists are paged by the API; the view shows the oldest rows
// (what is stuck longest) up to this many per list.
const OUTBOX_PAGE = 200;
// REFRESH_MS is how often the view polls the plugins and the outbox.
const REFRESH_MS = 3000;

function pluginsView(main) {
  const msg = el("div", { role: "alert", id: "plugins-msg" });
  const pluginsArea = el("div", { id: "plugins-area" }, el("p", { class: "muted" }, "Loading…"));
  const outboxArea = el("div", { id: "outbox-area" }, el("p", { class: "muted" }, "Loading…"));
  const updated = el("p", { class: "muted", id: "plugins-updated", "aria-live": "off" });
  main.append(
    el("h1", {}, "Plugins and notifications"),
    msg,
    el("section", { "aria-labelledby": "plugins-h" }, el("h2", { id: "plugins-h" }, "Plugin instances"), pluginsArea),
    el("section", { "aria-labelledby": "outbox-h" }, el("h2", { id: "outbox-h" }, "Notification outbox"), outboxArea),
    updated);

  async function retry(n, button) {
    button.disabled = true;
    try {
      await api(`api/notifications/${encodeURIComponent(n.Id)}/retry`, { method: "POST" });
      msg.replaceChildren(el("p", { class: "banner note" }, `Notification ${n.Id} to ${n.Instance} is queued again.`));
    } catch (err) {
      msg.replaceChildren(el("p", { class: "banner bad" }, `Could not retry notification ${n.Id}: ${err.message}`));
    }
    load();
  }

  async function loadPlugins() {
    try {
      render(pluginsArea, pluginsTable(await api("api/plugins")));
    } catch (err) {
      pluginsArea.replaceChildren(el("p", { class: err.status === 404 ? "banner note" : "banner bad", id: "plugins-error" },
        err.status === 404 ? "No plugin host on this instance." : `Cannot load the plugins: ${err.message}`));
    }
  }

  async function loadOutbox() {
    try {
      const [all, dead] = await Promise.all([api(`api/notifications?limit=${OUTBOX_PAGE}`), api(`api/notifications/dead?limit=${OUTBOX_PAGE}`)]);
      const waiting = all.Notifications.filter((n) => n.State !== "dead");
      render(outboxArea, ...[
        outboxCounts(all, dead),
        el("h3", {}, "Dead letters"),
        outboxTable("outbox-dead", "Dead letters", dead.Notifications, dead.Total, retry, "No dead letter.", true),
        el("h3", {}, "Waiting for delivery"),
        outboxTable("outbox-waiting", "Notifications waiting for delivery", waiting, Math.max(0, all.Total - dead.Total), retry, "Nothing waiting: every notification was delivered.", false),
      ].flat().filter(Boolean));
    } catch (err) {
      outboxArea.replaceChildren(el("p", { class: err.status === 404 ? "banner note" : "banner bad", id: "outbox-error" },
        err.status === 404 ? "No notification outbox on this instance." : `Cannot load the outbox: ${err.message}`));
    }
  }

  // One load at a time: a slow daemon must not pile up requests, and a
  // click during a load asks for one more right after it.
  let loading = null, again = false;
  function load() {
    if (loading) { again = true; return loading; }
    loading = Promise.all([loadPlugins(), loadOutbox()]).finally(() => {
      loading = null;
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshed every ${REFRESH_MS / 1000} s.`;
      if (again) { again = false; load(); }
    });
    return loading;
  }
  load();
  // No plugin or outbox events reach the websocket yet: poll while the
  // view is open.
  const t = setInterval(load, REFRESH_MS);
  return { unmount: () => clearInterval(t) };
}

function notFoundView(main) {
  main.append(el("h1", {}, "Not found"), el("p", {}, "No such view. ", el("a", { href: "#/hosts" }, "Back to the hosts")));
}

// ---------------------------------------------------------------- start

route();
connect();
whoami();
cluster();
setInterval(cluster, CLUSTER_MS);
