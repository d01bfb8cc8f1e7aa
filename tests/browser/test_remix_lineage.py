"""In real Chromium: remix a video twice down a chain (video to video, then extend) with the Remix
button and its modes, then open the lineage tree and see all three generations, clickable."""
import pytest

from tests.browser.test_create_flow import shot
from tests.processes import Stack

pytestmark = pytest.mark.browser


@pytest.fixture
def site(tmp_path):
    stack = Stack(tmp_path, "embedded")
    try:
        stack.start_site(worker="auto")
        yield stack
    finally:
        stack.stop()


def _make_and_post(page, site, *, mode=None, prompt):
    """On the create page: pick the mode, generate, wait, post; returns the new video's id."""
    page.fill("#prompt", prompt)
    if mode:
        page.check(f'input[name="mode"][value="{mode}"]')
        assert page.is_visible("#strength-field") == (mode == "remix")
    page.click("summary")
    page.fill("#steps", "4")
    page.click("#generate")
    page.wait_for_selector('#stage[data-state="succeeded"]', timeout=240_000)
    job = page.get_attribute("#stage", "data-job")
    video = page.evaluate(f"fetch('/api/generations/{job}').then((r) => r.json()).then((j) => j.video)")
    page.select_option("#visibility", "public")
    page.click("#post")
    page.wait_for_url(site.base + "/")
    return video


def test_remix_twice_and_see_three_generations_in_the_tree(browser, site, tmp_path):
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.goto(site.base + "/signup")
    page.fill("input[name=username]", "remixer")
    page.fill("input[name=password]", "correct-horse-42")
    page.click("#signup-form button[type=submit]")
    page.wait_for_url("**/create")
    root = _make_and_post(page, site, prompt="a red circle moving right on a blue background")

    page.goto(f"{site.base}/v/{root}")
    page.click("#remix-button")
    page.wait_for_url(f"**/create?remix={root}")
    assert page.is_visible("#remix-modes")
    child = _make_and_post(page, site, mode="remix", prompt="a green circle moving right on a blue background")

    page.goto(f"{site.base}/v/{child}")
    assert "Video to video of" in page.inner_text("#attribution") and "@remixer" in page.inner_text("#attribution")
    page.click("#remix-button")
    page.wait_for_url(f"**/create?remix={child}")
    grandchild = _make_and_post(page, site, mode="extend", prompt="a green circle moving right on a blue background")

    page.goto(f"{site.base}/v/{grandchild}")
    assert "Extend of" in page.inner_text("#attribution")
    page.click("#lineage-link")
    page.wait_for_url(f"**/v/{grandchild}/lineage")
    ancestors = page.locator(".lt-ancestors .lt-thumb")
    assert [ancestors.nth(i).get_attribute("data-node") for i in range(ancestors.count())] == [str(root), str(child)]
    assert page.get_attribute(".lt-thumb.current", "data-node") == str(grandchild)

    ancestors.first.click()  # the root's tree: itself, its remix, the remix of the remix
    page.wait_for_url(f"**/v/{root}/lineage")
    assert page.get_attribute(".lt-thumb.current", "data-node") == str(root)
    nodes = page.locator(".lt-tree .lt-children .lt-thumb")
    assert [nodes.nth(i).get_attribute("data-node") for i in range(nodes.count())] == [str(child), str(grandchild)]
    assert "2 descendants" in page.inner_text("#lineage")
    assert page.evaluate("document.querySelectorAll('.lt-tree img').length") == 3
    assert page.evaluate("[...document.querySelectorAll('.lt-tree img')].every((i) => i.complete && i.naturalWidth > 0)")
    shot(page, "lineage.png", tmp_path)
