"""In real Chromium, on a seeded site: the vertical For You feed autoplays the card on screen,
records watch time when it leaves, loads more while scrolling, never shows a watched video
again, explains every card, turns plain words into editable weight chips that reorder the feed,
"see less like this", and the Following tab."""
import subprocess
import sys

import pytest

from tests.browser.test_create_flow import shot
from tests.processes import ROOT, Stack

pytestmark = pytest.mark.browser
PASSWORD = "spacetime-seed"  # feed/management/commands/seed_site.py


@pytest.fixture
def site(tmp_path):
    stack = Stack(tmp_path, "embedded")
    try:
        stack.start_site(worker="no")  # migrates
        seeded = subprocess.run(
            [sys.executable, "manage.py", "seed_site", "--users", "80", "--videos", "300", "--likes", "1500",
             "--bench-follows", "25", "--seed", "3"],
            cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=300)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        yield stack
    finally:
        stack.stop()


def _playing(page, index: int) -> bool:
    return page.evaluate(
        "(i) => { const v = document.querySelectorAll('#feed .vcard video')[i];"
        " return !!v && v.readyState >= 2 && v.currentTime > 0 && !v.paused; }", index)


def _scroll_to(page, index: int) -> None:
    page.evaluate("(i) => document.querySelectorAll('#feed .vcard')[i].scrollIntoView()", index)
    page.wait_for_function("(i) => document.querySelectorAll('#feed .vcard')[i].classList.contains('current')", arg=index)


def _why(page, index: int) -> str:
    """The card's explanation (open or closed)."""
    return page.evaluate("(i) => document.querySelectorAll('#feed .vcard')[i].querySelector('.why').textContent", index)


def _reasons(page, index: int) -> list[str]:
    return page.evaluate(
        "(i) => [...document.querySelectorAll('#feed .vcard')[i].querySelectorAll('.why li')].map((li) => li.dataset.signal)",
        index)


def test_scroll_watch_steer_and_explain(browser, site, tmp_path):
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.goto(site.base + "/login")
    page.fill("input[name=username]", "bench")
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(site.base + "/")

    # the first card plays (muted autoplay of the visible video); the others wait
    assert page.locator("#feed .vcard").count() == 20
    page.wait_for_function("() => document.querySelector('#feed .vcard').classList.contains('current')")
    page.wait_for_function("() => { const v = document.querySelector('#feed .vcard video');"
                           " return v.readyState >= 2 && v.currentTime > 0 && !v.paused; }", timeout=30_000)
    assert not _playing(page, 1)
    first = page.get_attribute("#feed .vcard >> nth=0", "data-video")

    # why am I seeing this: the reasons of the score, with their weights
    page.click("#feed .vcard >> nth=0 >> summary")
    why = page.inner_text("#feed .vcard >> nth=0 >> .why")
    assert _reasons(page, 0) and "Score" in why
    shot(page, "feed-for-you.png", tmp_path)

    # scrolling: the next card plays, the first one's watch time is posted as a view
    page.wait_for_timeout(700)
    _scroll_to(page, 1)
    page.wait_for_function("() => document.querySelector('#feed .vcard').dataset.viewed === '1'")
    page.wait_for_function("() => { const v = document.querySelectorAll('#feed .vcard video')[1];"
                           " return v.readyState >= 2 && v.currentTime > 0 && !v.paused; }", timeout=30_000)
    assert page.evaluate("document.querySelector('#feed .vcard video').paused")

    # near the end of the page, the next page of cards arrives (no card twice)
    _scroll_to(page, 18)
    page.wait_for_function("() => document.querySelectorAll('#feed .vcard').length > 20", timeout=30_000)
    ids = page.evaluate("[...document.querySelectorAll('#feed .vcard')].map((c) => c.dataset.video)")
    assert len(ids) == len(set(ids))

    # a watched video never comes back
    page.reload()
    page.wait_for_selector("#feed .vcard")
    assert first not in page.evaluate("[...document.querySelectorAll('#feed .vcard')].map((c) => c.dataset.video)")

    # steering: words become chips, the feed reorders in the stated direction
    assert not any("steering" in _reasons(page, i) for i in range(5))
    page.click("#steer-go")  # nothing written: the field says what to write
    page.wait_for_selector('.error[data-field="text"]:not([hidden])')
    assert "more bouncing balls" in page.inner_text('.error[data-field="text"]')
    page.fill("#steer-text", "more bouncing circles, less purple")
    page.click("#steer-go")
    page.wait_for_function("() => document.querySelectorAll('#chips .wchip').length === 3")
    page.wait_for_function("() => document.getElementById('feed').dataset.version === '1'")
    chips = page.evaluate("[...document.querySelectorAll('#chips .wchip')].map((c) => [c.dataset.attribute, +c.dataset.weight])")
    assert dict(chips) == {"motion:falling": 1.0, "shape:circle": 1.0, "colour:purple": -1.0}
    assert "Your steering: more" in _why(page, 0)
    for i in range(3):  # nothing purple at the top any more
        assert "less purple" not in _why(page, i)

    # chips are editable: stronger circles, no purple chip
    page.click('#chips .wchip[data-attribute="shape:circle"] .inc')
    page.wait_for_function("() => document.querySelector('#chips .wchip[data-attribute=\"shape:circle\"] output').textContent === '+1.5'")
    page.wait_for_function("() => document.getElementById('feed').dataset.version === '2'")
    page.click("#feed .vcard >> nth=0 >> summary")
    assert "more circles (+1.5)" in _why(page, 0)
    shot(page, "feed-steering.png", tmp_path)
    page.click('#chips .wchip[data-attribute="colour:purple"] .remove')
    page.wait_for_function("() => document.querySelectorAll('#chips .wchip').length === 2")
    page.wait_for_function("() => document.getElementById('feed').dataset.version === '3'")  # refreshed

    # see less like this
    page.click("#feed .vcard >> nth=0 >> [data-see-less]")
    page.wait_for_selector("#feed .vcard >> nth=0 >> .vdismissed:not([hidden])")

    # Following: the people bench follows, newest first
    page.click("#tab-following")
    page.wait_for_url("**/?tab=following")
    page.wait_for_selector("#feed .vcard")
    assert all(s == ["following"] for s in (_reasons(page, i) for i in range(3)))
    page.click("#feed .vcard >> nth=0 >> summary")
    assert "You follow @" in _why(page, 0)
    shot(page, "feed-following.png", tmp_path)
