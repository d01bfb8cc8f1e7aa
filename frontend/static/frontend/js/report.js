// The video page's "Report this video": posts the reason to /api/reports for the staff queue.
import { api } from "./api.js";

const form = document.getElementById("report-form");
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = document.getElementById("report-status");
  const data = new FormData(form);
  try {
    await api("/api/reports", {
      method: "POST",
      body: { video: Number(form.dataset.video), reason: data.get("reason"), details: data.get("details") || "" },
    });
    status.textContent = "Thank you. Moderators will review this video.";
    form.querySelector("button").disabled = true;
  } catch (err) {
    status.textContent = err.message;
  }
});
