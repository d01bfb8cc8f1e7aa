"""The frame check's classifier: the open_nsfw ONNX model shipped in its wheel, on CPU."""
import random
import time
from pathlib import Path

import numpy as np
from PIL import Image

from generation.dit import world
from safety.frame_check import DEFAULT_THRESHOLD, frames_assess, nsfw_scores, sample_indices

# An abstract 8x8 colour pattern (no picture of anything) found by a black-box search to score
# 0.95 on open_nsfw: a stand-in for content the check must hold, safe to keep in the repository.
PROBE = Path(__file__).parent / "data" / "nsfw_probe_8x8.png"


def _probe_frame(size=64) -> np.ndarray:
    return np.asarray(Image.open(PROBE).convert("RGB").resize((size, size), Image.Resampling.BILINEAR))


def _flatland(seed: int) -> np.ndarray:
    return world.render_numpy(world.sample_spec(random.Random(seed)), 64)


def test_sample_indices_are_spread_and_include_both_ends():
    assert sample_indices(16, 4) == [0, 5, 10, 15]
    assert sample_indices(3, 8) == [0, 1, 2]
    assert sample_indices(1, 4) == [0]


def test_a_frame_that_reads_as_nsfw_holds_the_clip_and_names_the_frame():
    clip = _flatland(1)
    assert frames_assess(clip).allowed
    clip[10] = _probe_frame()
    verdict = frames_assess(clip)
    assert not verdict.allowed and verdict.frame_indices == (0, 5, 10, 15)
    index, score = verdict.worst
    assert index == 10 and score > DEFAULT_THRESHOLD
    assert "Frame 11 of the clip" in verdict.reason and f"{score:.2f}" in verdict.reason


def test_flatland_clips_score_far_below_the_threshold():
    frames = np.stack([_flatland(seed)[i] for seed in range(12) for i in (0, 8, 15)])
    scores = nsfw_scores(frames)
    assert max(scores) < 0.1, max(scores)


def test_speed_per_frame_on_cpu(capsys):
    frames = np.stack([_flatland(seed)[0] for seed in range(8)])
    nsfw_scores(frames[:1])  # load and warm up
    start = time.perf_counter()
    nsfw_scores(frames)
    per_frame_ms = (time.perf_counter() - start) / len(frames) * 1000
    with capsys.disabled():
        print(f"\nframe check: {per_frame_ms:.1f} ms/frame on CPU")
    assert per_frame_ms < 1000  # generous: the CI machine is shared; ~12-20 ms measured
