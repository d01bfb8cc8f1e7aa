"""Procedural pictures ("sprites") that stand in for uploaded cameo pictures during training.

A cameo is any picture a person uploads; the model must paste *that* picture into the video, so it
is trained on pictures it can never memorise: every sprite is drawn from a seed by one of several
families (gradients, blobs, stripes, checkers, rings, drawn faces, polygons, smooth noise,
multi-colour regions), with random colours. Numpy only: sprites are made in the spec pool's forked
workers (see train.py), where torch must not run.

Held out from training, for the evaluation: every seed at or above HELDOUT_SEED_START, and the
whole `spiral` family (a kind of picture training never shows).
"""

from __future__ import annotations

import colorsys

import numpy as np

SPRITE_SIZE = 32
TRAIN_FAMILIES = ["gradient", "blobs", "stripes", "checker", "rings", "face", "polygons", "noise", "regions"]
HELDOUT_FAMILIES = ["spiral"]
HELDOUT_SEED_START = 1_000_000_000  # training draws seeds below this

_YX = (np.mgrid[0:SPRITE_SIZE, 0:SPRITE_SIZE].astype(np.float32) + 0.5) / SPRITE_SIZE * 2 - 1  # (2, S, S) in [-1, 1]
Y, X = _YX[0], _YX[1]


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A random colour, usually saturated (people's pictures are rarely gray), as float RGB 0..255."""
    if rng.random() < 0.15:
        v = rng.uniform(0, 1)
        return np.array([v, v, v], np.float32) * 255
    h, s, v = rng.uniform(0, 1), rng.uniform(0.4, 1.0), rng.uniform(0.35, 1.0)
    return np.array(colorsys.hsv_to_rgb(h, s, v), np.float32) * 255


def _mix(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-pixel blend of two colours by weight w (S, S) in [0, 1] -> (S, S, 3)."""
    return a * (1 - w[..., None]) + b * w[..., None]


def _rotated(rng: np.random.Generator) -> np.ndarray:
    a = rng.uniform(0, np.pi)
    return X * np.cos(a) + Y * np.sin(a)


def _gradient(rng):
    return _mix(_colour(rng), _colour(rng), np.clip((_rotated(rng) + 1) / 2, 0, 1))


def _blobs(rng):
    img = np.broadcast_to(_colour(rng), (SPRITE_SIZE, SPRITE_SIZE, 3)).copy()
    for _ in range(rng.integers(2, 6)):
        cx, cy, s = rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.15, 0.5)
        w = np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * s * s))
        img = _mix(img, _colour(rng), w)
    return img


def _stripes(rng):
    colours = [_colour(rng) for _ in range(rng.integers(2, 4))]
    band = np.floor((_rotated(rng) + 1) * rng.uniform(1.5, 4.0)).astype(int) % len(colours)
    return np.stack(colours)[band]


def _checker(rng):
    n = rng.uniform(1.5, 4.0)
    cell = (np.floor((X + 1) * n) + np.floor((Y + 1) * n)).astype(int) % 2
    return _mix(_colour(rng), _colour(rng), cell.astype(np.float32))


def _rings(rng):
    colours = [_colour(rng) for _ in range(rng.integers(2, 4))]
    cx, cy = rng.uniform(-0.4, 0.4, 2)
    r = np.sqrt((X - cx) ** 2 + (Y - cy) ** 2)
    return np.stack(colours)[np.floor(r * rng.uniform(2.0, 5.0)).astype(int) % len(colours)]


def _face(rng):
    """A drawn face: a head disc, two eyes, a smiling or frowning mouth, on a plain background."""
    bg, skin, feature = _colour(rng), _colour(rng), _colour(rng) * rng.uniform(0, 0.4)
    r = rng.uniform(0.65, 0.95)
    head = (X / r) ** 2 + (Y / (r * rng.uniform(0.9, 1.1))) ** 2 <= 1
    img = _mix(bg, skin, head.astype(np.float32))
    ex, ey, er = rng.uniform(0.25, 0.45) * r, rng.uniform(-0.45, -0.15) * r, rng.uniform(0.08, 0.16) * r
    eyes = ((np.abs(X) - ex) ** 2 + (Y - ey) ** 2) <= er * er
    curve = rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.6)
    mx = rng.uniform(0.3, 0.55) * r
    mouth_y = rng.uniform(0.25, 0.5) * r + curve * (X / max(mx, 1e-3)) ** 2 * 0.3 * r
    mouth = (np.abs(Y - mouth_y) <= rng.uniform(0.05, 0.1) * r + 0.03) & (np.abs(X) <= mx)
    return _mix(img, feature, (eyes | mouth).astype(np.float32))


def _polygons(rng):
    img = np.broadcast_to(_colour(rng), (SPRITE_SIZE, SPRITE_SIZE, 3)).copy()
    for _ in range(rng.integers(1, 4)):
        k = rng.integers(3, 7)
        cx, cy, rad = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0.3, 0.8)
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        px, py = cx + rad * np.cos(angles), cy + rad * np.sin(angles)
        inside = np.ones_like(X, bool)
        for i in range(k):  # convex polygon: inside every edge's half-plane (vertices go anticlockwise)
            x0, y0, x1, y1 = px[i], py[i], px[(i + 1) % k], py[(i + 1) % k]
            inside &= (x1 - x0) * (Y - y0) - (y1 - y0) * (X - x0) >= 0
        img = _mix(img, _colour(rng), inside.astype(np.float32))
    return img


def _smooth_noise(rng, cells: int) -> np.ndarray:
    """Value noise: a random cells x cells grid, bilinearly upsampled to (S, S) in [0, 1]."""
    grid = rng.uniform(0, 1, (cells + 1, cells + 1)).astype(np.float32)
    u = (X + 1) / 2 * cells
    v = (Y + 1) / 2 * cells
    i, j = np.minimum(u.astype(int), cells - 1), np.minimum(v.astype(int), cells - 1)
    fu, fv = u - i, v - j
    top = grid[j, i] * (1 - fu) + grid[j, i + 1] * fu
    bottom = grid[j + 1, i] * (1 - fu) + grid[j + 1, i + 1] * fu
    return top * (1 - fv) + bottom * fv


def _noise(rng):
    img = _mix(_colour(rng), _colour(rng), _smooth_noise(rng, int(rng.integers(2, 6))))
    return _mix(img, _colour(rng), np.clip(_smooth_noise(rng, 3) * 2 - 1, 0, 1))


def _regions(rng):
    """2-4 flat colour regions split by straight lines (flags, tiles, split-colour pictures)."""
    colours = np.stack([_colour(rng) for _ in range(4)])
    a = (_rotated(rng) > rng.uniform(-0.5, 0.5)).astype(int)
    b = (_rotated(rng) > rng.uniform(-0.5, 0.5)).astype(int) if rng.random() < 0.7 else 0
    return colours[a + 2 * b]


def _spiral(rng):
    """Held out: an Archimedean spiral of 2-3 colours, a picture no training family draws."""
    colours = [_colour(rng) for _ in range(rng.integers(2, 4))]
    r, theta = np.sqrt(X ** 2 + Y ** 2), np.arctan2(Y, X)
    arms = rng.integers(1, 4)
    phase = (theta * arms / (2 * np.pi) + r * rng.uniform(1.5, 3.5)) % 1.0
    return np.stack(colours)[np.floor(phase * len(colours)).astype(int)]


FAMILIES = {"gradient": _gradient, "blobs": _blobs, "stripes": _stripes, "checker": _checker, "rings": _rings,
            "face": _face, "polygons": _polygons, "noise": _noise, "regions": _regions, "spiral": _spiral}


def make_sprite(seed: int, family: str | None = None) -> np.ndarray:
    """One picture, uint8 (S, S, 3). family None: one of the training families, chosen by the seed."""
    rng = np.random.default_rng(seed)
    family = family or TRAIN_FAMILIES[int(rng.integers(len(TRAIN_FAMILIES)))]
    img = FAMILIES[family](rng)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def training_sprites(seed: int, n: int) -> np.ndarray:
    """n training pictures (n, S, S, 3) from seeds below HELDOUT_SEED_START."""
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, HELDOUT_SEED_START, n)
    return np.stack([make_sprite(int(s)) for s in seeds])


def heldout_sprites(n: int, families: list[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """n held-out (family, picture) pairs: held-out seeds, cycling over every family (spiral included)."""
    families = families or TRAIN_FAMILIES + HELDOUT_FAMILIES
    return [(families[i % len(families)], make_sprite(HELDOUT_SEED_START + i, families[i % len(families)]))
            for i in range(n)]
