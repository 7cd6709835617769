// The technician's phone page: his stops for a day, with big buttons to report progress.
import { api, ApiError, el, isoDay, pageData, shiftDay, signIn, signOut, token } from "./api.js";

const data = pageData();
const W = data.words;
const $ = (id) => document.getElementById(id);
let route = null;
// When the route was read, on this phone's clock: with route.read_at (the server's clock) it
// gives the server's "now" however wrong the phone's clock is.
let readAt = 0;

function day() {
  return $("day").value || data.day || isoDay(new Date());
}

function fmtTime(iso, tz) {
  return new Intl.DateTimeFormat(data.lang, { hour: "2-digit", minute: "2-digit", timeZone: tz })
    .format(new Date(iso));
}

function minutes(seconds) {
  return Math.round(seconds / 60);
}

function qty(value) {
  return new Intl.NumberFormat(data.lang, { maximumFractionDigits: 3 }).format(Number(value));
}

function km(meters) {
  return new Intl.NumberFormat(data.lang, { maximumFractionDigits: 1 }).format(meters / 1000);
}

function showLogin(message = "") {
  $("login").hidden = false;
  $("route").hidden = true;
  $("route-tools").hidden = true;
  $("login-error").textContent = message;
  $("token").focus();
}

function showRoute() {
  $("login").hidden = true;
  $("route").hidden = false;
  $("route-tools").hidden = false;
}

function stopCard(stop, tz) {
  const span = (a, b) => `${fmtTime(a, tz)}–${fmtTime(b, tz)}`;
  const rows = [];
  const line = (label, ...value) => rows.push(el("div", { class: "row" },
    el("span", { class: "label" }, label), el("span", { class: "value" }, ...value)));

  line(W.service, span(stop.planned_start, stop.planned_end));
  for (const w of stop.time_windows) line(W.time_window, span(w.start, w.end));
  if (stop.appointment) {
    line(W.appointment, `${fmtTime(stop.appointment.start, tz)} (${stop.appointment.confirmed ? W.confirmed : W.unconfirmed})`);
  }
  if (stop.address) line(W.address, `${stop.address.name} – ${stop.address.lines.join(", ")}`);
  if (stop.contact) line(W.contact, [stop.contact.name, stop.contact.phone].filter(Boolean).join(", "));
  for (const it of stop.service_items) {
    line(W.equipment, it.serial_number ? `${it.model} (${W.serial} ${it.serial_number})` : it.model);
  }
  if (stop.defect) line(W.defect, stop.defect);
  if (stop.parts.length) {
    line(W.parts, el("ul", { class: "parts" }, stop.parts.map((p) =>
      el("li", {}, `${qty(p.quantity)} × ${p.description}`, p.sku ? ` [${p.sku}]` : "",
        p.warranty ? ` (${W.warranty})` : ""))));
  }
  line(W.travel, `${minutes(stop.travel_seconds)} min, ${km(stop.travel_meters)} km`);

  const links = el("div", { class: "links" });
  if (stop.address) {
    links.append(
      el("a", { class: "btn btn-big", href: stop.address.navigation.geo }, W.navigate),
      el("a", { class: "btn btn-big", href: stop.address.navigation.maps, rel: "noreferrer", target: "_blank" }, W.map_search),
    );
  }
  const phone = (stop.contact && stop.contact.phone) || stop.customer.phone;
  if (phone) links.append(el("a", { class: "btn btn-big", href: `tel:${phone.replace(/[^+\d]/g, "")}` }, W.call));

  const actions = el("div", { class: "actions" }, stop.actions.map((a) =>
    el("button", {
      type: "button", class: `btn btn-big btn-action action-${a.name}`,
      dataset: { action: a.name },
      onclick: (ev) => (a.name === "done" ? openDone(ev.currentTarget, stop, a) : reportAction(ev.currentTarget, a)),
    }, W[`action.${a.name}`] || a.name)));

  return el("li", { class: `stop status-${stop.status}`, dataset: { visit: stop.visit_id } },
    el("div", { class: "stop-head" },
      el("span", { class: "seq" }, stop.sequence),
      el("span", { class: "eta" }, fmtTime(stop.eta, tz)),
      el("span", { class: "customer" }, stop.customer.name),
      el("span", { class: `chip chip-${stop.status}` }, W[`status.${stop.status}`] || stop.status)),
    el("p", { class: "order" }, `${W.order} ${stop.order.number} · ${W.priority}: ${W[`priority.${stop.order.priority}`] || stop.order.priority}`),
    el("div", { class: "details" }, rows),
    links,
    actions);
}

