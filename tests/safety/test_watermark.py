"""The visible watermark: present on every frame, moving, and carrying the creator's handle,
read back out of the encoded MP4 by matching the bitmap font's glyphs."""
import string

import numpy as np
import pytest

from generation.dit.video_io import mp4_bytes, read_video_bytes
from safety.watermark import GLYPH_H, GLYPH_W, text_mask, upscale, watermark_frames, watermark_lines

ALPHABET = string.ascii_letters + string.digits + "_@\u00b7 "
TEMPLATES = {c: text_mask([c]) for c in ALPHABET}


def _luma(frames):
    return frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def _clip():
    """A blue background with a red square moving right: 16 frames of 64x64."""
    clip = np.zeros((16, 64, 64, 3), np.uint8)
    clip[:] = (50, 90, 220)
    for i in range(16):
        clip[i, 24:36, 2 + 3 * i:14 + 3 * i] = (220, 50, 50)
    return clip


def _decode_line(mask: np.ndarray) -> tuple[str, tuple[int, int]]:
    """Read one line of bitmap-font text out of a bool mask of text pixels: try every glyph-cell
    alignment around the pixels' bounding box, match each cell to the closest glyph, keep the
    alignment with the fewest mismatched pixels. Returns (text, (top, left) of its first cell)."""
    ys, xs = np.nonzero(mask)
    top, left, right = ys.min(), xs.min(), xs.max()
    best = (None, "", (0, 0))
    for y0 in range(max(0, top - GLYPH_H + 1), top + 1):
        for x0 in range(max(0, left - GLYPH_W + 1), left + 1):
            text, misses = "", 0
            for x in range(x0, right + 1, GLYPH_W):
                cell = np.zeros((GLYPH_H, GLYPH_W), bool)
                part = mask[y0:y0 + GLYPH_H, x:x + GLYPH_W]
                cell[:part.shape[0], :part.shape[1]] = part
                char, miss = min(((c, int((t != cell).sum())) for c, t in TEMPLATES.items()), key=lambda p: p[1])
                text, misses = text + char, misses + miss
            misses += int(mask[y0 + GLYPH_H:].sum())  # text below the line is missed too
            if best[0] is None or misses < best[0]:
                best = (misses, text, (y0, x0))
    return best[1].strip(), best[2]


def test_the_handle_reads_back_from_the_mp4_on_every_frame_and_the_mark_moves():
    clip = _clip()
    marked = watermark_frames(clip, "alice_9", phase=0.3)
    assert marked.shape == (16, 256, 256, 3)
    decoded = read_video_bytes(mp4_bytes(marked))  # through H.264, as stored
    text_pixels = _luma(decoded) - _luma(upscale(clip)) > 60  # white text over the clip
    origins = []
    for i in range(16):
        text, origin = _decode_line(text_pixels[i])
        assert text == "@alice_9 \u00b7 Spacetime", (i, text)
        origins.append(origin)
    assert len(set(origins)) >= 12  # it moves: (almost) every frame somewhere else
    xs, ys = [o[1] for o in origins], [o[0] for o in origins]
    assert max(xs) - min(xs) > 64 and max(ys) - min(ys) > 64  # across the frame, both ways


def test_the_mark_is_light_the_clip_underneath_is_kept():
    clip = _clip()
    marked = watermark_frames(clip, "alice_9").astype(np.int16)
    changed = np.abs(marked - upscale(clip)).max(-1) > 0
    assert changed.mean() < 0.06  # a thin strip of each frame
    assert (changed.sum(axis=(1, 2)) > 0).all()  # on every frame


def test_long_handles_wrap_to_two_lines_that_fit_and_read_back():
    handle = "a_very_long_handle_of_30_chars"
    assert len(handle) == 30
    assert watermark_lines(handle, 256) == [f"@{handle}", "\u00b7 Spacetime"]
    clip = _clip()
    marked = watermark_frames(clip, handle)
    text_pixels = _luma(marked) - _luma(upscale(clip)) > 60
    rows = np.nonzero(text_pixels[0].any(axis=1))[0]
    split = rows[np.argmax(np.diff(rows))] + 1  # the gap between the two lines
    first, _ = _decode_line(text_pixels[0] & (np.arange(256)[:, None] < split))
    second, _ = _decode_line(text_pixels[0] & (np.arange(256)[:, None] >= split))
    assert (first, second) == (f"@{handle}", "\u00b7 Spacetime")


@pytest.mark.django_db(transaction=True)
def test_the_stored_clip_is_upscaled_and_carries_its_owners_handle(alice, pipeline):
    from generation import services
    from safety.watermark import watermark_phase

    prompt = "a white circle moving left on a black background"
    job = services.job_create(owner=alice, prompt=prompt, seed=21, steps=2)
    assert services.job_run(job_id=job.pk, worker="test") == "succeeded"
    job.refresh_from_db()
    with job.video.file.open("rb") as fh:
        stored = read_video_bytes(fh.read())
    assert stored.shape == (16, 256, 256, 3) and (job.video.width, job.video.height) == (256, 256)
    clean = pipeline.generate(prompt, seed=21, steps=2).frames  # the same run, deterministic on CPU
    expected = watermark_frames(clean, "alice", phase=watermark_phase(21))
    assert np.abs(stored.astype(np.int16) - expected).mean() < 3  # only H.264's loss apart
    mark = np.abs(expected.astype(np.int16) - upscale(clean)).max(-1) > 40
    assert (np.abs(stored.astype(np.int16) - upscale(clean)).max(-1) > 40)[mark].mean() > 0.8  # the mark is there
