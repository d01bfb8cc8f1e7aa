"""With AWS_STORAGE_BUCKET_NAME set, clips and posters go to S3 through django-storages. Tested
against moto's S3 server over real HTTP (not an in-process mock)."""
import urllib.request

import boto3
import numpy as np
import pytest
from django.core.files.storage import storages
from moto.server import ThreadedMotoServer

from tests.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3_server():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_storage(settings, s3_server, monkeypatch):
    creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=s3_server, **creds).create_bucket(Bucket="spacetime-media")
    settings.STORAGES = settings.STORAGES | {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": "spacetime-media", "endpoint_url": s3_server, "region_name": "us-east-1",
                "access_key": "testing", "secret_key": "testing", "querystring_auth": True,
                "file_overwrite": False, "default_acl": None,
            },
        }
    }
    # FileFields keep the storage they were built with: point them at the new default.
    from feed.models import Video

    storage = storages.create_storage(settings.STORAGES["default"])
    monkeypatch.setattr(Video._meta.get_field("file"), "storage", storage)
    monkeypatch.setattr(Video._meta.get_field("poster"), "storage", storage)
    return boto3.client("s3", endpoint_url=s3_server, **creds)


def test_draft_video_is_stored_in_the_bucket_and_served_from_it(alice, s3_storage, s3_server):
    from feed.services import video_create_draft
    from generation.dit.video_io import mp4_bytes
    from generation.services.events import png_bytes

    frames = np.zeros((16, 64, 64, 3), np.uint8)
    frames[:, 20:40, 10:30] = (60, 170, 80)
    mp4 = mp4_bytes(frames, fps=8)
    video = video_create_draft(owner=alice, prompt="a green square", seed=1, model_version="t", mp4=mp4,
                               poster_png=png_bytes(frames[8]), width=64, height=64, frame_count=16, fps=8)
    keys = sorted(o["Key"] for o in s3_storage.list_objects_v2(Bucket="spacetime-media")["Contents"])
    assert keys == sorted([video.file.name, video.poster.name])
    assert keys[0].startswith("posters/") and keys[1].startswith("videos/")
    url = video.file.url
    assert url.startswith(s3_server + "/spacetime-media/videos/") and "Signature" in url
    with urllib.request.urlopen(url) as res:  # the browser's path: a presigned GET over HTTP
        assert res.read() == mp4