function render() {
  const tz = route.timezone;
  $("route-who").textContent = route.technician.name;
  $("summary").textContent = `${W.stops}: ${route.stops.length} · ${W.travel_total}: ${minutes(route.travel_seconds)} min, ${km(route.travel_meters)} km`;
  $("stops").replaceChildren(...route.stops.map((s) => stopCard(s, tz)));
  $("empty").hidden = route.stops.length > 0;
}

async function load() {
  if (!token()) return showLogin();
  showRoute();
  $("route-error").textContent = "";
  $("summary").textContent = W.loading;
  try {
    route = await api(`/technicians/${data.technician_id}/route?date=${encodeURIComponent(day())}`);
    readAt = Date.now();
    render();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin(err.message);
    $("summary").textContent = "";
    $("stops").replaceChildren();
    $("route-error").textContent = err.message;
  }
}

async function report(button, action, body = action.body) {
  button.disabled = true;
  $("saved").textContent = "";
  try {
    await api(action.href, { method: action.method, body });
    await load();
    $("saved").textContent = W.saved;
  } catch (err) {
    button.disabled = false;
    throw err;
  }
}

function reportAction(button, action) {
  report(button, action).catch((err) => { $("route-error").textContent = err.message; });
}

// --- "done": minutes on site and the parts used ---------------------------------------------

function partLabel(p) {
  return p.sku ? `${p.description || p.name} [${p.sku}]` : (p.description || p.name);
}

function minutesOnSite(stop) {
  if (!stop.arrived_at) return "";
  const now = Date.parse(route.read_at) + (Date.now() - readAt);
  return Math.max(1, Math.round((now - Date.parse(stop.arrived_at)) / 60_000));
}

/** One part used: a quantity per product; a part brought keeps its row even at 0 (unused). */
function partRow(list, { productId, label, quantity, warranty = false, brought = false }) {
  const same = [...list.children].find((r) => r.dataset.product === String(productId) && !r.dataset.brought);
  if (same && !brought) {
    const input = same.querySelector("input");
    input.value = Number(input.value || 0) + quantity;
    return;
  }
  const row = el("li", { class: "part-used", dataset: { product: productId, warranty: warranty ? "1" : "", brought: brought ? "1" : "" } },
    el("span", { class: "part-name" }, label, warranty ? ` (${W.warranty})` : ""),
    el("input", {
      type: "number", class: "qty", min: "0", step: "any", inputmode: "decimal", value: quantity,
      "aria-label": `${W.quantity}: ${label}`,
    }));
  if (!brought) {
    row.append(el("button", {
      type: "button", class: "btn btn-quiet", "aria-label": `${W.remove}: ${label}`,
      onclick: () => row.remove(),
    }, "×"));
  }
  list.append(row);
}

function partSearch(list) {
  const results = el("ul", { class: "part-results" });
  let timer = 0;
  let asked = 0;
  const input = el("input", {
    type: "search", class: "part-search", placeholder: W.part_search, "aria-label": W.part_search,
    autocomplete: "off", enterkeyhint: "search",
  });
  const pick = (product) => {
    partRow(list, { productId: product.id, label: partLabel(product), quantity: 1 });
    input.value = "";
    results.replaceChildren();
  };
  const find = async () => {
    const q = input.value.trim();
    const mine = ++asked;
    if (q.length < 2) return results.replaceChildren();
    const page = await api(`/products?${new URLSearchParams({ q, active: "true", limit: "8" })}`);
    if (mine !== asked) return; // a later search is under way
    results.replaceChildren(...(page.items.length ? page.items.map((p) => el("li", {},
      el("button", { type: "button", class: "btn part-pick", onclick: () => pick(p) }, partLabel(p))))
      : [el("li", { class: "hint" }, W.no_parts_found)]));
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => find().catch((err) => results.replaceChildren(
      el("li", { class: "error" }, err.message))), 250);
  });
  input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") ev.preventDefault(); });
  return [input, results];
}

