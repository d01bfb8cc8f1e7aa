// Cameo pages: upload a picture (multipart), and every button or small form that calls /api/cameos
// (data-api / data-api-form). Errors from the API show next to their field, or as a toast.
import { ApiError, api, toast } from "./api.js";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

function showErrors(scope, error) {
  scope.querySelectorAll(".error[data-field]").forEach((el) => { el.hidden = true; el.textContent = ""; });
  const body = error instanceof ApiError && error.body && typeof error.body === "object" ? error.body : null;
  let shown = false;
  if (body) {
    for (const [field, msg] of Object.entries(body)) {
      const el = scope.querySelector(`.error[data-field="${field}"]`) ?? document.querySelector(`.error[data-field="${field}"]`);
      if (el) { el.textContent = [].concat(msg).join(" "); el.hidden = false; shown = true; }
    }
  }
  if (!shown) toast(error.message || "Something went wrong.", "error");
}

// Upload: the picture goes as multipart/form-data; on success open the new cameo's page.
const upload = document.getElementById("cameo-upload");
upload?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = upload.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const res = await fetch("/api/cameos", {
      method: "POST", credentials: "same-origin", body: new FormData(upload),
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
    });
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, data);
    location.assign(`/cameos/${encodeURIComponent(data.handle)}`);
  } catch (error) {
    showErrors(upload, error);
    button.disabled = false;
  }
});

// Find a cameo by handle.
document.getElementById("find-cameo")?.addEventListener("submit", (event) => {
  event.preventDefault();
  const handle = new FormData(event.target).get("handle").toString().trim().replace(/^@/, "");
  if (handle) location.assign(`/cameos/${encodeURIComponent(handle)}`);
});

async function run(el, url, method, body) {
  if (el.dataset.confirm && !window.confirm(el.dataset.confirm)) return;
  el.disabled = true;
  try {
    await api(url, { method, body });
    if (el.dataset.redirect) location.assign(el.dataset.redirect);
    else location.reload();
  } catch (error) {
    showErrors(el.closest("section, article") ?? document, error);
    el.disabled = false;
  }
}

// Buttons: <button data-api="/api/..." data-method="POST" data-confirm="..." data-redirect="...">
document.addEventListener("click", (event) => {
  const el = event.target.closest("button[data-api]");
  if (el) run(el, el.dataset.api, el.dataset.method || "POST");
});

// Small forms: their named fields become the JSON body.
document.querySelectorAll("form[data-api-form]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = Object.fromEntries(new FormData(form).entries());
    const button = form.querySelector("button[type=submit]") ?? form;
    button.dataset.confirm = form.dataset.confirm ?? "";
    run(button, form.dataset.apiForm, form.dataset.method || "POST", body);
  });
});
