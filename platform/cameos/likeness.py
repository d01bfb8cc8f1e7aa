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
SPLIT = STRUCTURE_SIDE * STRUCTURE_SIDE
COLOUR_DIMS = COLOUR_SIDE * COLOUR_SIDE * 3
DIMS = SPLIT + COLOUR_DIMS + 3  # + the mean colour (R, G, B in 0..1)
# Correlation ignores overall brightness and tint; two pictures whose mean colours differ by more
# than this (in any channel, 0..1) are not the same picture, however alike their layouts.
MEAN_GAP = 0.08
# Mean absolute high-pass response (0..255 grey levels) below which a picture counts as having no
# structure: measured on the benchmark's gradients (median 1.0) against faces and photos (> 3).
FLAT_ENERGY = 1.0
CROP_MARGINS = (0.04, 0.08)
CROP_SIDES = ((1, 1, 1, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1),
              (1, 1, 0, 0), (0, 0, 1, 1), (1, 0, 0, 1), (0, 1, 1, 0))
VARIANTS = 1 + len(CROP_MARGINS) * len(CROP_SIDES)
# benchmarks/cameos/likeness.py calibrates 0.83 (99.5% of the calibration half's edited copies
# reach it); 0.85 is a little stricter against honest uploads. Held out at 0.85 (likeness.json):
# 0.63% of copies missed (almost all 8% crop + resize + JPEG at once), 0.036% of pairs of
# different pictures matched, 12.7% of deliberate near-lookalikes (same colours) matched.
MATCH_THRESHOLD = 0.85
# Frames: the colour correlation of the subject cut out of a frame with the cameo's picture
# (benchmarks/cameos/frames.py), and the least structure a cameo needs to be looked for at all: a
# plain picture (one colour, one shape) looks like any Flatland object.
FRAME_THRESHOLD = 0.9
FRAME_MIN_ENERGY = 3.0
# The score of a clip is this quantile of its frames' scores: a cameo hidden behind a wall in some
# frames is still found in the others.
FRAME_QUANTILE = 0.8


def _unit(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32).reshape(-1)
    v = v - v.mean()
    return v / (np.linalg.norm(v) + 1e-6)


def structure_energy(img: Image.Image) -> float:
    grey = img.convert("L").resize((STRUCTURE_SIDE, STRUCTURE_SIDE), Image.BOX)
    hp = np.asarray(grey, np.float32) - np.asarray(grey.filter(ImageFilter.GaussianBlur(2)), np.float32)
    return float(np.abs(hp).mean())


def describe(img: Image.Image) -> np.ndarray:
    """[structure (576), colour (192), mean colour (3)] as one float32 vector; the first two parts
    have unit norm."""
    grey = img.convert("L").resize((STRUCTURE_SIDE, STRUCTURE_SIDE), Image.BOX)
    hp = np.asarray(grey, np.float32) - np.asarray(grey.filter(ImageFilter.GaussianBlur(2)), np.float32)
    colour = np.asarray(img.convert("RGB").resize((COLOUR_SIDE, COLOUR_SIDE), Image.BOX), np.float32)
    return np.concatenate([_unit(hp), _unit(colour), colour.reshape(-1, 3).mean(axis=0) / 255])


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
    """Descriptors as int8 (components of unit vectors of this length stay well inside +-0.5; the
    mean colour, 0..1, is kept as 0..0.5 and doubled back)."""
    scaled = desc.copy()
    scaled[..., SPLIT + COLOUR_DIMS:] /= 2
    return np.clip(np.round(scaled * 254), -127, 127).astype(np.int8).tobytes()


def unpack(blob: bytes) -> np.ndarray:
    desc = (np.frombuffer(blob, dtype=np.int8).astype(np.float32) / 254).reshape(-1, VARIANTS, DIMS)
    desc[..., SPLIT + COLOUR_DIMS:] *= 2
    return desc


def _score(a: np.ndarray, b: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Scores of descriptors a (..., DIMS) against b (DIMS,); flat broadcasts against a[..., 0]."""
    s = a[..., :SPLIT] @ b[:SPLIT]
    c = a[..., SPLIT:SPLIT + COLOUR_DIMS] @ b[SPLIT:SPLIT + COLOUR_DIMS]
    gap = np.abs(a[..., SPLIT + COLOUR_DIMS:] - b[SPLIT + COLOUR_DIMS:]).max(axis=-1)
    return np.where(gap > MEAN_GAP, -1.0, np.where(flat, c, (s + c) / 2))


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


# A region whose inner pixels vary less than this (mean standard deviation of R, G, B) is one colour:
# a Flatland shape, never a picture, and it is not compared with any cameo.
FLAT_REGION_STD = 20.0


def _square_cuts(region: np.ndarray) -> list[np.ndarray]:
    """A cameo is drawn as a square: the squares inside a region's box (at its start, middle and
    end along the longer side), each also without a one-pixel rim (codec and blur halo)."""
    h, w = region.shape[:2]
    side = min(h, w)
    starts = sorted({0, (max(h, w) - side) // 2, max(h, w) - side})
    squares = [region[s:s + side] if h > w else region[:, s:s + side] for s in starts]
    return squares + [sq[1:-1, 1:-1] for sq in squares if side > 6]


def frame_subjects(frames: np.ndarray, *, samples: int = 6, min_pixels: int = 36) -> list[list[Image.Image]]:
    """For a few evenly spaced frames, the things in them that could be a picture: each connected
    region of pixels far from the background (the median colour of the frame's border) whose
    colours vary (a one-colour shape is skipped), cut out as squares. A second object or a wall is
    a region of its own."""
    from scipy import ndimage

    t = frames.shape[0]
    picks = np.unique(np.linspace(0, t - 1, num=min(samples, t)).round().astype(int))
    out = []
    for i in picks:
        f = frames[i].astype(np.int16)
        border = np.concatenate([f[0], f[-1], f[:, 0], f[:, -1]])
        mask = np.abs(f - np.median(border, axis=0)).sum(axis=-1) > 60
        # a picture may hold background-coloured pixels: close one-pixel gaps before labelling
        labels, _ = ndimage.label(ndimage.binary_closing(mask) | mask)
        cuts = []
        for number, box in enumerate(ndimage.find_objects(labels), start=1):
            region = frames[i][box]
            inside = labels[box] == number
            inner = ndimage.binary_erosion(inside)  # edges blend into the background: look inside them
            if inside.sum() < min_pixels or inner.sum() < 9 or region[inner].std(axis=0).mean() < FLAT_REGION_STD:
                continue
            cuts += [Image.fromarray(np.ascontiguousarray(sq)) for sq in _square_cuts(region)]
        out.append(cuts)
    return out


def frame_scores(subjects: list[list[Image.Image]], pictures: np.ndarray) -> np.ndarray:
    """For each cameo picture (pictures: (N, DIMS) full-picture descriptors), the FRAME_QUANTILE
    over the sampled frames of its best colour correlation with a thing in that frame. Returns (N,)."""
    if not subjects or len(pictures) == 0:
        return np.zeros(len(pictures), np.float32)
    per_frame = []
    for cuts in subjects:  # a frame with nothing picture-like in it scores 0 for every cameo
        if not cuts:
            per_frame.append(np.zeros(len(pictures), np.float32))
            continue
        cut = np.stack([describe(c)[SPLIT:SPLIT + COLOUR_DIMS] for c in cuts])  # (K, 192)
        per_frame.append((pictures[:, SPLIT:SPLIT + COLOUR_DIMS] @ cut.T).max(axis=1))  # (N,)
    return np.quantile(np.stack(per_frame, axis=1), FRAME_QUANTILE, axis=1)
