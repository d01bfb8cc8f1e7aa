// The signed-in user's notification channel: a toast when one of their videos is ready or failed.
import { toast, wsUrl } from "./api.js";

let delay = 1000;
function connect() {
  const socket = new WebSocket(wsUrl("/ws/notifications/"));
  socket.onopen = () => { delay = 1000; };
  socket.onmessage = (msg) => {
    const n = JSON.parse(msg.data);
    if (n.kind === "job.succeeded") toast("Your video is ready — it is in your drafts.", "success");
    else if (n.kind === "job.failed") toast(`A video failed: ${n.reason}`, "error");
    else if (n.kind?.startsWith("cameo.") && n.message) toast(n.message, "info");  // your cameo used, requests
  };
  socket.onclose = () => { setTimeout(connect, delay); delay = Math.min(delay * 2, 30000); };
}
connect();
