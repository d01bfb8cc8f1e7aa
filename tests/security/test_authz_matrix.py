"""The authorization matrix: every API operation (from the OpenAPI schema), every page (from the URL
resolver) and every WebSocket route (from the ASGI router), each called on the owner's private
things as the owner, another user, staff and anonymous.

A leak is: someone other than the owner (and staff) reads the owner's secret marker, or changes
anything the owner owns. Staff may read and moderate; no one gets a 500."""
import itertools

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.test import Client
from rest_framework.test import APIClient

from .endpoints import api_operations, fill, page_routes, page_url, path_params, sample_body, websocket_routes
from .world import SECRET, build_world, owner_changes, owner_state

OUTSIDERS = ("other", "anonymous")


@pytest.fixture
def world(make_user):
    return build_world(make_user)


def _api_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _combinations(world, params: list[str]) -> list[dict]:
    pools = [world.path_values(p) for p in params]
    return [dict(zip(params, combo)) for combo in itertools.product(*pools)]


def _body(res) -> str:
    return res.content.decode("utf-8", "replace") if hasattr(res, "content") else ""


OPERATIONS = api_operations()


@pytest.mark.parametrize("method,path,op", OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_api_operation_leaks_nothing(world, method, path, op):
    combos = _combinations(world, path_params(op)) or [{}]
    body = sample_body(op) if method in ("POST", "PUT", "PATCH") else None
    owner_saw = []
    for values in combos:
        url = fill(path, values)
        for role in OUTSIDERS:
            before = owner_state(world.owner)
            res = _api_client(world.users()[role]).generic(method, url, data=None if body is None else _json(body),
                                                           content_type="application/json")
            assert res.status_code < 500, (role, method, url, res.status_code, _body(res)[:300])
            assert SECRET not in _body(res), f"{role} read the owner's secret through {method} {url}"
            changes = owner_changes(before, owner_state(world.owner))
            assert not changes, (f"{role} changed the owner's data through {method} {url}", res.status_code, changes)
        res = _api_client(world.staff).generic(method, url, data=None if body is None else _json(body),
                                               content_type="application/json")
        assert res.status_code < 500, ("staff", method, url, res.status_code, _body(res)[:300])
        if method == "GET":
            res = _api_client(world.owner).get(url)
            assert res.status_code < 500, ("owner", url, res.status_code)
            owner_saw.append(res.status_code)
    if method == "GET" and path_params(op) and "username" not in path_params(op):
        # not vacuous: the owner does read their own things through this endpoint
        assert 200 in owner_saw, (method, path, owner_saw)


def _json(body: dict) -> str:
    import json

    return json.dumps(body)


PAGES = page_routes()


@pytest.mark.parametrize("route,params", PAGES, ids=[r or "/" for r, _ in PAGES])
def test_page_leaks_nothing(world, route, params):
    for values in _combinations(world, params) or [{}]:
        url = page_url(route, values)
        for role in OUTSIDERS + ("staff", "owner"):
            client = Client()
            user = world.users()[role]
            if user is not None:
                client.force_login(user)
            before = owner_state(world.owner)
            res = client.get(url)
            assert res.status_code < 500, (role, url, res.status_code)
            if role in OUTSIDERS:
                assert SECRET not in _body(res), f"{role} read the owner's secret on page {url}"
                # and a form post on it (comment, profile edit, ...) changes nothing of the owner's
                res = client.post(url, {"body": "hijack", "display_name": "hijack", "bio": "hijack",
                                        "caption": "hijack", "visibility": "public"})
                assert res.status_code < 500, (role, "POST", url, res.status_code)
                assert SECRET not in _body(res)
                changes = owner_changes(before, owner_state(world.owner))
                assert not changes, (f"{role} changed the owner's data by POST {url}", changes)


WEBSOCKETS = websocket_routes()
_WS_WORLD = {}


def _owner_events() -> None:
    """Everything the owner's things announce: job events and the owner's notifications."""
    from generation.services import events

    world = _WS_WORLD["world"]
    events.event_send(job_id=world.job.pk, event={"type": "progress", "job": str(world.job.pk), "prompt": SECRET})
    events.notify_user(user_id=world.owner.pk, payload={"kind": "test", "text": SECRET})


async def _connect(consumer, route: str, url: str, user) -> tuple[bool, list[dict]]:
    """Connect as `user`; if accepted, let the owner's events fire and collect what arrives."""
    from channels.db import database_sync_to_async
    from channels.routing import URLRouter
    from django.contrib.auth.models import AnonymousUser
    from django.urls import path

    comm = WebsocketCommunicator(URLRouter([path(route, consumer)]), url)
    comm.scope["user"] = user if user is not None else AnonymousUser()
    connected, _ = await comm.connect(timeout=5)
    received = []
    if connected:
        while not await comm.receive_nothing(timeout=0.3):
            received.append(await comm.receive_json_from())
        await database_sync_to_async(_owner_events)()
        while not await comm.receive_nothing(timeout=0.5):
            received.append(await comm.receive_json_from())
        await comm.disconnect()
    return connected, received


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route,params,consumer", WEBSOCKETS, ids=[r for r, _, _ in WEBSOCKETS])
def test_websocket_leaks_nothing(make_user, route, params, consumer):
    world = build_world(make_user)
    _WS_WORLD["world"] = world
    staff_only = any(word in route for word in ("staff", "moderation", "admin"))
    for values in _combinations(world, params) or [{}]:
        url = page_url(route, values)
        for role, user in world.users().items():
            connected, received = async_to_sync(_connect)(consumer, route, url, user)
            if role in OUTSIDERS:
                assert not any(SECRET in str(m) for m in received), f"{role} received the owner's secret on {url}"
                if staff_only or params:
                    assert not connected, f"{role} may subscribe to {url}"
            if role == "owner":
                assert connected, f"the owner may not subscribe to their own {url}"
                assert any(SECRET in str(m) for m in received), f"the owner got no events on {url}"
