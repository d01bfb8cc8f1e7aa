"""/ws/jobs/<id>/ and /ws/notifications/: who may subscribe, and the live events of a real run."""
import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from generation import services
from generation.models import GenerationJob
from generation.routing import websocket_urlpatterns

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

router = URLRouter(websocket_urlpatterns)


def communicator(path, user=None):
    from django.contrib.auth.models import AnonymousUser

    comm = WebsocketCommunicator(router, path)
    comm.scope["user"] = user or AnonymousUser()
    return comm


async def make_job(owner, **kwargs):
    kwargs.setdefault("steps", 4)
    return await sync_to_async(services.job_create)(owner=owner, prompt="a red circle moving right", **kwargs)


async def test_anonymous_and_other_users_are_refused(alice, bob):
    job = await make_job(alice)
    for user, code in ((None, 4401), (bob, 4403)):
        comm = communicator(f"/ws/jobs/{job.pk}/", user)
        connected, close_code = await comm.connect()
        assert not connected and close_code == code
    for path in ("/ws/jobs/00000000-0000-0000-0000-000000000000/", "/ws/jobs/nope/"):
        connected, close_code = await communicator(path, alice).connect()
        assert not connected and close_code == 4403
    connected, _ = await communicator("/ws/notifications/").connect()
    assert not connected


async def test_owner_and_staff_get_the_current_state(alice, staff):
    job = await make_job(alice)
    for user in (alice, staff):
        comm = communicator(f"/ws/jobs/{job.pk}/", user)
        connected, _ = await comm.connect()
        assert connected
        event = await comm.receive_json_from(timeout=5)
        assert event == {"type": "queued", "job": str(job.pk), "status": "queued", "position": 1, "attempt": 1,
                         "note": ""}
        await comm.disconnect()


async def test_full_asgi_stack_uses_the_session_cookie(alice, bob):
    from django.test import Client

    from config.asgi import application

    job = await make_job(alice)
    for user, expect in ((alice, True), (bob, False)):
        client = Client()
        await sync_to_async(client.force_login)(user)
        cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
        comm = WebsocketCommunicator(application, f"/ws/jobs/{job.pk}/",
                                     headers=[(b"cookie", cookie), (b"origin", b"http://localhost"), (b"host", b"localhost")])
        connected, _ = await comm.connect()
        assert connected is expect
        if connected:
            await comm.disconnect()


async def test_live_events_of_a_real_run(alice, pipeline):
    """The worker's part runs for real (the DiT, 4 steps on CPU) in a thread, as in `runsite`."""
    job = await make_job(alice, seed=3)
    comm = communicator(f"/ws/jobs/{job.pk}/", alice)
    notes = communicator("/ws/notifications/", alice)
    assert (await comm.connect())[0] and (await notes.connect())[0]
    assert (await comm.receive_json_from(timeout=5))["type"] == "queued"

    run = asyncio.create_task(asyncio.to_thread(services.job_run, job_id=job.pk, worker="test"))
    events = []
    while not events or events[-1]["type"] not in ("succeeded", "failed", "canceled"):
        event = await comm.receive_json_from(timeout=120)
        if event["type"] != "queued":
            events.append(event)
    assert await run == "succeeded"

    progress = [e for e in events if e["type"] == "progress"]
    assert [e["step"] for e in progress] == [1, 2, 3, 4]
    assert all(e["steps"] == 4 and e["preview"].startswith("data:image/png;base64,") for e in progress)
    assert progress[-1]["eta"] == 0
    done = events[-1]
    assert done["type"] == "succeeded" and done["url"].endswith(".mp4") and isinstance(done["video"], int)
    note = await notes.receive_json_from(timeout=10)
    assert note["type"] == "notification" and note["kind"] == "job.succeeded" and note["video"] == done["video"]
    await comm.disconnect()
    await notes.disconnect()

    job = await sync_to_async(GenerationJob.objects.select_related("video").get)(pk=job.pk)
    assert job.status == "succeeded" and job.step == 4 and job.attempts == 1 and job.video_id == done["video"]
    assert job.model_version == pipeline.model_version


async def test_cancel_between_steps(alice, pipeline):
    job = await make_job(alice, steps=30)
    comm = communicator(f"/ws/jobs/{job.pk}/", alice)
    await comm.connect()
    await comm.receive_json_from(timeout=5)
    run = asyncio.create_task(asyncio.to_thread(services.job_run, job_id=job.pk, worker="test"))
    while (event := await comm.receive_json_from(timeout=120))["type"] != "progress":
        pass
    await sync_to_async(services.job_cancel)(job=job, user=alice)
    types = []
    while not types or types[-1] not in ("succeeded", "failed", "canceled"):
        types.append((await comm.receive_json_from(timeout=120))["type"])
    assert types[-1] == "canceled"
    assert await run == "canceled"
    job = await sync_to_async(GenerationJob.objects.get)(pk=job.pk)
    assert job.status == "canceled" and job.step < 30 and job.video_id is None
    await comm.disconnect()
