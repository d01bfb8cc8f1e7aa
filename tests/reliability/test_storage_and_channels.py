"""Storage errors and a dead channel layer.

- Full disk (real ENOSPC from /dev/full) while a worker stores a clip: the job ends failed with the
  reason, no half video is left, and a retry once there is room makes exactly one video.
- Full disk while an upload streams in, and storage refusing the write of an accepted upload, on
  every upload endpoint in the schema: a clear 503, never a 500.
- The channel layer (Redis) down: progress events are lost, the job still finishes."""
import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework.test import APIClient

from feed.models import Video
from generation import services
from generation.models import GenerationJob
from tests.processes import free_port
from tests.security.endpoints import api_operations, file_fields
from tests.security.world import mp4_bytes, png_bytes


class FullDiskStorage(FileSystemStorage):
    """File storage on a full disk: every write fails with the kernel's ENOSPC."""

    def _save(self, name, content):
        with open("/dev/full", "wb", buffering=0) as full:
            for chunk in content.chunks():
                full.write(chunk)
        raise AssertionError("unreachable: /dev/full accepted a write")


class FullDiskUploadHandler(FileUploadHandler):
    """Streams an upload to a full disk, as Django's temporary-file handler would."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.sink = open("/dev/full", "wb", buffering=0)

    def receive_data_chunk(self, raw_data, start):
        self.sink.write(raw_data)

    def file_complete(self, file_size):
        self.sink.close()


FULL_DISK = {"BACKEND": f"{__name__}.FullDiskStorage"}


@pytest.mark.django_db(transaction=True)
def test_full_disk_while_storing_a_clip_fails_the_job_with_the_reason_and_retry_recovers(alice, pipeline, settings):
    job = services.job_create(owner=alice, prompt="a green circle moving left", seed=3, steps=2)
    settings.STORAGES = {**settings.STORAGES, "default": FULL_DISK}
    assert services.job_run(job_id=job.pk, worker="test") == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "No space left on device" in job.error and job.video_id is None
    assert not Video.objects.exists()  # no row pointing at a file that was never written

    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    job = services.job_retry(job=job, user=alice)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    assert job.video_id and Video.objects.count() == 1
    assert job.video.file.storage.exists(job.video.file.name)


UPLOADS = [(m, p, op) for m, p, op in api_operations() if file_fields(op)]


def _post_valid_files(client, method, path, op, **extra):
    """Each upload endpoint gets a real PNG and a real MP4 (one of them is what it takes)."""
    out = []
    from django.core.files.uploadedfile import SimpleUploadedFile

    for name, blob, ctype in (("face.png", png_bytes((64, 64)), "image/png"), ("clip.mp4", mp4_bytes(), "video/mp4")):
        data = {"name": "test", "handle": "test_upload", "title": "test"}
        for field in file_fields(op):
            data[field] = SimpleUploadedFile(name, blob, content_type=ctype)
        out.append(getattr(client, method.lower())(path, data, format="multipart", **extra))
    return out


@pytest.fixture
def uploader(make_user):
    client = APIClient()
    client.force_authenticate(make_user("uploader"))
    return client


@pytest.mark.parametrize("method,path,op", UPLOADS, ids=[f"{m} {p}" for m, p, _ in UPLOADS])
def test_full_disk_while_an_upload_streams_in_is_a_503(uploader, settings, method, path, op):
    settings.FILE_UPLOAD_HANDLERS = [f"{__name__}.FullDiskUploadHandler"]
    for res in _post_valid_files(uploader, method, path, op):
        assert res.status_code == 503, (path, res.status_code, res.content[:300])
        assert "storage" in res.json()["detail"] and res["Retry-After"]


def test_storage_refusing_accepted_uploads_is_a_503_never_a_500(uploader, settings):
    settings.STORAGES = {**settings.STORAGES, "default": FULL_DISK}
    codes = {}
    for method, path, op in UPLOADS:
        for res in _post_valid_files(uploader, method, path, op):
            assert res.status_code != 500 and (res.status_code < 500 or res.status_code == 503), \
                (path, res.status_code, res.content[:300])
            codes.setdefault(path, []).append(res.status_code)
    # endpoints that keep what they are sent (the cameo picture) answered 503
    storing = [p for p, c in codes.items() if 503 in c]
    assert storing or len(UPLOADS) == 1, codes


@pytest.mark.django_db(transaction=True)
def test_channel_layer_down_progress_degrades_and_the_job_still_finishes(alice, pipeline, settings, caplog):
    settings.CHANNEL_LAYERS = {"default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [f"redis://127.0.0.1:{free_port()}/0"]},  # nothing listens there
    }}
    job = services.job_create(owner=alice, prompt="a yellow triangle falling", seed=5, steps=2)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    assert job.status == GenerationJob.Status.SUCCEEDED and job.video_id and job.step == job.steps
    assert "could not send" in caplog.text  # the events were really lost, and said so
