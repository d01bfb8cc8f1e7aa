// Likes, follow/block and posting a draft from its page: small fetches to the JSON API.
import { api, toast } from "./api.js";

document.addEventListener("click", async (e) => {
  const like = e.target.closest("button[data-like]");
  if (like && !like.disabled) {
    const on = like.getAttribute("aria-pressed") === "true";
    try {
      const video = await api(`/api/videos/${like.dataset.like}/like`, { method: on ? "DELETE" : "POST" });
      like.setAttribute("aria-pressed", String(video.liked));
      like.classList.toggle("on", video.liked);
      like.querySelector(".count").textContent = video.like_count;
    } catch (err) { toast(err.message, "error"); }
  }
  const follow = e.target.closest("#follow");
  const block = e.target.closest("#block");
  const profile = document.querySelector("[data-username]");
  if ((follow || block) && profile) {
    const user = encodeURIComponent(profile.dataset.username);
    try {
      if (follow) {
        const on = follow.dataset.following === "true";
        const p = await api(`/api/users/${user}/follow`, { method: on ? "DELETE" : "POST" });
        follow.dataset.following = String(p.is_following);
        follow.textContent = p.is_following ? "Following" : "Follow";
        follow.classList.toggle("ghost", p.is_following);
        document.getElementById("followers-count").textContent = p.followers;
      } else {
        const on = block.dataset.blocked === "true";
        await api(`/api/users/${user}/block`, { method: on ? "DELETE" : "POST" });
        location.reload();
      }
    } catch (err) { toast(err.message, "error"); }
  }
});

const publish = document.getElementById("publish-form");
publish?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const data = new FormData(publish);
  try {
    await api(`/api/videos/${publish.dataset.video}/publish`, {
      method: "POST", body: { visibility: data.get("visibility"), caption: data.get("caption") },
    });
    location.reload();
  } catch (err) { toast(err.message, "error"); }
});

const allowRemix = document.getElementById("allow-remix");
allowRemix?.addEventListener("change", async () => {
  try {
    await api(`/api/videos/${allowRemix.dataset.video}`, { method: "PATCH", body: { allow_remix: allowRemix.checked } });
    toast(allowRemix.checked ? "Others may remix this video." : "Remixes are off for this video.");
  } catch (err) { allowRemix.checked = !allowRemix.checked; toast(err.message, "error"); }
});
