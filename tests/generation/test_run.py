"""The worker's part with the real pipeline: the stored clip, failures with a reason, retry."""
import io

import av
import numpy as np
import pytest
from PIL import Image

from generation import services
from generation.models import GenerationJob

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_becomes_a_draft_video_with_mp4_and_poster(alice, pipeline):
    job = services.job_create(owner=alice, prompt="a blue square moving up on a yellow background", seed=11, steps=3)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    video = job.video
    assert video.owner == alice and video.status == "draft" and video.visibility == "private"
    assert (video.seed, video.prompt, video.model_version) == (11, job.prompt, pipeline.model_version)
    assert (video.frame_count, video.fps, video.duration_s) == (16, 8, 2.0)
    with video.file.open("rb") as fh:
        data = fh.read()
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == 16 and frames[0].shape == (video.height, video.width, 3)
    with video.poster.open("rb") as fh:
        poster = np.asarray(Image.open(fh).convert("RGB"))
    assert poster.shape == (video.height, video.width, 3)
    # running the same message again (a redelivery) does nothing
    assert services.job_run(job_id=job.pk, worker="test") == "skipped"


def test_a_pipeline_error_fails_the_job_with_the_reason_and_retry_runs_it_again(alice, pipeline):
    job = services.job_create(owner=alice, prompt="a red circle", steps=2)
    GenerationJob.objects.filter(pk=job.pk).update(steps=500)  # beyond what the sampler accepts
    assert services.job_run(job_id=job.pk, worker="test") == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "steps must be between" in job.error and job.video_id is None
    GenerationJob.objects.filter(pk=job.pk).update(steps=2)
    job = services.job_retry(job=job, user=alice)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.error == "" and job.video_id


def test_unknown_job_message_is_ignored(db):
    import uuid

    assert services.job_run(job_id=uuid.uuid4(), worker="test") == "skipped"
