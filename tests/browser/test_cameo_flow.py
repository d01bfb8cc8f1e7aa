"""Cameos in real Chromium, on the site as people run it (`manage.py runsite`, embedded): Ana
uploads a cameo at "people I approve"; Bob asks for access and Ana approves him; Bob generates
with @ana_cam; Ana is told, finds the draft on her dashboard and deletes it.

The worker loads a tiny random-init DiT with reference conditioning (tests/cameos/weights.py):
the cameo path through the real pipeline, whatever the shipped weights can do.
"""
import os
from pathlib import Path

import pytest

from benchmarks.cameos.pictures import encode, picture
from tests.cameos.weights import write_cameo_weights
from tests.processes import Stack

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("SPACETIME_SCREENSHOTS")  # e.g. docs/screenshots: where to keep the pictures


@pytest.fixture
def site(tmp_path):
    stack = Stack(tmp_path, "embedded", SPACETIME_WEIGHTS=write_cameo_weights(tmp_path / "weights"),
                  GENERATION_DEFAULT_STEPS=4)
    try:
        stack.start_site(worker="auto")
        yield stack
    finally:
        stack.stop()


def shot(page, name, tmp_path):
    folder = Path(SHOTS) if SHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)


def sign_up(browser, site, username):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # confirm() before deleting
    page.goto(site.base + "/signup")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct-horse-42")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url(site.base + "/create")
    return page


def test_upload_approve_generate_and_the_owner_deletes_it(browser, site, tmp_path):
    ana = sign_up(browser, site, "ana")
    bob = sign_up(browser, site, "bob")
    try:
        # Ana registers her cameo at "people I approve" and rules out politics
        picture_file = tmp_path / "ana.jpg"
        picture_file.write_bytes(encode(picture("face", 7, size=480), "JPEG", quality=90))
        ana.goto(site.base + "/cameos")
        ana.fill("#cameo-upload input[name=handle]", "ana_cam")
        ana.set_input_files("#cameo-upload input[name=image]", str(picture_file))
        ana.select_option("#cameo-upload select[name=permission]", "approved")
        ana.click("#upload")
        ana.wait_for_url(site.base + "/cameos/ana_cam")
        ana.fill("#restriction-text", "never in political videos")
        ana.click("#restriction-text + button")
        ana.wait_for_selector("#restrictions li:has-text('never in political videos')")
        # the picture loads after the page; wait for it rather than reading a half-loaded <img>
        ana.wait_for_function("(() => { const i = document.querySelector('#cameo img.cameo-pic');"
                              " return i && i.complete && i.naturalWidth > 0; })()", timeout=15000)
        assert ana.evaluate("document.querySelector('#cameo img.cameo-pic').naturalWidth") == 480

        # Bob cannot use it yet; he asks
        bob.goto(site.base + "/cameos/ana_cam")
        assert "only for people @ana approved" in bob.inner_text("#reason")
        assert bob.locator("#cameo img").count() == 0  # no picture before consent
        bob.fill("#access input[name=note]", "for my birthday video")
        bob.click("#request-access")
        bob.wait_for_selector("#request-status:has-text('Requested')")
        shot(bob, "cameo-request.png", tmp_path)

        # Ana sees the request and approves it
        ana.goto(site.base + "/cameos")
        ana.wait_for_selector("#inbox li[data-request=bob]")
        assert "for my birthday video" in ana.inner_text("#inbox")
        shot(ana, "cameos.png", tmp_path)
        ana.click("#inbox li[data-request=bob] button:has-text('Approve')")
        ana.wait_for_selector("#inbox:has-text('Nothing waits for your decision')")
        ana.goto(site.base + "/cameos/ana_cam")
        assert ana.get_attribute("#grants li[data-grant=bob]", "data-status") == "approved"
        shot(ana, "cameo-settings.png", tmp_path)

        # Bob generates with @ana_cam; Ana's open page is told
        bob.goto(site.base + "/cameos/ana_cam")
        assert "You may use this cameo" in bob.inner_text("#access")
        bob.goto(site.base + "/create")
        bob.fill("#prompt", "@ana_cam moving right on a blue background")
        bob.click("#generate")
        bob.wait_for_selector('#stage[data-state="succeeded"], #stage[data-state="failed"]', timeout=240_000)
        assert bob.get_attribute("#stage", "data-state") == "succeeded", (bob.inner_text("#stage"), site.log_tail())
        ana.wait_for_selector(".toast:has-text('@bob made a video with your cameo @ana_cam')", timeout=30_000)

        # Bob's draft waits for Ana's approval before it can be posted
        draft_id = bob.evaluate("""async () => (await (await fetch('/api/me/drafts')).json()).results[0].id""")
        refused = bob.evaluate("""async (id) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/api/videos/${id}/publish`, {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf}, body: '{}'});
            return [r.status, await r.json()];
          }""", draft_id)
        assert refused[0] == 409 and "approval inbox" in refused[1]["video"][0]

        # Ana finds it on her dashboard and deletes it
        ana.goto(site.base + "/cameos/ana_cam")
        ana.click("#open-dashboard")
        ana.wait_for_url(site.base + "/cameos/ana_cam/uses")
        card = ana.locator(f"#uses article[data-video='{draft_id}']")
        assert "@bob" in card.inner_text() and "Needs approval" in card.inner_text()
        ana.wait_for_function(
            f"() => document.querySelector(\"#uses article[data-video='{draft_id}'] video\").readyState >= 1",
            timeout=30_000)
        shot(ana, "cameo-dashboard.png", tmp_path)
        card.locator("button:has-text('Delete')").click()
        ana.wait_for_selector(f"#uses article[data-video='{draft_id}']:has-text('Removed')")
        gone = bob.evaluate("""async (id) => (await fetch(`/api/videos/${id}`)).status""", draft_id)
        assert gone == 404
        assert bob.evaluate("""async () => (await (await fetch('/api/me/drafts')).json()).count""") == 0
    finally:
        ana.context.close()
        bob.context.close()
