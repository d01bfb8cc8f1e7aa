// Staff moderation page: select queue items, apply one action to all of them through
// POST /api/moderation/actions, then take the closed items off the page and log the decisions.
import { api, toast } from "./api.js";

const bar = document.getElementById("mod-bar");
const note = document.getElementById("mod-note");
const selectedLabel = document.getElementById("mod-selected");
const boxes = () => [...document.querySelectorAll('input[name="item"]')];
const chosen = () => boxes().filter((b) => b.checked).map((b) => b.value);

function refreshSelection() {
  const n = chosen().length;
  selectedLabel.textContent = `${n} selected`;
  bar.querySelectorAll("button[data-action]").forEach((b) => { b.disabled = n === 0; });
}

document.querySelectorAll("[data-select-all]").forEach((all) => {
  all.addEventListener("change", () => {
    document.querySelectorAll(`#${all.dataset.selectAll} input[name="item"]`).forEach((b) => { b.checked = all.checked; });
    refreshSelection();
  });
});
document.addEventListener("change", (e) => { if (e.target.name === "item") refreshSelection(); });

function logLine(d) {
  const li = document.createElement("li");
  const when = document.createElement("time");
  when.dateTime = d.created_at;
  when.textContent = new Date(d.created_at).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const who = document.createElement("strong");
  who.textContent = `@${d.actor}`;
  const pill = document.createElement("span");
  pill.className = `pill action-${d.action}`;
  pill.textContent = d.action.replace("_", " ");
  li.append(when, " ", who, " ", pill, ` ${d.target_kind} ${d.target_id}`, d.subject ? ` (@${d.subject})` : "", d.note ? ` — ${d.note}` : "");
  return li;
}

async function act(action) {
  const items = chosen();
  if (!items.length) return;
  if (action === "suspend" && !confirm(`Suspend the owners of ${items.length} item(s)? They are logged out at once.`)) return;
  bar.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  try {
    const res = await api("/api/moderation/actions", { method: "POST", body: { items, action, note: note.value } });
    const closed = new Set(res.decisions.flatMap((d) => d.items));
    document.querySelectorAll("[data-key]").forEach((row) => { if (closed.has(row.dataset.key)) row.remove(); });
    const log = document.getElementById("mod-log");
    log.querySelector("li.muted")?.remove();
    res.decisions.slice().reverse().forEach((d) => log.prepend(logLine(d)));
    for (const [kind, n] of Object.entries(res.counts)) {
      const section = { report: "reports", prompt: "prompts", frames: "frames", appeal: "appeals" }[kind];
      const pill = document.querySelector(`#${section} h2 .pill`);
      if (pill) pill.textContent = `${n} open`;
    }
    note.value = "";
    toast(`${action}: ${res.decisions.length} decision${res.decisions.length === 1 ? "" : "s"} logged`, "success");
  } catch (err) {
    toast(err.message, "error");
  } finally {
    refreshSelection();
  }
}

bar.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", () => act(b.dataset.action)));
bar.addEventListener("submit", (e) => e.preventDefault());
refreshSelection();
