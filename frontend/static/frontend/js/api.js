// Small helpers shared by the pages: JSON calls to /api with the session's CSRF token.
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export class ApiError extends Error {
  constructor(status, body) {
    super(ApiError.describe(body) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
  static describe(body) {
    if (!body || typeof body !== "object") return "";
    return Object.entries(body)
      .map(([field, msg]) => (field === "detail" ? [].concat(msg).join(" ") : `${field}: ${[].concat(msg).join(" ")}`))
      .join(" · ");
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export function toast(text, kind = "info") {
  const box = document.getElementById("toasts");
  if (!box) return;
  const el = document.createElement("div");
  el.className = `toast ${kind}`;
  el.textContent = text;
  box.append(el);
  setTimeout(() => el.remove(), 5000);
}

export function wsUrl(path) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}${path}`;
}
