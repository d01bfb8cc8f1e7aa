"""XSS and CSRF on every page (found through the URL resolver).

XSS: people's text (prompts, display names, bios, captions, comments, and whatever new models
carry, filled by a generic pass over every text field of every row) holds a script payload; every
page is rendered as the owner, another user, staff and anonymous, and the payload never comes out
as markup. CSRF: every form on every page, posted without its token, is refused with 403, and
the API refuses a session-authenticated write without the token too."""
import re

import pytest
from django.apps import apps
from django.db import models, transaction
from django.test import Client

from .endpoints import page_routes, page_url
from .world import build_world

PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
RAW = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>")
SKIP_FIELDS = {"password", "username", "lineage_path", "file", "poster", "model_version", "status", "visibility",
               "mode", "remix_mode", "run_token", "last_preview", "email", "key"}


def _poison_every_text_field() -> int:
    """Put the payload in every free-text field of every row (fields with choices stay valid)."""
    n = 0
    for model in apps.get_models():
        if model._meta.app_label in ("auth", "contenttypes", "sessions", "admin", "authtoken"):
            continue
        fields = [f.name for f in model._meta.concrete_fields
                  if isinstance(f, (models.CharField, models.TextField)) and not f.choices
                  and not f.unique and f.name not in SKIP_FIELDS and (f.max_length or 10_000) >= len(PAYLOAD)]
        if fields:
            try:
                with transaction.atomic():
                    n += model.objects.update(**{name: PAYLOAD for name in fields})
            except Exception:  # rows that refuse edits (an append-only log) keep their text
                pass
    return n


@pytest.fixture
def poisoned(make_user):
    world = build_world(make_user)
    from feed.services import comment_create

    comment_create(video=world.public_video, author=world.other, body=PAYLOAD)
    assert _poison_every_text_field() > 5
    return world


PAGES = page_routes()


@pytest.mark.parametrize("route,params", PAGES, ids=[r or "/" for r, _ in PAGES])
def test_no_script_injection_on_any_page(poisoned, route, params):
    world = poisoned
    values = {"video_id": world.public_video.pk, "username": world.owner.username}
    for name in params:
        values.setdefault(name, world.path_values(name)[0])
    url = page_url(route, values)
    for role, user in world.users().items():
        client = Client()
        if user is not None:
            client.force_login(user)
        res = client.get(url)
        assert res.status_code < 500, (role, url, res.status_code)
        body = res.content.decode("utf-8", "replace")
        for raw in RAW:
            assert raw not in body, f"{url} as {role} renders people's text as markup: {raw}"


def _forms(html: str) -> list[tuple[str, dict]]:
    """(action, fields) of every POST form on a page, with the CSRF token left out."""
    out = []
    for m in re.finditer(r"<form\b([^>]*)>(.*?)</form>", html, re.S | re.I):
        attrs, inner = m.group(1), m.group(2)
        if not re.search(r'method=["\']?post', attrs, re.I):
            continue
        action = re.search(r'action=["\']([^"\']*)', attrs)
        fields = {n: "x" for n in re.findall(r'name=["\']([^"\']+)', inner) if n != "csrfmiddlewaretoken"}
        out.append((action.group(1) if action else None, fields))
    return out


@pytest.mark.parametrize("route,params", PAGES, ids=[r or "/" for r, _ in PAGES])
def test_every_form_needs_its_csrf_token(make_user, route, params):
    world = build_world(make_user)
    values = {"video_id": world.public_video.pk, "username": world.owner.username}
    for name in params:
        values.setdefault(name, world.path_values(name)[0])
    url = page_url(route, values)
    for user in (world.owner, None):
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        page = client.get(url)
        if page.status_code != 200:
            continue
        for action, fields in _forms(page.content.decode()):
            target = action or url
            res = client.post(target, fields)
            assert res.status_code == 403, f"form posting to {target} on {url} works without a CSRF token"


def test_api_session_writes_need_the_csrf_token(make_user):
    world = build_world(make_user)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.other)
    res = client.post(f"/api/videos/{world.public_video.pk}/comments", {"body": "hi"}, content_type="application/json")
    assert res.status_code == 403 and "CSRF" in res.json()["detail"]
    token = client.get("/").cookies["csrftoken"].value
    res = client.post(f"/api/videos/{world.public_video.pk}/comments", {"body": "hi"}, content_type="application/json",
                      headers={"X-CSRFToken": token})
    assert res.status_code == 201
