"""Remix jobs: POST /api/generations with a parent and a mode; validation with clear 4xx; the
worker runs the mode on the parent's stored frames and stores a child Video with its lineage."""
import io

import av
import numpy as np
import pytest

from feed.models import Video
from feed.services import video_publish, video_update
from generation import services
from generation.models import GenerationJob

PARENT_PROMPT = "a red circle moving right on a blue background"


@pytest.fixture
def make_parent_video(db):
    """A stored clip (a real MP4 from the project's encoder), posted with `publish` visibility."""
    from feed.services import video_create_draft
    from generation.dit.video_io import mp4_bytes
    from generation.services.events import png_bytes

    frames = np.zeros((16, 64, 64, 3), np.uint8)
    frames[:, 20:30, 20:30] = (220, 50, 50)

    def make(owner, publish="public"):
        video = video_create_draft(owner=owner, prompt="a red square", seed=5, model_version="test",
                                   mp4=mp4_bytes(frames), poster_png=png_bytes(frames[0]), width=64, height=64,
                                   frame_count=16, fps=8)
        return video_publish(video=video, user=owner, visibility=publish)

    return make


def _parent(owner, *, seed=11, steps=3, publish="public"):
    job = services.job_create(owner=owner, prompt=PARENT_PROMPT, seed=seed, steps=steps, guidance=2.0)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    return video_publish(video=job.video, user=owner, visibility=publish) if publish else job.video


def _frames(video):
    with video.file.open("rb") as fh, av.open(io.BytesIO(fh.read())) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode, frames", [("remix", 16), ("extend", 24), ("prompt_edit", 16)])
def test_a_remix_job_makes_a_child_video_with_its_lineage(alice, bob, client_for, pipeline, mode, frames):
    parent = _parent(alice)
    payload = {"prompt": "a green circle moving right on a blue background", "parent": parent.pk, "mode": mode,
               "steps": 3}
    if mode == "remix":
        payload["strength"] = 0.5
    if mode == "prompt_edit":
        del payload["steps"]  # taken from the parent's job, with its seed and guidance
    res = client_for(bob).post("/api/generations", payload, format="json")
    assert res.status_code == 201, res.content
    job = res.json()
    assert job["mode"] == mode and job["parent"] == parent.pk
    assert job["strength"] == (0.5 if mode == "remix" else None)
    if mode == "prompt_edit":
        assert (job["seed"], job["steps"], job["guidance"]) == (11, 3, 2.0)
    assert services.job_run(job_id=job["id"], worker="test") == "succeeded"
    child = GenerationJob.objects.get(pk=job["id"]).video
    assert child.parent_id == parent.pk and child.owner == bob
    assert (child.remix_mode, child.depth, child.lineage_path) == (mode, 1, f"{parent.pk}/")
    assert child.frame_count == frames and len(_frames(child)) == frames
    if mode == "extend":  # the child starts with the parent's frames
        diff = np.abs(_frames(child)[:16].astype(int) - _frames(parent).astype(int)).mean()
        assert diff < 4, diff
    detail = client_for(bob).get(f"/api/videos/{child.pk}").json()
    assert detail["remix_of"] == {"hidden": False, "id": parent.pk, "owner": "alice", "prompt": PARENT_PROMPT,
                                  "mode": mode}


@pytest.mark.django_db(transaction=True)
def test_remix_at_strength_zero_keeps_the_parent(alice, pipeline):
    parent = _parent(alice)
    job = services.job_create(owner=alice, prompt="a yellow square moving left on a green background",
                              parent=parent, mode="remix", strength=0.0, steps=3)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    diff = np.abs(_frames(job.video).astype(int) - _frames(parent).astype(int)).mean()
    assert diff < 6, diff


@pytest.mark.django_db
@pytest.mark.parametrize("payload, field", [
    ({"mode": "remix"}, "parent"),
    ({"mode": "extend"}, "parent"),
    ({"mode": "dance"}, "mode"),
    ({"strength": 0.5}, "strength"),
    ({"parent": "P", "strength": 1.5}, "strength"),
    ({"parent": "P", "strength": -0.1}, "strength"),
    ({"parent": "P", "strength": "much"}, "strength"),
    ({"parent": "P", "mode": "extend", "strength": 0.5}, "strength"),
    ({"parent": "P", "mode": "prompt_edit", "seed": 3}, "seed"),
])
def test_bad_remix_requests_are_a_400_naming_the_field(alice, client_for, make_parent_video, payload, field):
    payload = {"prompt": "a red circle", **payload}
    if payload.get("parent") == "P":
        payload["parent"] = make_parent_video(alice).pk
    res = client_for(alice).post("/api/generations", payload, format="json")
    assert res.status_code == 400, res.content
    assert field in res.json(), res.json()
    assert not GenerationJob.objects.exists()


@pytest.mark.django_db
def test_disallowed_remix_is_a_403_saying_who_disallowed_it(alice, bob, client_for, make_parent_video):
    video = make_parent_video(alice)
    video_update(video=video, user=alice, allow_remix=False)
    res = client_for(bob).post("/api/generations", {"prompt": "a red circle", "parent": video.pk, "mode": "remix"},
                               format="json")
    assert res.status_code == 403
    assert res.json()["detail"] == f"@alice does not allow remixes of video {video.pk}."
    assert not GenerationJob.objects.exists()
    # the owner may still remix their own video
    own = client_for(alice).post("/api/generations", {"prompt": "a red circle", "parent": video.pk}, format="json")
    assert own.status_code == 201 and own.json()["mode"] == "remix" and own.json()["strength"] == 0.95


@pytest.mark.django_db
def test_private_removed_or_blocked_parents_cannot_be_remixed(alice, bob, client_for, make_parent_video):
    from accounts.services import user_block

    private = make_parent_video(alice, publish="private")
    res = client_for(bob).post("/api/generations", {"prompt": "x", "parent": private.pk, "mode": "remix"},
                               format="json")
    assert res.status_code == 400 and "parent" in res.json()
    removed = make_parent_video(alice)
    Video.objects.filter(pk=removed.pk).update(status=Video.Status.REMOVED)
    res = client_for(bob).post("/api/generations", {"prompt": "x", "parent": removed.pk}, format="json")
    assert res.status_code == 400 and "parent" in res.json()
    public = make_parent_video(alice)
    user_block(blocker=alice, blocked=bob)
    res = client_for(bob).post("/api/generations", {"prompt": "x", "parent": public.pk}, format="json")
    assert res.status_code == 400 and "parent" in res.json()
    assert not GenerationJob.objects.exists()
