"""The visible watermark: "@handle · Spacetime" drawn onto every frame of a generated clip, at a
position that drifts and bounces across the frame over the clip, so it cannot be cropped away.

Why the stored clip is upscaled first: the model makes 64x64 clips, where even a 6x11 px font
would cover a third of the width and "@handle · Spacetime" cannot fit at all. The clip is scaled
up 4x (nearest neighbour: the model's pixels stay exact 4x4 blocks) and the watermark is drawn at
that resolution in Pillow's classic 6x11 bitmap font, white at 80% over a 45% dark outline: legible
on any Flatland background, covering no more than a thin strip. A remix reads its parent back
through the model's bilinear antialiased resize to 64x64, which averages each 4x4 block: the
parent's text arrives there as an illegible smudge (measured: ~45 of 4,096 pixels a frame off by
more than 30 levels, at most ~100), which a video-to-video remix at its default strength redraws;
an `extend` keeps the parent's frames, smudge included.

Django-free (numpy + Pillow): `watermark_frames(frames, handle)` is all the worker calls.
"""
from __future__ import annotations

import functools

import numpy as np

UPSCALE = 4
TEXT_ALPHA = 0.8
OUTLINE_ALPHA = 0.45
TEXT_RGB = (255, 255, 255)
OUTLINE_RGB = (0, 0, 0)
MARGIN = 2  # pixels kept between the outline and the frame's edge
SEPARATOR = " \u00b7 "
BRAND = "Spacetime"


@functools.lru_cache(maxsize=1)
def font():
    """Pillow's built-in bitmap font (monospace, 6x11 px a glyph, Latin-1), shipped with Pillow."""
    from PIL import ImageFont

    return ImageFont.load_default_imagefont()


GLYPH_W, GLYPH_H = 6, 11


def watermark_lines(handle: str, width: int) -> list[str]:
    """One line "@handle · Spacetime" when it fits in `width` pixels, else "@handle" over
    "· Spacetime" (handles are up to 30 characters)."""
    one = f"@{handle}{SEPARATOR}{BRAND}"
    if len(one) * GLYPH_W + 2 * (MARGIN + 1) <= width:
        return [one]
    return [f"@{handle}", SEPARATOR.lstrip() + BRAND]


def text_mask(lines: list[str]) -> np.ndarray:
    """bool (h, w): the pixels of the text, lines stacked."""
    from PIL import Image, ImageDraw

    w = max(len(line) for line in lines) * GLYPH_W
    h = len(lines) * GLYPH_H
    image = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((0, i * GLYPH_H), line, font=font(), fill=255)
    return np.asarray(image) > 127


def _outline(mask: np.ndarray) -> np.ndarray:
    """The ring of pixels around the text (8-neighbour dilation minus the text), padded by 1."""
    padded = np.pad(mask, 1)
    grown = np.zeros_like(padded)
    h, w = mask.shape
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            grown[dy:dy + h, dx:dx + w] |= mask
    return grown & ~padded


def _bounce(u: float) -> float:
    """A triangle wave in [0, 1]: 0 -> 1 -> 0 as u goes 0 -> 1 -> 2, and so on."""
    u = u % 2.0
    return u if u <= 1.0 else 2.0 - u


def watermark_positions(*, frames: int, frame_hw: tuple[int, int], mark_hw: tuple[int, int],
                        phase: float = 0.0) -> list[tuple[int, int]]:
    """(top, left) of the outlined watermark box in each frame: it sweeps across the frame's full
    width once over the clip and bounces down and up the height, starting from `phase` (0..2)."""
    h, w = frame_hw
    mh, mw = mark_hw
    span_y, span_x = max(0, h - mh - 2 * MARGIN), max(0, w - mw - 2 * MARGIN)
    out = []
    for i in range(frames):
        u = i / max(1, frames - 1)
        out.append((MARGIN + round(span_y * _bounce(phase + 2.0 * u)),
                    MARGIN + round(span_x * _bounce(phase + u))))
    return out


def upscale(frames: np.ndarray, factor: int = UPSCALE) -> np.ndarray:
    """(T, H, W, 3) -> (T, H*f, W*f, 3), nearest neighbour."""
    return np.ascontiguousarray(frames.repeat(factor, axis=1).repeat(factor, axis=2))


def watermark_frames(frames: np.ndarray, handle: str, *, phase: float = 0.0,
                     factor: int = UPSCALE) -> np.ndarray:
    """uint8 (T, H, W, 3) model frames -> uint8 (T, H*factor, W*factor, 3) with the moving
    watermark blended in."""
    big = upscale(np.asarray(frames, dtype=np.uint8), factor).astype(np.float32)
    t, h, w, _ = big.shape
    mask = text_mask(watermark_lines(handle, w))
    ring = _outline(mask)
    text = np.pad(mask, 1)
    mh, mw = text.shape
    if mh > h or mw > w:
        raise ValueError(f"the watermark ({mw}x{mh}) does not fit a {w}x{h} frame")
    layers = ((ring, OUTLINE_ALPHA, np.array(OUTLINE_RGB, np.float32)),
              (text, TEXT_ALPHA, np.array(TEXT_RGB, np.float32)))
    for i, (top, left) in enumerate(watermark_positions(frames=t, frame_hw=(h, w), mark_hw=(mh, mw),
                                                        phase=phase)):
        box = big[i, top:top + mh, left:left + mw]
        for where, alpha, rgb in layers:
            box[where] = (1.0 - alpha) * box[where] + alpha * rgb
    return big.round().clip(0, 255).astype(np.uint8)


def watermark_phase(seed: int) -> float:
    """Where on its path the watermark starts, from the clip's seed (so clips differ)."""
    return (seed % 1000) / 500.0
