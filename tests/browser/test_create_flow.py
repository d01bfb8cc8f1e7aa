"""A new user, in real Chromium: sign up, type a prompt, watch the progress arrive over the
WebSocket, see the video play, post it, find it in the feed.

"embedded": `manage.py runsite` alone (SQLite, in-process broker and worker): the README's command.
"scaled": the site plus a separate `celery -A config worker -Q gpu` process on PostgreSQL + Redis.
"""
import json
import os
import re
from pathlib import Path

import pytest

from tests.processes import Stack

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SPACETIME_SCREENSHOTS")  # e.g. docs/screenshots: where to keep the pictures


@pytest.fixture(params=["embedded", "scaled"])
def site(request, tmp_path):
    mode = request.param
    if mode == "scaled" and not os.environ.get("REDIS_URL"):
        pytest.skip("the scaled stack needs Redis (REDIS_URL) for a channel layer shared between processes")
    stack = Stack(tmp_path, mode)
    try:
        if mode == "embedded":
            stack.start_site(worker="auto")
        else:
            stack.start_site(worker="no")
            stack.start_worker("gpu1")
            stack.wait_log("gpu1", "ready")
        yield stack
    finally:
        stack.stop()


def shot(page, name, tmp_path):
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=False)


EXTRA_PROMPTS = [
    "a big yellow triangle falling on a purple background",
    "a green square moving left on a black background",
    "a blue circle moving up on an orange background",
    "a white circle to the left of a red square",
    "a purple square moving down on a green background",
]


def more_posts(page):
    """For the documentation pictures only: a few more posts so the feed looks lived in."""
    page.evaluate(
        """async (prompts) => {
             const csrf = document.querySelector('meta[name="csrf-token"]').content;
             const call = (path, body) => fetch(path, {method: body ? "POST" : "GET", credentials: "same-origin",
               headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
               body: body ? JSON.stringify(body) : undefined}).then((r) => r.json());
             for (const [i, prompt] of prompts.entries()) {
               let job = await call("/api/generations", {prompt, steps: 12, seed: 100 + i});
               while (!["succeeded", "failed", "canceled"].includes(job.status)) {
                 await new Promise((r) => setTimeout(r, 500));
                 job = await call(`/api/generations/${job.id}`);
               }
               if (job.video) await call(`/api/videos/${job.video}/publish`, {visibility: "public"});
             }
           }""",
        EXTRA_PROMPTS,
    )


def test_sign_up_create_watch_post_and_find_in_feed(browser, site, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    frames = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append((ws.url, payload))))
    try:
        page.goto(site.base + "/signup")
        page.fill("input[name=username]", "nova")
        page.fill("input[name=display_name]", "Nova")
        page.fill("input[name=password]", "correct-horse-42")
        page.click("#signup-form button[type=submit]")
        page.wait_for_url(site.base + "/create")

        # bad input first: the page shows the API's message next to the field
        page.click("#generate")
        page.wait_for_selector('.error[data-field="prompt"]:not([hidden])')
        assert "empty" in page.inner_text('.error[data-field="prompt"]')

        prompt = "a red circle moving right on a blue background"
        page.fill("#prompt", prompt)
        page.click("summary")
        page.fill("#steps", "8")
        page.fill("#seed", "42")
        page.click("#generate")

        page.wait_for_function("() => +document.getElementById('stage').dataset.progressEvents >= 3", timeout=180_000)
        if site.mode == "embedded":
            shot(page, "create-progress.png", tmp_path)
        page.wait_for_selector('#stage[data-state="succeeded"]', timeout=240_000)

        progress = [json.loads(p) for url, p in frames if "/ws/jobs/" in url and '"progress"' in p]
        assert len(progress) >= 5, frames
        assert [e["step"] for e in progress][-1] == 8
        # The worker's events carry a PNG each; the snapshot sent on subscribe (events.event_for) has none
        # while the job's row holds no preview yet (the worker writes it every PROGRESS_WRITE_EVERY_S).
        with_preview = [e for e in progress if e["preview"] is not None]
        assert len(with_preview) >= 5 and progress[-1] in with_preview
        assert all(e["preview"].startswith("data:image/png") for e in with_preview)
        assert int(page.get_attribute("#stage", "data-progress-events")) >= 5

        page.wait_for_function(
            "() => { const v = document.getElementById('result');"
            " return v.readyState >= 2 && v.currentTime > 0 && !v.paused && v.videoWidth > 0; }",
            timeout=30_000,
        )
        # 64x64 model frames, stored upscaled 4x under the watermark (safety/watermark.py)
        assert page.evaluate("document.getElementById('result').videoWidth") == 256

        page.select_option("#visibility", "public")
        page.fill("#caption", "my first clip")
        page.click("#post")
        page.wait_for_url(site.base + "/")
        if SHOTS and site.mode == "embedded":
            more_posts(page)
            page.reload()
        card = page.locator("#feed .card").first
        if not SHOTS:
            assert prompt in card.inner_text() and "my first clip" in card.inner_text()
        assert prompt in page.inner_text("#feed") and "my first clip" in page.inner_text("#feed")
        page.wait_for_function(
            "() => { const v = document.querySelector('#feed .card video');"
            " return v && v.readyState >= 2 && v.currentTime > 0; }",
            timeout=30_000,
        )
        if site.mode == "embedded":
            shot(page, "feed.png", tmp_path)

        # a stranger sees the public post but cannot follow the job's live channel
        stranger = browser.new_context().new_page()
        stranger.goto(site.base + "/")
        assert prompt in stranger.inner_text("#feed")
        job_id = re.search(r"/ws/jobs/([0-9a-f-]+)/", frames[0][0]).group(1)
        refused = stranger.evaluate(
            """(url) => new Promise((done) => {
                 const ws = new WebSocket(url);
                 ws.onopen = () => done("open");
                 ws.onclose = () => done("closed");
               })""",
            site.base.replace("http", "ws") + f"/ws/jobs/{job_id}/",
        )
        assert refused == "closed"
        stranger.context.close()
    finally:
        context.close()
