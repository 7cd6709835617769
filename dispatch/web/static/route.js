// The technician's phone page: his stops for a day, with big buttons to report progress.
import { api, ApiError, el, isoDay, pageData, shiftDay, signIn, signOut, token } from "./api.js";

const data = pageData();
const W = data.words;
const $ = (id) => document.getElementById(id);
let route = null;

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
      onclick: (ev) => report(ev.currentTarget, a),
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
    render();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return showLogin(err.message);
    $("summary").textContent = "";
    $("stops").replaceChildren();
    $("route-error").textContent = err.message;
  }
}

async function report(button, action) {
  button.disabled = true;
  try {
    await api(action.href, { method: action.method, body: action.body });
    await load();
  } catch (err) {
    button.disabled = false;
    $("route-error").textContent = err.message;
  }
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
