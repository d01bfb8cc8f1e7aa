// The vertical feed: autoplay of the visible card, watch time posted when a card leaves the screen,
// more cards as the end comes near, "see less like this", and steering chips (text -> weights).
import { api, toast } from "./api.js";

const feed = document.getElementById("feed");
const signedIn = Boolean(document.body.dataset.user);
const VISIBLE = 0.6; // a card counts as on screen (plays, accrues watch time) from 60% visible

// --- autoplay and watch time --------------------------------------------------------------------
const watching = new Map(); // card -> performance.now() when it came on screen

function postView(card, seconds) {
  if (!signedIn || seconds < 0.3) return;
  // keepalive: the request survives the page being closed or navigated away
  fetch(`/api/videos/${card.dataset.video}/view`, {
    method: "POST", keepalive: true, credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content },
    body: JSON.stringify({ watch_seconds: Math.min(3600, Math.round(seconds * 100) / 100) }),
  }).then((res) => { if (res.ok) card.dataset.viewed = String(Number(card.dataset.viewed || 0) + 1); })
    .catch(() => {});
}

function leave(card) {
  const since = watching.get(card);
  if (since === undefined) return;
  watching.delete(card);
  card.querySelector("video")?.pause();
  postView(card, (performance.now() - since) / 1000);
}

const onScreen = new IntersectionObserver((items) => {
  for (const item of items) {
    const card = item.target;
    if (item.isIntersecting && item.intersectionRatio >= VISIBLE) {
      if (!watching.has(card)) {
        watching.set(card, performance.now());
        card.querySelector("video")?.play().catch(() => {});
        card.classList.add("current");
      }
    } else {
      card.classList.remove("current");
      leave(card);
    }
  }
}, { root: feed, threshold: [0, VISIBLE, 1] });

addEventListener("pagehide", () => { for (const card of [...watching.keys()]) leave(card); });
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") for (const card of [...watching.keys()]) leave(card);
});

function watch(root) {
  root.querySelectorAll(".vcard").forEach((card) => onScreen.observe(card));
}

// --- more cards ---------------------------------------------------------------------------------
const end = document.getElementById("feed-end");
let loading = false;

