// The create page: submit a prompt, follow the job live over /ws/jobs/<id>/, cancel, post.
import { api, ApiError, toast, wsUrl } from "./api.js";

const $ = (id) => document.getElementById(id);
const form = $("create-form");
const stage = $("stage");
const state = { job: null, socket: null, video: null, events: 0, frames: 0 };

function setState(name, title) {
  stage.dataset.state = name;
  $("job-status").textContent = name;
  $("job-status").className = `pill status-${name}`;
  if (title) $("stage-title").textContent = title;
  $("cancel").hidden = !["queued", "running"].includes(name);
  $("retry").hidden = name !== "failed";
  $("generate").disabled = ["submitting", "queued", "running"].includes(name);
}

function setProgress(step, steps, eta) {
  const pct = steps ? Math.round((100 * step) / steps) : 0;
  $("progress-bar").style.width = `${pct}%`;
  $("progress").setAttribute("aria-valuenow", String(pct));
  $("progress-text").textContent = steps ? `Step ${step} of ${steps} · ${pct}%` : "—";
  $("eta-text").textContent = eta != null && step < steps ? `about ${Math.max(0, eta).toFixed(1)} s left` : "";
}

function showFieldErrors(body) {
  document.querySelectorAll("#create-form .error").forEach((el) => { el.hidden = true; el.textContent = ""; });
  $("form-error").hidden = true;
  for (const [field, msg] of Object.entries(body || {})) {
    const el = document.querySelector(`#create-form .error[data-field="${field}"]`);
    const text = [].concat(msg).join(" ");
    if (el) { el.textContent = text; el.hidden = false; }
    else { $("form-error").textContent = text; $("form-error").hidden = false; }
  }
}

function addFrame(src) {
  const strip = $("filmstrip");
  const img = document.createElement("img");
  img.src = src;
  img.alt = "";
  strip.append(img);
  while (strip.children.length > 12) strip.firstElementChild.remove();
}

function onEvent(ev) {
  state.events += 1;
  $("event-count").textContent = String(state.events);
  stage.dataset.events = String(state.events);
  switch (ev.type) {
    case "queued":
      setState("queued", ev.position > 1 ? `In line: ${ev.position - 1} ahead of you` : "Up next…");
      setProgress(0, 0);
      break;
    case "progress":
      setState("running", "Denoising…");
      setProgress(ev.step, ev.steps, ev.eta);
      if (ev.preview) {
        $("screen-empty").hidden = true;
        $("preview").hidden = false;
        $("preview").src = ev.preview;
        addFrame(ev.preview);
      }
      stage.dataset.progressEvents = String((+stage.dataset.progressEvents || 0) + 1);
      break;
    case "succeeded":
      setState("succeeded", "Done! Watch it, then post it.");
      setProgress(1, 1);
      showResult(ev);
      closeSocket();
      break;
    case "failed":
      setState("failed", "Something went wrong");
      $("progress-text").textContent = ev.reason || "The job failed.";
      closeSocket();
      break;
    case "canceled":
      setState("canceled", "Canceled");
      closeSocket();
      break;
  }
}

function showResult(ev) {
  state.video = ev.video;
  $("preview").hidden = true;
  $("screen-empty").hidden = true;
  const v = $("result");
  v.src = ev.url;
  if (ev.poster) v.poster = ev.poster;
  v.hidden = false;
  v.play().catch(() => {});
  $("post-form").hidden = false;
}

function closeSocket() {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); state.socket = null; }
}

function follow(jobId) {
  closeSocket();
  const socket = new WebSocket(wsUrl(`/ws/jobs/${jobId}/`));
  state.socket = socket;
  socket.onmessage = (msg) => onEvent(JSON.parse(msg.data));
  socket.onclose = async () => {
    // The connection dropped before the end: read the row (the source of truth) and reconnect.
    if (state.socket !== socket) return;
    state.socket = null;
    try {
      const job = await api(`/api/generations/${jobId}`);
      if (["queued", "running"].includes(job.status)) setTimeout(() => follow(jobId), 1000);
      else if (job.status === "succeeded") onEvent({ type: "succeeded", video: job.video, url: job.video_url });
      else onEvent({ type: job.status, reason: job.error });
    } catch (e) { toast(`Lost track of the job: ${e.message}`, "error"); }
  };
}

function reset() {
  state.events = 0; state.video = null;
  stage.dataset.progressEvents = "0";
  $("event-count").textContent = "0";
  $("filmstrip").replaceChildren();
  $("result").hidden = true; $("result").removeAttribute("src");
  $("preview").hidden = true;
  $("screen-empty").hidden = false;
  $("post-form").hidden = true;
  setProgress(0, 0);
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = { prompt: $("prompt").value };
  const seed = $("seed").value.trim();
  if (seed !== "") body.seed = /^\d+$/.test(seed) ? Number(seed) : seed;
  if ($("steps").value !== "") body.steps = Number($("steps").value);
  if ($("guidance").value !== "") body.guidance = Number($("guidance").value);
  if (form.dataset.parent) {
    body.parent = Number(form.dataset.parent);
    body.mode = form.querySelector('input[name="mode"]:checked').value;
    if (body.mode === "remix") body.strength = Number($("strength").value);
    if (body.mode === "prompt_edit") delete body.seed;  // the parent's seed is the point
  }
  reset();
  setState("submitting", "Sending your prompt…");
  try {
    const job = await api("/api/generations", { method: "POST", body });
    showFieldErrors({});
    state.job = job.id;
    stage.dataset.job = job.id;
    setState(job.status, "Queued");
    follow(job.id);
  } catch (err) {
    setState("idle", "Your video appears here");
    if (err instanceof ApiError) showFieldErrors(err.body); else toast(err.message, "error");
  }
});

$("cancel").addEventListener("click", async () => {
  if (!state.job) return;
  try {
    const job = await api(`/api/generations/${state.job}/cancel`, { method: "POST" });
    if (job.status === "canceled") onEvent({ type: "canceled" });
    else $("stage-title").textContent = "Stopping after this step…";
  } catch (err) { toast(err.message, "error"); }
});

$("retry").addEventListener("click", async () => {
  if (!state.job) return;
  try {
    reset();
    const job = await api(`/api/generations/${state.job}/retry`, { method: "POST" });
    setState(job.status, "Queued again");
    follow(job.id);
  } catch (err) { toast(err.message, "error"); }
});

$("post-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!state.video) return;
  try {
    await api(`/api/videos/${state.video}/publish`, {
      method: "POST",
      body: { visibility: $("visibility").value, caption: $("caption").value },
    });
    location.href = "/";
  } catch (err) { toast(err.message, "error"); }
});

document.querySelectorAll(".suggestions .chip").forEach((chip) =>
  chip.addEventListener("click", () => { $("prompt").value = chip.textContent; $("prompt").focus(); }));

setState("idle");

// Remix modes: strength only for video to video; prompt edit reuses the parent's seed.
if (form.dataset.parent) {
  const syncMode = () => {
    const mode = form.querySelector('input[name="mode"]:checked').value;
    $("strength-field").hidden = mode !== "remix";
    $("seed").disabled = mode === "prompt_edit";
  };
  form.querySelectorAll('input[name="mode"]').forEach((el) => el.addEventListener("change", syncMode));
  $("strength").addEventListener("input", () => { $("strength-out").textContent = Number($("strength").value).toFixed(2); });
  syncMode();
}