function doneBody(stop, action, form) {
  const body = { ...action.body };
  const minutes = form.elements.minutes.value;
  if (stop.arrived_at && minutes !== "") {
    body.at = new Date(Date.parse(stop.arrived_at) + Number(minutes) * 60_000).toISOString();
  }
  const note = form.elements.note.value.trim();
  if (note) body.note = note;
  // A part brought is reported even at 0 (the history says it was not used); another at 0 is dropped.
  body.parts_used = [...form.querySelectorAll(".part-used")]
    .map((row) => ({ row, quantity: row.querySelector("input").value || "0" }))
    .filter(({ row, quantity }) => row.dataset.brought === "1" || Number(quantity) > 0)
    .map(({ row, quantity }) => ({
      product_id: Number(row.dataset.product), quantity, warranty: row.dataset.warranty === "1",
    }));
  return body;
}

function openDone(button, stop, action) {
  const card = button.closest(".stop");
  if (card.querySelector(".done-form")) return;
  button.disabled = true;
  const id = `done-${stop.visit_id}`;
  const parts = el("ul", { class: "parts-used" });
  for (const p of stop.parts) {
    partRow(parts, { productId: p.product_id, label: partLabel(p), quantity: Number(p.quantity), warranty: p.warranty, brought: true });
  }
  const error = el("p", { class: "error", role: "alert" });
  const close = () => { form.remove(); button.disabled = false; };
  const save = el("button", { type: "submit", class: "btn btn-big btn-action action-done" }, W.save);
  const form = el("form", { class: "done-form", "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, W.done_title),
    el("label", { for: `${id}-minutes` }, W.minutes_on_site),
    el("input", { id: `${id}-minutes`, name: "minutes", type: "number", min: "0", step: "1", inputmode: "numeric", value: minutesOnSite(stop) }),
    el("p", { class: "label" }, W.parts_used),
    parts,
    ...partSearch(parts),
    el("label", { for: `${id}-note` }, W.note),
    el("input", { id: `${id}-note`, name: "note", type: "text", maxlength: "2000" }),
    error,
    el("div", { class: "actions" }, save,
      el("button", { type: "button", class: "btn btn-big", onclick: close }, W.cancel)));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    error.textContent = "";
    report(save, action, doneBody(stop, action, form)).catch((err) => {
      const field = err.problem && err.problem.field;
      error.textContent = field ? `${err.message} (${field})` : err.message;
    });
  });
  card.append(form);
  form.elements.minutes.focus();
}

async function openPdf() {
  try {
    const res = await api(`/technicians/${data.technician_id}/route/pdf?date=${encodeURIComponent(day())}`, { raw: true });
    const url = URL.createObjectURL(await res.blob());
    const a = el("a", { href: url, download: `route-${data.technician_id}-${day()}.pdf` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    $("route-error").textContent = err.message;
  }
}

function go(iso) {
  $("day").value = iso;
  const url = new URL(window.location.href);
  url.searchParams.set("date", iso);
  history.replaceState(null, "", url);
  load();
}

$("day").value = day();
$("day").addEventListener("change", () => go(day()));
$("prev-day").addEventListener("click", () => go(shiftDay(day(), -1)));
$("next-day").addEventListener("click", () => go(shiftDay(day(), 1)));
$("pdf").addEventListener("click", openPdf);
$("sign-out").addEventListener("click", () => { signOut(); showLogin(); });
$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await signIn($("token").value, ["technician", "dispatcher"]);
    $("token").value = "";
    await load();
  } catch (err) {
    showLogin(err.message);
  }
});
load();
