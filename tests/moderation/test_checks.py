"""What the automatic checks send to moderation, and the daily generation limit."""
from datetime import timedelta

import pytest
from django.utils import timezone

from generation.models import GenerationJob
from moderation.models import Decision, FlaggedFrames, FlaggedPrompt

PROMPT = "a red circle moving right on a blue background"


@pytest.fixture
def daily_limit(settings):
    settings.GENERATION = {**settings.GENERATION, "DAILY_LIMIT": 2, "MAX_ACTIVE_JOBS_PER_USER": 10}
    return 2


@pytest.mark.django_db
def test_the_daily_limit_answers_429_with_the_reset_time_and_staff_are_exempt(daily_limit, client_for, alice, staff):
    client = client_for(alice)
    for _ in range(daily_limit):
        assert client.post("/api/generations", {"prompt": PROMPT}, format="json").status_code == 201
    res = client.post("/api/generations", {"prompt": PROMPT}, format="json")
    assert res.status_code == 429, res.content
    body = res.json()
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert body["resets_at"].startswith(tomorrow + "T00:00:00") and body["limit"] == "2"
    assert "daily limit of 2" in body["prompt"] and "resets at 00:00 UTC" in body["prompt"]
    assert 0 < int(res["Retry-After"]) <= 86400
    assert GenerationJob.objects.filter(owner=alice).count() == daily_limit
    # yesterday's jobs do not count
    GenerationJob.objects.filter(owner=alice).update(created_at=timezone.now() - timedelta(days=1))
    assert client.post("/api/generations", {"prompt": PROMPT}, format="json").status_code == 201
    staff_client = client_for(staff)
    for _ in range(daily_limit + 1):
        assert staff_client.post("/api/generations", {"prompt": PROMPT}, format="json").status_code == 201


@pytest.mark.django_db
def test_a_refused_prompt_is_recorded_for_staff(client_for, alice, staff):
    res = client_for(alice).post("/api/generations", {"prompt": "a nude woman on a beach"}, format="json")
    assert res.status_code == 400 and "prompt" in res.json()
    flag = FlaggedPrompt.objects.get()
    assert (flag.user, flag.prompt, flag.category, flag.status) == (alice, "a nude woman on a beach", "sexual", "open")
    assert not GenerationJob.objects.exists()
    queue = client_for(staff).get("/api/moderation/queue?kind=prompt").json()["results"]
    assert [(q["key"], q["user"], q["category"]) for q in queue] == [(f"prompt:{flag.pk}", "alice", "sexual")]


@pytest.mark.django_db(transaction=True)
def test_a_held_clip_fails_the_job_is_queued_for_staff_and_releasing_it_stores_the_clip(
        settings, alice, staff, pipeline, client_for):
    from django.test import Client

    from generation import services
    from moderation.services import moderation_act

    # The real check with a threshold every frame reaches: the wiring, not the classifier, is under
    # test here (tests/safety/test_frame_check.py holds a real NSFW-scoring frame).
    settings.SAFETY = {**settings.SAFETY, "FRAME_NSFW_THRESHOLD": 0.0}
    job = services.job_create(owner=alice, prompt=PROMPT, seed=3, steps=2)
    assert services.job_run(job_id=job.pk, worker="test") == "failed"
    job.refresh_from_db()
    assert "reads as sexual content to the frame check" in job.error and "held for review" in job.error
    assert job.video is None
    flag = FlaggedFrames.objects.get()
    assert (flag.user, flag.job, flag.check_name, flag.frame_indices) == (alice, job, "nsfw", [0, 5, 10, 15])
    staff_page = Client()
    staff_page.force_login(staff)
    image = staff_page.get(f"/moderation/frames/{flag.pk}.png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png" and image.content[:4] == b"\x89PNG"
    assert "no-store" in image["Cache-Control"]

    [decision] = moderation_act(actor=staff, items=[f"frames:{flag.pk}"], action="restore", note="false alarm")
    assert decision.detail == {"job": str(job.pk), "requeued": True}
    job.refresh_from_db()
    flag.refresh_from_db()
    assert job.status == "queued" and flag.released and flag.status == "resolved"
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"  # released: stored this time
    job.refresh_from_db()
    assert job.video is not None and job.video.owner == alice
    assert list(Decision.objects.values_list("action", "target_kind")) == [("restore", "frames")]


@pytest.mark.django_db
def test_a_cameo_seen_without_consent_holds_the_clip_and_one_recorded_for_the_job_does_not(alice, bob):
    """The likeness hook calls the cameos app's real check (cameos_found_in_frames) on a Flatland
    clip whose subject is bob's registered picture, made the way benchmarks/cameos/frames.py does."""
    import random

    import numpy as np

    from benchmarks.cameos.pictures import encode, picture
    from cameos.models import CameoUse
    from cameos.services import cameo_create
    from generation.dit import world
    from generation.dit.video_io import mp4_bytes, read_video_bytes
    from safety.services import ClipHeldForReview, video_frames_check

    image = picture("face", 5001, size=128)
    cameo = cameo_create(owner=bob, handle="bobface", image=encode(image))
    rng = random.Random(3)
    spec = world.cameo_version(world.sample_spec(rng, kind="single", cameo=True), rng,
                               np.asarray(image.convert("RGB").resize((32, 32))))
    frames = read_video_bytes(mp4_bytes(world.render_numpy(spec)))
    job = GenerationJob.objects.create(owner=alice, prompt="a face moving right", seed=1, steps=2, guidance=2.0)
    with pytest.raises(ClipHeldForReview, match="@bobface without consent"):
        video_frames_check(job=job, frames=frames)
    flag = FlaggedFrames.objects.get()
    assert (flag.check_name, flag.user, flag.job) == ("likeness", alice, job)

    allowed = GenerationJob.objects.create(owner=alice, prompt="@bobface moving right", seed=1, steps=2, guidance=2.0)
    CameoUse.objects.create(cameo=cameo, job=allowed, user=alice)
    video_frames_check(job=allowed, frames=frames)  # consented for this job: passes