async function fetchCards(cursor) {
  // the next page as HTML cards (the same template as the first page) and the cursor after it
  const query = `tab=${feed.dataset.tab.replace("_", "-")}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
  const res = await fetch(`/feed/cards?${query}`, { credentials: "same-origin" });
  if (!res.ok) throw new Error(await res.text());
  const box = document.createElement("div");
  box.innerHTML = await res.text();
  return { cards: [...box.querySelectorAll(".vcard")], next: res.headers.get("X-Next-Cursor") || "" };
}

function place(cards, next) {
  cards.forEach((card) => { end.before(card); onScreen.observe(card); });
  feed.dataset.next = next;
  end.innerHTML = next ? '<span class="muted">Loading more…</span>' : '<span class="muted">You’re all caught up.</span>';
}

async function loadMore() {
  const cursor = feed.dataset.next;
  if (!cursor || loading) return;
  loading = true;
  try {
    const { cards, next } = await fetchCards(cursor);
    place(cards, next);
  } catch (err) {
    toast(err.message || "Could not load more videos.", "error");
  } finally {
    loading = false;
  }
}

new IntersectionObserver((items) => { if (items.some((i) => i.isIntersecting)) loadMore(); },
  { root: feed, rootMargin: "0px 0px 200% 0px" }).observe(end);

async function reloadFeed() {
  // new weights, new ranking: the first page again, from the top
  for (const card of [...watching.keys()]) leave(card);
  let page;
  try { page = await fetchCards(null); } catch { return toast("Could not refresh the feed.", "error"); }
  feed.querySelectorAll(".vcard").forEach((card) => { onScreen.unobserve(card); card.remove(); });
  feed.scrollTo({ top: 0 });
  place(page.cards, page.next);
  feed.dataset.version = String(Number(feed.dataset.version || 0) + 1);
}

// --- card buttons: sound, see less ----------------------------------------------------------------
feed.addEventListener("click", async (e) => {
  const sound = e.target.closest(".vsound");
  if (sound) {
    const video = sound.closest(".vcard").querySelector("video");
    video.muted = !video.muted;
    sound.setAttribute("aria-pressed", String(!video.muted));
    return;
  }
  const less = e.target.closest("[data-see-less]");
  const undo = e.target.closest("[data-undo-see-less]");
  const target = less || undo;
  if (!target) return;
  const card = target.closest(".vcard");
  try {
    await api(`/api/videos/${card.dataset.video}/see-less`, { method: less ? "POST" : "DELETE" });
    card.classList.toggle("dismissed", Boolean(less));
    card.querySelector(".vdismissed").hidden = !less;
    if (less) card.querySelector("video")?.pause();
  } catch (err) { toast(err.message, "error"); }
});

// --- steering chips -----------------------------------------------------------------------------
const form = document.getElementById("steer-form");
const chipsBox = document.getElementById("chips");
const STEP = 0.5;

function renderChips(chips) {
  chipsBox.replaceChildren(...chips.map((chip) => {
    const el = document.createElement("span");
    el.className = `wchip ${chip.weight > 0 ? "up" : "down"}`;
    el.dataset.attribute = chip.attribute;
    el.dataset.weight = String(chip.weight);
    const label = document.createElement("span");
    label.className = "wchip-label";
    label.textContent = `${chip.weight > 0 ? "more" : "less"} ${chip.label}`;
    const weight = document.createElement("output");
    weight.textContent = `${chip.weight > 0 ? "+" : ""}${chip.weight}`;
    const button = (cls, text, title) => {
      const b = document.createElement("button");
      b.type = "button"; b.className = cls; b.textContent = text; b.title = title;
      b.setAttribute("aria-label", `${title}: ${chip.label}`);
      return b;
    };
    el.append(label, button("dec", "−", "Less"), weight, button("inc", "+", "More"), button("remove", "×", "Remove"));
    return el;
  }));
  document.getElementById("chips-clear").hidden = chips.length === 0;
}

if (form) {
  renderChips(JSON.parse(document.getElementById("chips-data").textContent));
  const error = form.querySelector('.error[data-field="text"]');

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.hidden = true;
    const input = form.querySelector("#steer-text");
    try {
      const out = await api("/api/feed/steering", { method: "POST", body: { text: input.value } });
      renderChips(out.chips);
      input.value = "";
      const read = out.understood.map((c) => `${c.weight > 0 ? "more" : "less"} ${c.label}`).join(", ");
      toast(`Understood: ${read}${out.ignored.length ? ` (not understood: ${out.ignored.join(", ")})` : ""}`, "success");
      await reloadFeed();
    } catch (err) {
      error.textContent = err.body?.text ? [].concat(err.body.text).join(" ") : err.message;
      error.hidden = false;
    }
  });

  chipsBox.addEventListener("click", async (e) => {
    const chip = e.target.closest(".wchip");
    const action = e.target.closest("button");
    if (!chip || !action) return;
    const attribute = encodeURIComponent(chip.dataset.attribute);
    const current = Number(chip.dataset.weight);
    try {
      if (action.classList.contains("remove")) {
        await api(`/api/feed/steering/${attribute}`, { method: "DELETE" });
      } else {
        const weight = Math.max(-3, Math.min(3, current + (action.classList.contains("inc") ? STEP : -STEP)));
        await api(`/api/feed/steering/${attribute}`, { method: "PATCH", body: { weight } });
      }
      renderChips((await api("/api/feed/steering")).chips);
      await reloadFeed();
    } catch (err) { toast(err.message, "error"); }
  });

  document.getElementById("chips-clear").addEventListener("click", async () => {
    try {
      await api("/api/feed/steering", { method: "DELETE" });
      renderChips([]);
      await reloadFeed();
    } catch (err) { toast(err.message, "error"); }
  });
}

watch(feed);
