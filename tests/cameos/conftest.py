"""Fixtures for the cameos tests: pictures made from a seed (benchmarks/cameos/pictures.py),
cameos registered through the service, and the worker's storing step for a job (the draft video
and its cameo uses written by the same services the worker calls, without running the DiT)."""
import io

import numpy as np
import pytest
from django.db import transaction
from PIL import Image

from benchmarks.cameos.pictures import encode, picture


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """These tests make many accounts; the password hash is not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def picture_bytes():
    def make(seed: int = 0, kind: str = "face", fmt: str = "PNG", size: int = 256, **params) -> bytes:
        return encode(picture(kind, seed, size=size), fmt, **params)

    return make


@pytest.fixture
def make_cameo(db, picture_bytes):
    from cameos.services import cameo_create

    seeds = iter(range(1000, 2000))

    def make(owner, handle=None, permission="only_me", *, seed=None, kind="face", image: bytes | None = None):
        image = image if image is not None else picture_bytes(next(seeds) if seed is None else seed, kind)
        return cameo_create(owner=owner, handle=handle or f"{owner.username}_cam", image=image, permission=permission)

    return make


def _clip() -> tuple[bytes, bytes]:
    from generation.dit.video_io import mp4_bytes

    frames = np.zeros((4, 16, 16, 3), np.uint8)
    frames[:, 4:12, 4:12] = (220, 50, 50)
    buf = io.BytesIO()
    Image.fromarray(frames[0]).save(buf, format="PNG")
    return mp4_bytes(frames, fps=8), buf.getvalue()


@pytest.fixture
def store_job(db):
    """The worker's last step for `job`: the draft, the cameo uses pointed at it (with the last
    consent check under lock), the job succeeded: what generation.services.run does after the DiT."""
    from cameos.services import job_cameos_attach
    from feed.services import video_create_draft
    from generation.models import GenerationJob
    from generation.services.remix import video_remix_mode

    mp4, poster = _clip()

    def store(job):
        with transaction.atomic():
            video = video_create_draft(owner=job.owner, prompt=job.prompt, seed=job.seed, model_version="test",
                                       mp4=mp4, poster_png=poster, width=16, height=16, frame_count=4, fps=8,
                                       parent=job.parent, remix_mode=video_remix_mode(job))
            job_cameos_attach(job=job, video=video)
            GenerationJob.objects.filter(pk=job.pk).update(status="succeeded", video=video)
        return video

    return store


@pytest.fixture
def make_draft(store_job):
    """A draft made by `user` through job_create (all its consent checks) and the storing step."""
    from generation.services import job_create

    def make(user, prompt, parent=None, **kwargs):
        return store_job(job_create(owner=user, prompt=prompt, steps=2, parent=parent, **kwargs))

    return make


@pytest.fixture
def mutual(make_user):
    """make mutual(a, b): both follow each other."""
    from accounts.services import user_follow

    def make(a, b):
        user_follow(follower=a, followee=b)
        user_follow(follower=b, followee=a)

    return make
