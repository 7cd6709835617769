// The dispatcher's planning board: technicians by time, unassigned work, a map, live updates.
// Our own code only: no libraries, nothing loaded from elsewhere (works offline).
import { api, ApiError, el, isoDay, pageData, shiftDay, signIn, signOut, token } from "./api.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const MINUTE = 60_000;
const SNAP = 5 * MINUTE;

const state = {
  day: pageData().day || isoDay(new Date()),
  data: null,
  unassigned: [],
  selected: null, // visit id
  highlight: null, // technician id
  run: null,
  events: null, // AbortController of the event stream
  reloadTimer: null,
};

// ---------------------------------------------------------------------------------------------
// formatting

function timeFmt() {
  return new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: state.data.timezone,
  });
}

function hm(iso) {
  return timeFmt().format(new Date(iso));
}

function duration(seconds) {
  const m = Math.round(seconds / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")}` : `${m} min`;
}

function km(meters) {
  return `${new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }).format(meters / 1000)} km`;
}

function toast(message, kind = "info") {
  const box = $("toast");
  const item = el("p", { class: `toast-item toast-${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// ---------------------------------------------------------------------------------------------
// signing in

function showLogin(message = "") {
  stopEvents();
  $("board").hidden = true;
  $("login").hidden = false;
  $("sign-out").hidden = true;
  $("optimize").disabled = true;
  $("login-error").textContent = message;
  $("token").focus();
}

function showBoard() {
  $("login").hidden = true;
  $("board").hidden = false;
  $("sign-out").hidden = false;
  $("optimize").disabled = false;
}

function failed(err) {
  if (err instanceof ApiError && err.status === 401) {
    showLogin("Your token was refused; sign in again.");
    return true;
  }
  toast(err.message, "error");
  return false;
}

// ---------------------------------------------------------------------------------------------
// loading

function unassignedQuery() {
  const q = new URLSearchParams();
  const priority = $("f-priority").value;
  if (priority) q.append("priority", priority);
  if ($("f-skill").value) q.set("skill", $("f-skill").value);
  if ($("f-zone").value) q.set("zone", $("f-zone").value);
  const sla = $("f-sla").value;
  if (sla && state.data) {
    const endOfDay = new Date(state.data.axis.end);
    const due = { overdue: new Date(), day: endOfDay, "2days": new Date(Date.now() + 2 * 86_400_000) }[sla];
    q.set("due_before", due.toISOString());
  }
  return q.toString();
}

async function load() {
  if (!token()) return showLogin();
  showBoard();
  try {
    state.data = await api(`/board/data?date=${encodeURIComponent(state.day)}`);
    fillFilters();
    state.unassigned = await api(`/board/unassigned?${unassignedQuery()}`);
    render();
    document.body.dataset.loadedDay = state.day;
    if (!state.events) listen();
  } catch (err) {
    failed(err);
  }
}

async function loadUnassigned() {
  try {
    state.unassigned = await api(`/board/unassigned?${unassignedQuery()}`);
    renderUnassigned();
    renderMap();
  } catch (err) {
    failed(err);
  }
}

function reloadSoon() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(load, 250);
}

function fillFilters() {
  const fill = (id, options) => {
    const select = $(id);
    if (select.options.length > 1) return;
    for (const o of options) select.append(el("option", { value: o.code }, o.name === o.code ? o.code : `${o.name} (${o.code})`));
  };
  fill("f-priority", state.data.priorities.map((p) => ({ code: p, name: p })));
  fill("f-skill", state.data.skills);
  fill("f-zone", state.data.zones);
}

// ---------------------------------------------------------------------------------------------
// rendering

function render() {
  renderKpis();
  renderTimeline();
  renderUnassigned();
  renderMap();
  renderDetails();
}

function renderKpis() {
  const k = state.data.kpis;
  const item = (label, value, warn = false) => [
    el("dt", {}, label), el("dd", { class: warn ? "warn" : "" }, value)];
  $("kpis").replaceChildren(
    ...item("Technicians", `${k.working_technicians}/${k.technicians}`),
    ...item("Visits", `${k.visits} · ${k.visits_done} done`),
    ...item("Unassigned", k.unassigned, k.unassigned > 0),
    ...item("Travel", `${duration(k.travel_seconds)} · ${km(k.travel_meters)}`),
    ...item("Utilisation", `${Math.round(k.utilisation * 100)} %`),
    ...item("SLA breaches", k.sla_breaches, k.sla_breaches > 0),
    ...item("Late", k.late_technicians, k.late_technicians > 0),
  );
}

function axis() {
  const start = Date.parse(state.data.axis.start);
  const end = Date.parse(state.data.axis.end);
  return { start, end, span: end - start };
}

function pct(iso) {
  const a = axis();
  return ((Date.parse(iso) - a.start) / a.span) * 100;
}

function place(node, startIso, endIso) {
  const left = Math.max(0, pct(startIso));
  const right = Math.min(100, pct(endIso));
  node.style.left = `${left}%`;
  node.style.width = `${Math.max(0.15, right - left)}%`;
  return node;
}

function renderTimeline() {
  const a = axis();
  const hours = Math.round(a.span / 3_600_000);
  document.documentElement.style.setProperty("--hours", hours);
  const ticks = [];
  for (let h = 0; h < hours; h += 1) {
    ticks.push(el("span", { class: "tick", style: `left:${(h / hours) * 100}%` },
      hm(new Date(a.start + h * 3_600_000).toISOString())));
  }
  $("axis").replaceChildren(...ticks);
  $("rows").replaceChildren(...state.data.technicians.map(row));
  $("no-technicians").hidden = state.data.technicians.length > 0;
}

function row(tech) {
  const lane = el("div", { class: "lane", dataset: { tech: tech.id }, style: `--tech:${tech.color}` });
  for (const s of tech.shift) lane.append(place(el("div", { class: "shift" }), s.start, s.end));
  for (const b of tech.blocks) {
    lane.append(place(el("div", { class: `block block-${b.kind}`, title: `${b.kind} ${hm(b.start)}–${hm(b.end)} ${b.label}`.trim() }), b.start, b.end));
  }
  for (const v of tech.visits) {
    if (v.travel_seconds > 0) {
      lane.append(place(el("div", { class: "travel", title: `Travel ${duration(v.travel_seconds)}, ${km(v.travel_meters)}` }), v.travel_start, v.arrival));
    }
    lane.append(place(visitBlock(v, tech), v.planned_start, v.planned_end));
  }
  const label = el("div", { class: "tech-label" },
    el("span", { class: "swatch", style: `background:${tech.color}` }),
    el("span", { class: "tech-name" }, tech.name),
    tech.late ? el("span", { class: "badge badge-late", title: "Some visit is expected late" }, "late") : null,
    tech.holiday ? el("span", { class: "badge" }, tech.holiday) : null,
    !tech.shift.length && !tech.holiday ? el("span", { class: "badge" }, "off") : null,
    el("span", { class: "tech-skills" }, tech.skills.join(" · ")));
  const r = el("div", {
    class: `tech-row${state.highlight === tech.id ? " highlight" : ""}`, dataset: { tech: tech.id },
    onmouseenter: () => setHighlight(tech.id), onmouseleave: () => setHighlight(null),
  }, label, lane);
  return r;
}

function visitBlock(v, tech) {
  const classes = ["visit", `status-${v.status}`];
  if (v.pinned) classes.push("pinned");
  if (v.forced) classes.push("forced");
  if (v.late) classes.push("late");
  if (v.sla_breach) classes.push("sla");
  if (v.status !== "planned") classes.push("locked");
  if (state.selected === v.id) classes.push("selected");
  const title = [
    `${v.order_number} · ${v.customer}`,
    `${hm(v.planned_start)}–${hm(v.planned_end)} (ETA ${hm(v.arrival)})`,
    v.site ? v.site.address : "",
    `Priority ${v.priority}${v.skills.length ? ` · skills ${v.skills.join(", ")}` : ""}`,
    v.pinned ? "Pinned" : "",
    v.forced ? `Forced: ${v.forced_reason}` : "",
    v.late ? `Late (${v.late_reasons.join(", ")}), ${v.delay_minutes} min` : "",
    v.sla_breach ? "Starts after the SLA deadline" : "",
  ].filter(Boolean).join("\n");
  const node = el("div", {
    class: classes.join(" "), title, tabindex: 0, role: "button",
    dataset: { visit: v.id, order: v.order_id },
    style: `--tech:${tech.color}`,
  }, el("span", { class: "seq" }, v.sequence), el("span", { class: "visit-text" }, v.customer));
  node.addEventListener("pointerdown", (ev) => startDrag(ev, { kind: "visit", visit: v, node }));
  node.addEventListener("click", () => select(v.id));
  node.addEventListener("keydown", (ev) => { if (ev.key === "Enter") select(v.id); });
  return node;
}

function findVisit(id) {
  for (const t of state.data.technicians) {
    const v = t.visits.find((x) => x.id === id);
    if (v) return { visit: v, tech: t };
  }
  return null;
}

function techName(id) {
  const t = state.data && state.data.technicians.find((x) => x.id === id);
  return t ? t.name : `#${id}`;
}

function select(id) {
  state.selected = state.selected === id ? null : id;
  document.querySelectorAll(".visit.selected").forEach((n) => n.classList.remove("selected"));
  if (state.selected) document.querySelector(`.visit[data-visit="${id}"]`)?.classList.add("selected");
  renderDetails();
}

function renderDetails() {
  const box = $("details");
  const found = state.selected && findVisit(state.selected);
  if (!found) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const { visit: v, tech } = found;
  const rows = [
    ["Technician", tech.name],
    ["Service", `${hm(v.planned_start)}–${hm(v.planned_end)}`],
    ["ETA", hm(v.arrival)],
    ["Travel", `${duration(v.travel_seconds)}, ${km(v.travel_meters)}`],
    ["Site", v.site ? `${v.site.name}, ${v.site.address}` : "–"],
    ["Priority", v.priority],
    ["SLA due", v.response_due_at ? `${new Date(v.response_due_at).toLocaleString()}${v.sla_breach ? " (breached)" : ""}` : "–"],
    ["Status", v.status],
  ];
  if (v.forced) rows.push(["Forced", v.forced_reason]);
  if (v.late) rows.push(["Late", `${v.late_reasons.join(", ")} (${v.delay_minutes} min)`]);
  const planned = v.status === "planned";
  box.replaceChildren(
    el("h2", {}, `${v.order_number} · ${v.customer}`),
    el("dl", {}, rows.flatMap(([k, val]) => [el("dt", {}, k), el("dd", {}, val)])),
    el("div", { class: "detail-actions" },
      planned ? el("button", { type: "button", class: "btn", onclick: () => pin(v, !v.pinned) }, v.pinned ? "Unpin" : "Pin") : null,
      planned ? el("button", { type: "button", class: "btn", onclick: () => unassign(v) }, "Unassign") : null,
      el("a", { class: "btn", href: `/technicians/${tech.id}/route/page?date=${state.day}`, target: "_blank", rel: "noopener" }, "Route list"),
      el("button", { type: "button", class: "btn btn-quiet", onclick: () => select(v.id) }, "Close")),
  );
  box.hidden = false;
}

function renderUnassigned() {
  $("unassigned-count").textContent = `(${state.unassigned.length})`;
  $("unassigned").replaceChildren(...state.unassigned.map((o) => {
    const due = o.response_due_at ? Date.parse(o.response_due_at) : null;
    const item = el("li", {
      class: `order priority-${o.priority}${o.overdue ? " overdue" : ""}`,
      dataset: { order: o.order_id }, tabindex: 0,
      title: [o.defect, o.site ? o.site.address : "no site"].filter(Boolean).join("\n"),
    },
    el("div", { class: "order-head" },
      el("span", { class: "order-number" }, o.number),
      el("span", { class: `chip chip-priority-${o.priority}` }, o.priority)),
    el("div", { class: "order-customer" }, o.customer),
    el("div", { class: "order-meta" },
      `${o.estimated_duration_minutes} min`,
      o.zone ? ` · ${o.zone}` : "",
      o.skills.length ? ` · ${o.skills.join(", ")}` : "",
      due ? el("span", { class: o.overdue ? "due overdue" : "due" }, ` · SLA ${new Date(due).toLocaleString()}`) : ""));
    item.addEventListener("pointerdown", (ev) => startDrag(ev, { kind: "order", order: o, node: item }));
    return item;
  }));
}

// ---------------------------------------------------------------------------------------------
// the map: Web Mercator over the site coordinates; tiles only when configured

function mercator(p) {
  const x = (p.lon + 180) / 360;
  const s = Math.sin((p.lat * Math.PI) / 180);
  const y = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  return [x, y];
}

function renderMap() {
  const map = $("map");
  const W = 400;
  const H = 300;
  const points = [];
  const routes = [];
  for (const t of state.data.technicians) {
    const stops = t.visits.filter((v) => v.site && v.site.location).sort((a, b) => a.sequence - b.sequence);
    if (!stops.length) continue;
    const line = [];
    if (t.home) line.push(mercator(t.home));
    for (const v of stops) line.push(mercator(v.site.location));
    if (t.home) line.push(mercator(t.home));
    routes.push({ tech: t, line, stops });
    points.push(...line);
  }
  const open = state.unassigned.filter((o) => o.site && o.site.location);
  for (const o of open) points.push(mercator(o.site.location));
  map.replaceChildren();
  if (!points.length) {
    map.append(svg("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "map-empty" }, "Nothing to show on the map"));
    return;
  }
  let [x0, y0] = points[0];
  let [x1, y1] = points[0];
  for (const [x, y] of points) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const pad = 0.08;
  const dx = Math.max(x1 - x0, 1e-4);
  const dy = Math.max(y1 - y0, 1e-4);
  const scale = Math.min((W * (1 - 2 * pad)) / dx, (H * (1 - 2 * pad)) / dy);
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const px = ([x, y]) => [W / 2 + (x - cx) * scale, H / 2 + (y - cy) * scale];

  if (state.data.tile_url) drawTiles(map, scale, cx, cy, W, H);
  for (const r of routes) {
    const pts = r.line.map(px).map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    const dim = state.highlight && state.highlight !== r.tech.id;
    const g = svg("g", { class: `route${dim ? " dim" : ""}`, "data-tech": r.tech.id });
    g.append(svg("title", {}, r.tech.name));
    g.append(svg("polyline", { points: pts, fill: "none", stroke: r.tech.color, "stroke-width": 2.5, "stroke-linejoin": "round" }));
    if (r.tech.home) {
      const [hx, hy] = px(mercator(r.tech.home));
      g.append(svg("rect", { x: hx - 4, y: hy - 4, width: 8, height: 8, fill: "#fff", stroke: r.tech.color, "stroke-width": 2 }));
    }
    for (const v of r.stops) {
      const [x, y] = px(mercator(v.site.location));
      const stop = svg("g", { class: "stop", "data-visit": v.id });
      stop.append(svg("circle", { cx: x, cy: y, r: 7, fill: r.tech.color, stroke: "#fff", "stroke-width": 1.5 }));
      stop.append(svg("text", { x, y: y + 3, "text-anchor": "middle", class: "stop-seq" }, v.sequence));
      stop.append(svg("title", {}, `${r.tech.name} #${v.sequence}: ${v.customer} ${hm(v.planned_start)}`));
      stop.addEventListener("click", () => select(v.id));
      g.append(stop);
    }
    g.addEventListener("mouseenter", () => setHighlight(r.tech.id));
    g.addEventListener("mouseleave", () => setHighlight(null));
    map.append(g);
  }
  for (const o of open) {
    const [x, y] = px(mercator(o.site.location));
    const d = svg("path", { d: `M${x} ${y - 6}L${x + 6} ${y}L${x} ${y + 6}L${x - 6} ${y}Z`, class: "open-order", "data-order": o.order_id });
    d.append(svg("title", {}, `Unassigned ${o.number}: ${o.customer}`));
    map.append(d);
  }
}

function drawTiles(map, scale, cx, cy, W, H) {
  const zoom = Math.max(0, Math.min(18, Math.round(Math.log2(scale / 256))));
  const n = 2 ** zoom;
  const size = scale / n; // one tile in SVG units
  const left = cx - W / 2 / scale;
  const top = cy - H / 2 / scale;
  const right = cx + W / 2 / scale;
  const bottom = cy + H / 2 / scale;
  const g = svg("g", { class: "tiles" });
  for (let tx = Math.floor(left * n); tx <= Math.floor(right * n); tx += 1) {
    for (let ty = Math.max(0, Math.floor(top * n)); ty <= Math.min(n - 1, Math.floor(bottom * n)); ty += 1) {
      const href = state.data.tile_url.replace("{z}", zoom).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty).replace("{s}", "a");
      g.append(svg("image", {
        href, x: W / 2 + (tx / n - cx) * scale, y: H / 2 + (ty / n - cy) * scale,
        width: size + 0.5, height: size + 0.5, preserveAspectRatio: "none",
      }));
    }
  }
  map.append(g);
}

function setHighlight(techId) {
  if (state.highlight === techId) return;
  state.highlight = techId;
  document.querySelectorAll(".tech-row").forEach((r) => r.classList.toggle("highlight", Number(r.dataset.tech) === techId));
  document.querySelectorAll("#map .route").forEach((g) => g.classList.toggle("dim", techId !== null && Number(g.dataset.tech) !== techId));
}

// ---------------------------------------------------------------------------------------------
// drag and drop (pointer events: mouse, pen and touch alike)

let drag = null;

function startDrag(ev, what) {
  if (ev.button !== 0) return;
  if (what.kind === "visit" && what.visit.status !== "planned") return;
  drag = { ...what, x0: ev.clientX, y0: ev.clientY, moving: false, ghost: null, target: null };
  window.addEventListener("pointermove", onDragMove);
  window.addEventListener("pointerup", onDragEnd, { once: true });
  window.addEventListener("keydown", onDragKey);
}

function dropTarget(x, y) {
  const under = document.elementsFromPoint(x, y).find((n) => n.classList && n.classList.contains("lane"));
  if (!under) return null;
  const rect = under.getBoundingClientRect();
  const a = axis();
  const frac = Math.min(1, Math.max(0, (x - rect.left) / rect.width));
  let at = a.start + frac * a.span;
  if (drag.kind === "visit") at -= drag.grab || 0;
  at = Math.round(at / SNAP) * SNAP;
  return { lane: under, techId: Number(under.dataset.tech), at };
}

function onDragMove(ev) {
  if (!drag) return;
  if (!drag.moving) {
    if (Math.hypot(ev.clientX - drag.x0, ev.clientY - drag.y0) < 5) return;
    drag.moving = true;
    const rect = drag.node.getBoundingClientRect();
    if (drag.kind === "visit") {
      // Where in the block it was grabbed, as time: the block's start follows the pointer.
      const lane = drag.node.parentElement.getBoundingClientRect();
      drag.grab = ((drag.x0 - rect.left) / lane.width) * axis().span;
    }
    drag.ghost = el("div", { class: "ghost", style: `width:${Math.max(rect.width, 60)}px` },
      drag.kind === "visit" ? drag.visit.customer : drag.order.number, el("span", { class: "ghost-time" }));
    document.body.append(drag.ghost);
    document.body.classList.add("dragging");
    drag.node.classList.add("drag-source");
  }
  ev.preventDefault();
  drag.ghost.style.transform = `translate(${ev.clientX + 8}px, ${ev.clientY + 8}px)`;
  const t = dropTarget(ev.clientX, ev.clientY);
  document.querySelectorAll(".lane.drop").forEach((n) => n.classList.remove("drop"));
  drag.target = t;
  if (t) {
    t.lane.classList.add("drop");
    drag.ghost.querySelector(".ghost-time").textContent = ` → ${techName(t.techId)} ${hm(new Date(t.at).toISOString())}`;
  } else {
    drag.ghost.querySelector(".ghost-time").textContent = "";
  }
}

function endDrag() {
  window.removeEventListener("pointermove", onDragMove);
  window.removeEventListener("keydown", onDragKey);
  document.querySelectorAll(".lane.drop").forEach((n) => n.classList.remove("drop"));
  document.querySelectorAll(".drag-source").forEach((n) => n.classList.remove("drag-source"));
  document.body.classList.remove("dragging");
  if (drag && drag.ghost) drag.ghost.remove();
  const done = drag;
  drag = null;
  return done;
}

function onDragKey(ev) {
  if (ev.key === "Escape") {
    window.removeEventListener("pointerup", onDragEnd);
    endDrag();
  }
}

function onDragEnd() {
  const d = endDrag();
  if (!d || !d.moving || !d.target) return;
  const start = new Date(d.target.at).toISOString();
  if (d.kind === "visit") {
    const v = d.visit;
    if (d.target.techId === v.technician_id && Math.abs(d.target.at - Date.parse(v.planned_start)) < MINUTE) return;
    moveVisit(v, d.target.techId, start);
  } else {
    assignOrder(d.order, d.target.techId, start);
  }
}

// ---------------------------------------------------------------------------------------------
// changing the plan (dispatch.dispatching endpoints); a broken rule asks before forcing

function askForce(problem) {
  const list = problem.violations && problem.violations.length ? problem.violations : [{ rule: problem.rule || "rule", detail: problem.detail }];
  $("force-list").replaceChildren(...list.map((v) => el("li", {}, el("strong", {}, v.rule), `: ${v.detail}`)));
  const dialog = $("force");
  return new Promise((resolve) => {
    const answer = (yes) => { dialog.close(); resolve(yes); };
    $("force-yes").onclick = () => answer(true);
    $("force-no").onclick = () => answer(false);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
  });
}

async function withForce(call, what) {
  try {
    await call(false);
    toast(what);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && err.problem.type && err.problem.type.endsWith("/dispatch-rule-broken")) {
      if (await askForce(err.problem)) {
        try {
          await call(true);
          toast(`${what} (forced)`);
        } catch (again) {
          failed(again);
        }
      }
    } else if (err instanceof ApiError && err.status === 409) {
      toast(`${err.message} – reloaded`, "error");
    } else {
      failed(err);
    }
  }
  await load();
}

function moveVisit(v, techId, start) {
  return withForce((force) => api(`/visits/${v.id}/move`, {
    method: "POST", headers: { "If-Match": `"${v.version}"` },
    body: { technician_id: techId, start, force },
  }), `Moved ${v.order_number} to ${techName(techId)} at ${hm(start)}`);
}

function assignOrder(o, techId, start) {
  return withForce((force) => api("/visits", {
    method: "POST", body: { order_id: o.order_id, technician_id: techId, start, force },
  }), `Planned ${o.number} for ${techName(techId)} at ${hm(start)}`);
}

function pin(v, pinned) {
  return withForce((force) => api(`/visits/${v.id}/${pinned ? "pin" : "unpin"}`, {
    method: "POST", headers: { "If-Match": `"${v.version}"` }, body: pinned ? { force } : undefined,
  }), `${pinned ? "Pinned" : "Unpinned"} ${v.order_number}`);
}

async function unassign(v) {
  try {
    await api(`/visits/${v.id}`, { method: "DELETE", headers: { "If-Match": `"${v.version}"` } });
    toast(`Unassigned ${v.order_number}`);
    state.selected = null;
  } catch (err) {
    failed(err);
  }
  await load();
}

// ---------------------------------------------------------------------------------------------
// the optimizer (dispatch.scheduling): run, review the proposed changes, publish or discard

const RUNNING = new Set(["queued", "running"]);

function openOptimizer() {
  state.run = null;
  $("run-form").hidden = false;
  $("run-start").disabled = false;
  $("run-progress").textContent = "";
  $("run-error").textContent = "";
  $("proposal").replaceChildren();
  for (const id of ["run-cancel", "run-discard", "run-publish"]) $(id).hidden = true;
  $("optimizer").showModal();
}

async function startRun(ev) {
  ev.preventDefault();
  $("run-start").disabled = true;
  $("run-error").textContent = "";
  try {
    const run = await api("/schedule-runs", {
      method: "POST",
      body: {
        date_from: state.day, date_to: state.day, scope: { kind: "all" },
        mode: $("run-mode").value, time_limit_s: Number($("run-limit").value) || 5,
      },
    });
    $("run-form").hidden = true;
    showRun(run);
    pollRun(run.id);
  } catch (err) {
    $("run-start").disabled = false;
    $("run-error").textContent = err.message;
  }
}

async function pollRun(id) {
  while (state.run && state.run.id === id && RUNNING.has(state.run.status)) {
    await new Promise((r) => setTimeout(r, 600));
    if (!state.run || state.run.id !== id) return;
    try {
      showRun(await api(`/schedule-runs/${id}`));
    } catch (err) {
      $("run-error").textContent = err.message;
      return;
    }
  }
}

function showRun(run) {
  state.run = run;
  const p = run.progress || {};
  const bits = [`Run ${run.id}: ${run.status}`];
  if (p.phase) bits.push(p.phase);
  if (p.elapsed_s !== undefined) bits.push(`${Number(p.elapsed_s).toFixed(1)} s`);
  if (p.best_objective !== undefined && p.best_objective !== null) bits.push(`best ${p.best_objective}`);
  $("run-progress").textContent = bits.join(" · ");
  $("run-cancel").hidden = !RUNNING.has(run.status);
  $("run-publish").hidden = run.status !== "done";
  $("run-discard").hidden = run.status !== "done";
  if (run.error) $("run-error").textContent = run.error;
  if (run.status === "done" || run.status === "cancelled") renderProposal(run);
  if (run.status === "published") renderPublished(run);
}

function renderProposal(run) {
  const k = run.kpis || {};
  const plan = run.plan || { visits: [], unassigned: [] };
  const current = new Map();
  for (const t of state.data.technicians) for (const v of t.visits) current.set(v.order_id, { v, t });
  const changes = plan.visits.filter((v) => v.change !== "unchanged" && v.change !== "kept");
  const counts = k.changes || {};
  const figures = [
    ["Assigned", `${k.visits_assigned ?? "–"} of ${k.visits_total ?? "–"}`],
    ["Unassigned", k.visits_unassigned ?? "–"],
    ["Travel", k.travel_seconds !== undefined ? `${duration(k.travel_seconds)} · ${km(k.travel_meters)}` : "–"],
    ["Utilisation", k.utilisation !== undefined ? `${Math.round(k.utilisation * 100)} %` : "–"],
    ["SLA breaches", k.sla_breaches ?? "–"],
    ["Changes", Object.entries(counts).filter(([, n]) => n).map(([c, n]) => `${n} ${c}`).join(", ") || "none"],
  ];
  const table = el("table", { class: "changes" },
    el("thead", {}, el("tr", {}, ["Order", "Change", "Now", "Proposed"].map((h) => el("th", {}, h)))),
    el("tbody", {}, changes.map((pv) => {
      const now = current.get(pv.order_id);
      return el("tr", { class: `change-${pv.change}`, dataset: { order: pv.order_id } },
        el("td", {}, pv.number),
        el("td", {}, pv.change),
        el("td", {}, now ? `${now.t.name} ${hm(now.v.planned_start)}` : "–"),
        el("td", {}, `${techName(pv.technician_id)} ${hm(pv.planned_start)}${pv.day !== state.day ? ` (${pv.day})` : ""}`));
    })));
  const left = plan.unassigned.length ? el("div", {},
    el("h3", {}, "Left unassigned"),
    el("ul", { class: "left-out" }, plan.unassigned.map((u) => el("li", {}, `${u.number}: ${u.message || u.reason}`)))) : null;
  $("proposal").replaceChildren(...[
    el("dl", { class: "run-kpis" }, figures.flatMap(([a, b]) => [el("dt", {}, a), el("dd", {}, b)])),
    changes.length ? table : el("p", {}, "The proposal changes nothing."),
    left].filter(Boolean));
}

function renderPublished(run) {
  const r = run.publish_report || {};
  const n = (x) => (Array.isArray(x) ? x.length : x ?? 0);
  const skipped = r.skipped || [];
  $("proposal").replaceChildren(...[
    el("p", { class: "published" }, `Published: ${n(r.published)} orders planned, ${n(skipped)} skipped.`),
    skipped.length ? el("ul", {}, skipped.map((s) => el("li", {}, `${s.number || s.order_id}: ${s.reason || ""}`))) : null,
  ].filter(Boolean));
}

async function decide(action) {
  const run = state.run;
  if (!run) return;
  for (const id of ["run-discard", "run-publish"]) $(id).disabled = true;
  try {
    showRun(await api(`/schedule-runs/${run.id}/${action}`, { method: "POST" }));
    toast(action === "publish" ? `Run ${run.id} published` : `Run ${run.id} discarded`);
    if (action === "discard") $("optimizer").close();
    await load();
  } catch (err) {
    $("run-error").textContent = err.message;
  } finally {
    for (const id of ["run-discard", "run-publish"]) $(id).disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// live updates: server-sent events read with fetch (EventSource cannot send the token)

function setLive(on) {
  $("live").classList.toggle("on", on);
  $("live").title = `Live updates: ${on ? "on" : "off"}`;
  document.body.dataset.live = on ? "on" : "off";
}

function stopEvents() {
  if (state.events) state.events.abort();
  state.events = null;
  setLive(false);
}

function handleEvent(kind, data) {
  let payload = {};
  try {
    payload = data ? JSON.parse(data) : {};
  } catch {
    return;
  }
  const days = payload.days || [];
  const ours = !days.length || days.includes(state.day);
  if ((kind === "visits.changed" || kind === "orders.changed") && ours) reloadSoon();
  if (kind === "run.updated" && state.run && payload.run_id === state.run.id && payload.status !== state.run.status) {
    api(`/schedule-runs/${state.run.id}`).then(showRun).catch(() => {});
  }
}

async function listen() {
  const ctrl = new AbortController();
  state.events = ctrl;
  let lastId = null;
  let wait = 1000;
  while (!ctrl.signal.aborted && token()) {
    try {
      const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token()}` };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const res = await fetch("/board/events", { headers, cache: "no-store", credentials: "omit", signal: ctrl.signal });
      if (res.status === 401 || res.status === 403) {
        stopEvents();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
      setLive(true);
      wait = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const message = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let kind = "message";
          const data = [];
          for (const line of message.split("\n")) {
            if (!line || line.startsWith(":")) continue;
            const i = line.indexOf(":");
            const field = i < 0 ? line : line.slice(0, i);
            const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
            if (field === "id") lastId = val;
            else if (field === "event") kind = val;
            else if (field === "data") data.push(val);
          }
          if (data.length) handleEvent(kind, data.join("\n"));
        }
      }
    } catch (err) {
      if (ctrl.signal.aborted) return;
    }
    setLive(false);
    // A reconnect may have missed changes: reload, then listen again.
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 15000);
    if (!ctrl.signal.aborted) reloadSoon();
  }
}

// ---------------------------------------------------------------------------------------------
// wiring

function goTo(day) {
  state.day = day;
  state.selected = null;
  $("day").value = day;
  const url = new URL(window.location.href);
  url.searchParams.set("date", day);
  history.replaceState(null, "", url);
  load();
}

$("day").value = state.day;
$("day").addEventListener("change", () => $("day").value && goTo($("day").value));
$("prev-day").addEventListener("click", () => goTo(shiftDay(state.day, -1)));
$("next-day").addEventListener("click", () => goTo(shiftDay(state.day, 1)));
for (const id of ["f-priority", "f-skill", "f-zone", "f-sla"]) $(id).addEventListener("change", loadUnassigned);
$("optimize").addEventListener("click", openOptimizer);
$("run-form").addEventListener("submit", startRun);
$("run-publish").addEventListener("click", () => decide("publish"));
$("run-discard").addEventListener("click", () => decide("discard"));
$("run-cancel").addEventListener("click", () => state.run && api(`/schedule-runs/${state.run.id}/cancel`, { method: "POST" }).then(showRun).catch((e) => { $("run-error").textContent = e.message; }));
$("run-close").addEventListener("click", () => { state.run = null; $("optimizer").close(); });
$("sign-out").addEventListener("click", () => { signOut(); showLogin(); });
$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await signIn($("token").value, ["dispatcher"]);
    $("token").value = "";
    await load();
  } catch (err) {
    showLogin(err.message);
  }
});
setLive(false);
load();
