// Talking to the Tecnico API from our pages.
// The token lives in this tab's sessionStorage only: it is sent as a bearer header,
// never put into a URL or a cookie, and forgotten when the tab closes.

const KEY = "tecnico.token";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function token() {
  return sessionStorage.getItem(KEY);
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

async function problemOf(res) {
  try {
    return await res.json();
  } catch {
    return { title: res.statusText, status: res.status };
  }
}

/** fetch() with the bearer token; JSON in and out; errors become ApiError. */
export async function api(path, { method = "GET", body, headers = {}, raw = false, signal } = {}) {
  const h = { Accept: raw ? "*/*" : "application/json", ...headers };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  let payload;
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, {
    method, headers: h, body: payload, credentials: "omit", cache: "no-store", signal,
  });
  if (!res.ok) {
    const problem = await problemOf(res);
    if (res.status === 401) signOut();
    throw new ApiError(res.status, problem);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

/** Checks ``value`` with GET /me and keeps it when the user has one of ``roles`` (or admin). */
export async function signIn(value, roles) {
  sessionStorage.setItem(KEY, value.trim());
  try {
    const me = await api("/me");
    if (me.role !== "admin" && !roles.includes(me.role)) {
      signOut();
      throw new ApiError(403, { detail: `${me.username} is ${me.role}; this page needs ${roles.join(" or ")}` });
    }
    return me;
  } catch (err) {
    signOut();
    throw err;
  }
}

/** The page's JSON data block (rendered by the server, never executed). */
export function pageData() {
  const el = document.getElementById("page-data");
  return el ? JSON.parse(el.textContent) : {};
}

/** A DOM element with attributes and children; text goes in as text, never as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    // CSSOM, not a style attribute: the pages' policy forbids inline style attributes.
    else if (k === "style") node.style.cssText = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** ISO date (YYYY-MM-DD) of a local Date. */
export function isoDay(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function shiftDay(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return isoDay(new Date(y, m - 1, d + days));
}
