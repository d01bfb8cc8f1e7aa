"""In real Chromium: a moderator logs in, finds a report about a video on the staff page, removes
it with the bulk action, and the video is gone from the feed; its owner sees the removal under
Notices and appeals; anyone can check a clip's provenance on the verify page."""
import json
import subprocess
import sys

import pytest

from tests.browser.test_create_flow import shot
from tests.processes import ROOT, Stack

pytestmark = pytest.mark.browser

# Runs inside the site's own database (manage.py shell): people, two posted clips (Flatland,
# watermarked and signed as the worker would), a remix of the first, reports, a refused prompt and
# a held clip, so the queue looks like a day's work.
SEED = r"""
import json
import numpy as np
import random
from accounts.services import user_create
from feed.services import video_create_draft, video_publish
from generation.dit import world
from generation.dit.video_io import mp4_bytes
from generation.models import GenerationJob
from generation.services.events import png_bytes
from moderation.services import frames_flag, prompt_flag, report_create
from safety.provenance import mp4_sign
from safety.watermark import watermark_frames

staff = user_create(username="mod", password="correct-horse-42")
staff.is_staff = True
staff.save()
alice = user_create(username="alice", password="correct-horse-42")
bob = user_create(username="bob", password="correct-horse-42")

def post(owner, seed, prompt, parent=None):
    clip = world.render_numpy(world.sample_spec(random.Random(seed)), 64)
    big = watermark_frames(clip, owner.username, phase=seed / 7)
    job = GenerationJob.objects.create(owner=owner, prompt=prompt, seed=seed, steps=20, guidance=2.0,
                                       status="succeeded", parent=parent, mode="remix" if parent else "generate")
    parent_mp4 = parent.file.open("rb").read() if parent else None
    mp4 = mp4_sign(mp4=mp4_bytes(big), title=f"seed-{seed}.mp4", seed=seed, model_version="flatland-dit",
                   creator=owner.username, parent_mp4=parent_mp4, parent_id=str(parent.pk) if parent else "",
                   job_id=str(job.pk))
    video = video_create_draft(owner=owner, prompt=prompt, seed=seed, model_version="flatland-dit", mp4=mp4,
                               poster_png=png_bytes(big[8]), width=256, height=256, frame_count=16, fps=8,
                               parent=parent, remix_mode="remix" if parent else "")
    GenerationJob.objects.filter(pk=job.pk).update(video=video)
    return video_publish(video=video, user=owner, visibility="public"), clip

v1, clip = post(alice, 3, "a red circle moving right on a blue background")
v2, _ = post(alice, 8, "a big yellow triangle falling on a purple background")
remix, _ = post(bob, 11, "a green circle moving right on a blue background", parent=v1)
report_create(reporter=bob, video=v1, reason="violence", details="looks like it is hurting the square")
report_create(reporter=bob, video=v2, reason="spam", details="posted ten times today")
prompt_flag(user=bob, prompt="a man shooting people in a crowded street", category="violence",
            reason="This looks like graphic violence (the prompt mentions \u201cshooting people\u201d)", source="rule")
job = GenerationJob.objects.create(owner=bob, prompt="two bodies on a beach", seed=4, steps=20, guidance=2.0,
                                   status="failed", error="held for review")
frames_flag(job=job, check_name="nsfw", reason="Frame 6 of the clip reads as sexual content to the frame check "
            "(NSFW score 0.91, the limit is 0.80).", frames=clip, frame_indices=[0, 5, 10, 15],
            scores=[0.12, 0.91, 0.4, 0.2])
print("SEEDED " + json.dumps({"v1": v1.pk, "v2": v2.pk, "remix": remix.pk, "remix_file": remix.file.path}))
"""


