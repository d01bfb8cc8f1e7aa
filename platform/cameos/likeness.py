"""Likeness matching, Django-free (numpy + Pillow): is this picture someone's registered cameo?

A picture is described by two small unit vectors, compared by normalized cross-correlation:
- structure: a 24x24 grey thumbnail minus its blurred self (edges and features, not the overall
  light), which tells apart pictures with the same colours laid out differently;
- colour: an 8x8 RGB thumbnail, which carries pictures with little structure (gradients, flat
  backgrounds) where the structure vector is mostly noise.
The score is their mean, or the colour alone for a picture without structure. A cameo keeps the
descriptors of its picture and of 18 slight crops of it (4% and 8% off one, two or four sides), so
a re-upload that was cropped a little still lines up with one of them; resizing and recompression
barely move thumbnails this small. The threshold is measured by benchmarks/cameos/likeness.py
(false match and false non-match rates in benchmarks/cameos/likeness.json).

The same colour descriptor finds a cameo in generated frames (`found_in_frames`): the moving
subject is cut out of each sampled frame (pixels far from the background) and compared with the
cameo's picture; benchmarks/cameos/frames.py measures how often that is right.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

STRUCTURE_SIDE = 24
COLOUR_SIDE = 8
DIMS = STRUCTURE_SIDE * STRUCTURE_SIDE + COLOUR_SIDE * COLOUR_SIDE * 3
# Mean absolute high-pass response (0..255 grey levels) below which a picture counts as having no
# structure: measured on the benchmark's gradients (median 1.0) against faces and photos (> 3).
FLAT_ENERGY = 1.0
CROP_MARGINS = (0.04, 0.08)
CROP_SIDES = ((1, 1, 1, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1),
              (1, 1, 0, 0), (0, 0, 1, 1), (1, 0, 0, 1), (0, 1, 1, 0))
VARIANTS = 1 + len(CROP_MARGINS) * len(CROP_SIDES)
# Chosen on the calibration half of benchmarks/cameos/likeness.py (see likeness.json): the lowest
# score a resized, recompressed or slightly cropped copy reached on 99.5% of copies, rounded.
MATCH_THRESHOLD = 0.85
# Frames: the colour correlation of the subject cut out of a frame with the cameo's picture
# (benchmarks/cameos/frames.py), and the least structure a cameo needs to be looked for at all: a
# plain picture (one colour, one shape) looks like any Flatland object.
FRAME_THRESHOLD = 0.9
FRAME_MIN_ENERGY = 3.0


def _unit(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32).reshape(-1)
    v = v - v.mean()
    return v / (np.linalg.norm(v) + 1e-6)


def structure_energy(img: Image.Image) -> float:
    grey = img.convert("L").resize((STRUCTURE_SIDE, STRUCTURE_SIDE), Image.BOX)
    hp = np.asarray(grey, np.float32) - np.asarray(grey.filter(ImageFilter.GaussianBlur(2)), np.float32)
    return float(np.abs(hp).mean())


def describe(img: Image.Image) -> np.ndarray:
    """[structure (576), colour (192)] as one float32 vector; each part has unit norm."""
    grey = img.convert("L").resize((STRUCTURE_SIDE, STRUCTURE_SIDE), Image.BOX)
    hp = np.asarray(grey, np.float32) - np.asarray(grey.filter(ImageFilter.GaussianBlur(2)), np.float32)
    colour = np.asarray(img.convert("RGB").resize((COLOUR_SIDE, COLOUR_SIDE), Image.BOX), np.float32)
    return np.concatenate([_unit(hp), _unit(colour)])


def crops(img: Image.Image) -> list[Image.Image]:
    w, h = img.size
    out = [img]
    for m in CROP_MARGINS:
        for left, top, right, bottom in CROP_SIDES:
            out.append(img.crop((int(w * left * m), int(h * top * m), w - int(w * right * m), h - int(h * bottom * m))))
    return out


def fingerprint(img: Image.Image) -> tuple[np.ndarray, bool]:
    """What a cameo keeps of its picture: (VARIANTS, DIMS) descriptors and whether it is flat."""
    return np.stack([describe(c) for c in crops(img)]), structure_energy(img) < FLAT_ENERGY


def pack(desc: np.ndarray) -> bytes:
    """Descriptors as int8 (components of unit vectors of this length stay well inside +-0.5)."""
    return np.clip(np.round(desc * 254), -127, 127).astype(np.int8).tobytes()


def unpack(blob: bytes) -> np.ndarray:
    return (np.frombuffer(blob, dtype=np.int8).astype(np.float32) / 254).reshape(-1, VARIANTS, DIMS)


def _score(a: np.ndarray, b: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Scores of descriptors a (..., DIMS) against b (DIMS,); flat broadcasts against a[..., 0]."""
    split = STRUCTURE_SIDE * STRUCTURE_SIDE
    s = a[..., :split] @ b[:split]
    c = a[..., split:] @ b[split:]
    return np.where(flat, c, (s + c) / 2)


def match_scores(candidate: np.ndarray, candidate_flat: bool, stored: np.ndarray,
                 stored_flat: np.ndarray) -> np.ndarray:
    """How much a new picture looks like each stored cameo picture, 1.0 = the same.

    candidate: (VARIANTS, DIMS) fingerprint of the new picture; stored: (N, VARIANTS, DIMS) and
    stored_flat (N,). Both ways round: the new picture against slight crops of each stored one (it
    was cut from it), and slight crops of the new one against each stored picture (the stored one
    was the cut-down copy). A picture either side calls flat is compared by colour alone."""
    if len(stored) == 0:
        return np.zeros(0, np.float32)
    flat = stored_flat | candidate_flat
    forward = _score(stored, candidate[0], flat[:, None]).max(axis=1)  # (N,)
    backward = np.stack([_score(stored[:, 0], variant, flat) for variant in candidate[1:]]).max(axis=0)
    return np.maximum(forward, backward)


# --- frames --------------------------------------------------------------------------------------


def frame_subjects(frames: np.ndarray, *, samples: int = 6, min_pixels: int = 24) -> list[Image.Image]:
    """The moving subject cut out of a few frames: the box around pixels far from the background
    (the median colour of the frame's border)."""
    t = frames.shape[0]
    picks = np.unique(np.linspace(0, t - 1, num=min(samples, t)).round().astype(int))
    out = []
    for i in picks:
        f = frames[i].astype(np.int16)
        border = np.concatenate([f[0], f[-1], f[:, 0], f[:, -1]])
        bg = np.median(border, axis=0)
        mask = np.abs(f - bg).sum(axis=-1) > 60
        if mask.sum() < min_pixels:
            continue
        ys, xs = np.nonzero(mask)
        box = frames[i][ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        out.append(Image.fromarray(np.ascontiguousarray(box)))
    return out


def frame_scores(subjects: list[Image.Image], pictures: np.ndarray) -> np.ndarray:
    """Median over the sampled frames of the colour correlation between the subject and each
    cameo's picture. pictures: (N, DIMS) full-picture descriptors. Returns (N,)."""
    if not subjects or len(pictures) == 0:
        return np.zeros(len(pictures), np.float32)
    split = STRUCTURE_SIDE * STRUCTURE_SIDE
    cut = np.stack([describe(s)[split:] for s in subjects])  # (F, 192)
    return np.median(pictures[:, split:] @ cut.T, axis=1)
