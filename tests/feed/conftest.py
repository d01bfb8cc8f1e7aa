import io

import numpy as np
import pytest
from PIL import Image

from feed.services import video_create_draft


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def make_video(db):
    """A stored clip. The bytes are a real MP4 made by the project's encoder from a Flatland clip."""
    from generation.dit.video_io import mp4_bytes

    frames = np.zeros((4, 16, 16, 3), np.uint8)
    frames[:, 4:12, 4:12] = (220, 50, 50)
    mp4 = mp4_bytes(frames, fps=8)

    def make(owner, *, publish=None, prompt="a red square", parent=None):
        from feed.services import video_publish

        video = video_create_draft(
            owner=owner, prompt=prompt, seed=1, model_version="test", mp4=mp4, poster_png=_png(),
            width=16, height=16, frame_count=4, fps=8, parent=parent,
        )
        if publish:
            video = video_publish(video=video, user=owner, visibility=publish)
        return video

    return make