@pytest.fixture
def site(tmp_path):
    stack = Stack(tmp_path, "embedded", SPACETIME_SIGNING_DIR=tmp_path / "signing")
    try:
        stack.start_site(worker="no")
        out = subprocess.run([sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=stack.env,
                             capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-3000:]
        stack.seeded = json.loads(out.stdout.split("SEEDED ", 1)[1])
        yield stack
    finally:
        stack.stop()


def _login(context, site, username):
    page = context.new_page()
    page.goto(site.base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct-horse-42")
    page.click("#login-form button[type=submit]")
    page.wait_for_url(site.base + "/")
    return page


def test_staff_bulk_remove_a_reported_video_and_it_leaves_the_feed(browser, site, tmp_path):
    v1, v2 = site.seeded["v1"], site.seeded["v2"]
    staff = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = _login(staff, site, "mod")
    assert page.locator(f'#feed article[data-video="{v1}"]').count() == 1
    page.click("text=Moderation")
    page.wait_for_url(site.base + "/moderation")
    row = page.locator(f'#reports tr:has-text("video {v1}")')
    assert "Violence or gore" in row.inner_text() and "@bob" in row.inner_text()
    assert page.locator("#frames tr[data-key]").count() == 1 and page.locator("#prompts tr[data-key]").count() == 1
    assert page.evaluate("[...document.querySelectorAll('.mod-strip, .mod-thumb img')].every((i) => i.complete && i.naturalWidth > 0)")
    assert page.is_disabled('#mod-bar button[data-action="remove"]')
    row.locator('input[name="item"]').check()
    page.locator(f'#reports tr:has-text("video {v2}") input[name="item"]').check()
    assert page.inner_text("#mod-selected") == "2 selected"
    page.fill("#mod-note", "Graphic violence and spam are not allowed here.")
    shot(page, "moderation.png", tmp_path)
    page.click('#mod-bar button[data-action="remove"]')
    page.wait_for_selector("#reports tr[data-key]", state="detached")
    assert "0 open" in page.inner_text("#reports h2")
    log = page.inner_text("#mod-log")
    assert f"video {v1}" in log and f"video {v2}" in log and "Graphic violence" in log

    member = browser.new_context(viewport={"width": 1280, "height": 900})
    feed = member.new_page()
    feed.goto(site.base + "/")
    assert feed.locator(f'article[data-video="{v1}"]').count() == 0
    assert feed.locator(f'article[data-video="{site.seeded["remix"]}"]').count() == 1  # the remix stays
    assert feed.goto(f"{site.base}/v/{v1}").status == 404

    owner = _login(browser.new_context(viewport={"width": 1280, "height": 900}), site, "alice")
    owner.goto(site.base + "/moderation/notices")
    notice = owner.locator(".notice-list li", has_text=f"video {v1}")
    assert "Graphic violence" in notice.inner_text()
    notice.locator("textarea").fill("It is a cartoon circle; nothing is hurt.")
    notice.locator("button").click()
    notice.locator("text=Appeal open").wait_for()
    shot(owner, "notices.png", tmp_path)
    assert owner.goto(site.base + "/moderation").status == 404  # not staff

    page.reload()
    assert "It is a cartoon circle" in page.inner_text("#appeals")


def test_the_verify_page_shows_the_manifest_and_lineage_of_a_remix(browser, site, tmp_path):
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(site.base + "/")
    page.click("text=Verify")
    page.wait_for_url(site.base + "/verify")
    page.set_input_files("input[name=file]", site.seeded["remix_file"])
    page.click("#verify-form button[type=submit]")
    page.wait_for_selector("#verify-result")
    shot(page, "verify.png", tmp_path)
    assert "Signed by this instance, intact" in page.inner_text("#verify-state")
    assert page.inner_text("#verify-parent") == f"video {site.seeded['v1']}"
    lineage = page.inner_text("#verify-lineage")
    assert f"@bob’s video {site.seeded['remix']}" in lineage and f"@alice’s video {site.seeded['v1']}" in lineage
    page.click("#verify-lineage >> text=lineage tree")
    page.wait_for_url(f"**/v/{site.seeded['remix']}/lineage")
