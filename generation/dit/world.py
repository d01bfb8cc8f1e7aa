"""Flatland: the procedural world the default model learns.

A clip is 16 frames of flat shapes on a flat background. Its `ClipSpec` holds every attribute
(colours, shapes, sizes, motion, relation, wall) and the per-frame object centres, so the same
spec renders a clip, writes a caption and tells the evaluation what the clip must show.

Specs are sampled on the CPU (cheap Python); `render` draws a whole batch of them with torch on
any device, so GPU training never waits for a data loader. The vocabulary (colour names and RGB,
shapes, sizes, motions, relations, the gray wall) is a contract with `eval.py` and DESIGN.md.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

FRAMES = 16
RESOLUTION = 64
FPS = 8

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 50, 50),
    "orange": (240, 140, 40),
    "yellow": (235, 210, 50),
    "green": (60, 170, 80),
    "blue": (50, 90, 220),
    "purple": (140, 70, 190),
    "white": (235, 235, 235),
    "black": (25, 25, 25),
}
WALL_RGB = (128, 128, 128)
COLOURS = list(PALETTE)
SHAPES = ["circle", "square", "triangle"]
SIZES = ["small", "big"]
MOTIONS = ["left", "right", "up", "down", "still", "falling"]
RELATIONS = ["left of", "right of", "above", "below"]
KINDS = ["single", "pair", "wall"]

# Geometry in pixels of a 64-px frame; `render` scales to other resolutions.
RADIUS = {"small": 5.0, "big": 9.0}
# A cameo (an uploaded picture, see world_sprites.py) is pasted as a square of this half-side: larger
# than the shapes so a picture keeps recognisable detail after the VAE's 4x spatial compression.
CAMEO = "@cameo"  # the colour and shape of an ObjectSpec that shows a picture
CAMEO_HALF = {"small": 7.0, "big": 11.0}
WALL_HALF_WIDTH = 10.0
GRAVITY = 1.4  # px / frame^2
RESTITUTION = 0.75


@dataclass
class ObjectSpec:
    colour: str
    shape: str
    size: str
    motion: str = "still"
    # (FRAMES, 2) centre x, y per frame in 64-px coordinates
    track: np.ndarray = field(default=None, repr=False)
    sprite: np.ndarray | None = field(default=None, repr=False)  # uint8 (S, S, 3) picture of a cameo

    @property
    def is_cameo(self) -> bool:
        return self.shape == CAMEO

    @property
    def half_size(self) -> float:
        """Radius of a shape, half the side of a cameo's square (64-px units)."""
        return CAMEO_HALF[self.size] if self.is_cameo else RADIUS[self.size]


@dataclass
class ClipSpec:
    kind: str  # "single" | "pair" | "wall"
    background: str
    objects: list[ObjectSpec]
    relation: str | None = None  # for "pair": objects[0] <relation> objects[1]
    wall_x: float | None = None  # wall centre for "wall" clips

    @property
    def subject(self) -> ObjectSpec:
        return self.objects[0]


# ---------------------------------------------------------------------------------------------
# Held-out combinations: never sampled for training, used by the evaluation.


def _bucket(key: str, buckets: int) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % buckets


def is_held_out(spec: ClipSpec) -> bool:
    """A fixed ~1/8 of (colour, shape, background) triples and of object pairs is held out. Cameo
    clips are never held out by their spec: what is held out for them is the picture (world_sprites)."""
    a = spec.subject
    if a.is_cameo:
        return False
    if spec.kind == "pair":
        b = spec.objects[1]
        return _bucket(f"pair|{a.colour}|{a.shape}|{b.colour}|{b.shape}", 8) == 0
    return _bucket(f"single|{a.colour}|{a.shape}|{spec.background}", 8) == 0


# ---------------------------------------------------------------------------------------------
# Trajectories (64-px coordinates, y grows downwards, the floor is the bottom edge).


def track_bounds(r: float) -> tuple[float, float]:
    """The range of an object's centre along either axis: objects stop at the frame's edge, whole."""
    return r + 1.0, RESOLUTION - r - 1.0


def _linear_track(rng: random.Random, motion: str, r: float, speed: float) -> np.ndarray:
    travel = speed * (FRAMES - 1)
    lo, hi = track_bounds(r)
    t = np.arange(FRAMES, dtype=np.float32)
    if motion == "still":
        x, y = rng.uniform(lo, hi), rng.uniform(lo, hi)
        return np.stack([np.full(FRAMES, x), np.full(FRAMES, y)], 1).astype(np.float32)
    start = rng.uniform(lo, max(lo, hi - travel))
    other = rng.uniform(lo, hi)
    if motion in ("left", "up"):
        start = hi - (start - lo)  # start near the far edge and move back
        along = start - speed * t
    else:
        along = start + speed * t
    along = np.clip(along, lo, hi)
    if motion in ("left", "right"):
        return np.stack([along, np.full(FRAMES, other)], 1).astype(np.float32)
    return np.stack([np.full(FRAMES, other), along], 1).astype(np.float32)


def _falling_track(rng: random.Random, r: float) -> np.ndarray:
    """Dropped from rest near the top; bounces on the floor, losing energy each bounce."""
    x = rng.uniform(r + 1.0, RESOLUTION - r - 1.0)
    y, vy = rng.uniform(r + 1.0, 20.0), 0.0
    floor = RESOLUTION - r
    ys, substeps = [], 8
    for _ in range(FRAMES):
        ys.append(y)
        for _ in range(substeps):
            vy += GRAVITY / substeps
            y += vy / substeps
            if y > floor:
                y = floor - (y - floor)
                vy = -vy * RESTITUTION
    return np.stack([np.full(FRAMES, x), np.array(ys)], 1).astype(np.float32)


def make_track(rng: random.Random, motion: str, size: str, r: float | None = None) -> np.ndarray:
    r = RADIUS[size] if r is None else r
    if motion == "falling":
        return _falling_track(rng, r)
    return _linear_track(rng, motion, r, speed=rng.uniform(1.8, 2.6))


def _wall_track(rng: random.Random, motion: str, r: float, wall_x: float) -> np.ndarray:
    """Starts fully left (right) of the wall, passes behind it, comes out fully on the other side."""
    start = wall_x - WALL_HALF_WIDTH - r - rng.uniform(1.0, 3.0)
    end = wall_x + WALL_HALF_WIDTH + r + rng.uniform(1.0, 3.0)
    start, end = max(start, r + 1.0), min(end, RESOLUTION - r - 1.0)
    xs = np.linspace(start, end, FRAMES, dtype=np.float32)
    if motion == "left":
        xs = xs[::-1].copy()
    y = rng.uniform(r + 1.0, RESOLUTION - r - 1.0)
    return np.stack([xs, np.full(FRAMES, y, dtype=np.float32)], 1)


def _pair_tracks(rng: random.Random, relation: str, ra: float, rb: float):
    lo = 1.0
    gap = ra + rb + rng.uniform(4.0, 14.0)
    # main axis: a before b along x (left of) or y (above)
    r = max(ra, rb)  # either object may end up first once the relation swaps them
    first = rng.uniform(r + lo, RESOLUTION - r - lo - gap)
    a_main, b_main = first, first + gap
    if relation in ("right of", "below"):
        a_main, b_main = b_main, a_main
    cross = rng.uniform(max(ra, rb) + lo + 2, RESOLUTION - max(ra, rb) - lo - 2)
    a_cross, b_cross = cross + rng.uniform(-3, 3), cross + rng.uniform(-3, 3)
    if relation in ("left of", "right of"):
        a, b = (a_main, a_cross), (b_main, b_cross)
    else:
        a, b = (a_cross, a_main), (b_cross, b_main)
    ta = np.tile(np.array(a, dtype=np.float32), (FRAMES, 1))
    tb = np.tile(np.array(b, dtype=np.float32), (FRAMES, 1))
    return ta, tb


# ---------------------------------------------------------------------------------------------
# Sampling specs.


KIND_WEIGHTS = (0.6, 0.25, 0.15)  # single, pair, wall: how often sample_spec draws each kind


def sample_spec(rng: random.Random, split: str = "train", kind: str | None = None, cameo: bool = False,
                kind_weights: tuple[float, float, float] | None = None) -> ClipSpec:
    """A random clip spec; split "train" never returns a held-out combination, "heldout" only those.
    cameo: the subject is a picture (CAMEO) instead of a coloured shape; its sprite is set by the caller.
    kind_weights: relative frequency of single / pair / wall clips (default KIND_WEIGHTS)."""
    for _ in range(1000):
        spec = _sample_any(rng, kind or rng.choices(KINDS, weights=kind_weights or KIND_WEIGHTS)[0], cameo)
        if cameo or (split == "heldout") == is_held_out(spec):
            return spec
    raise RuntimeError("could not sample a spec for split " + split)


def _sample_any(rng: random.Random, kind: str, cameo: bool = False) -> ClipSpec:
    background = rng.choice(COLOURS)
    colour = rng.choice([c for c in COLOURS if c != background])
    a = ObjectSpec(colour, rng.choice(SHAPES), rng.choice(SIZES))
    if cameo:
        a.colour = a.shape = CAMEO
    if kind == "single":
        a.motion = rng.choice(MOTIONS)
        a.track = make_track(rng, a.motion, a.size, a.half_size)
        return ClipSpec("single", background, [a])
    if kind == "wall":
        a.motion = rng.choice(["left", "right"])
        wall_x = RESOLUTION / 2 + rng.uniform(-3.0, 3.0)
        a.track = _wall_track(rng, a.motion, a.half_size, wall_x)
        return ClipSpec("wall", background, [a], wall_x=wall_x)
    b_colour = rng.choice([c for c in COLOURS if c not in (background, colour)])
    b = ObjectSpec(b_colour, rng.choice(SHAPES), rng.choice(SIZES))
    relation = rng.choice(RELATIONS)
    a.track, b.track = _pair_tracks(rng, relation, a.half_size, b.half_size)
    return ClipSpec("pair", background, [a, b], relation=relation)


def cameo_version(spec: ClipSpec, rng: random.Random, picture: np.ndarray) -> ClipSpec:
    """The same clip (kind, background, motion, relation, second object, wall) with the subject
    replaced by a picture; tracks are redrawn for the cameo's size so it stays inside the frame."""
    a = spec.subject
    cam = ObjectSpec(CAMEO, CAMEO, a.size, a.motion, sprite=picture)
    others = [ObjectSpec(o.colour, o.shape, o.size, o.motion, o.track.copy()) for o in spec.objects[1:]]
    if spec.kind == "single":
        cam.track = make_track(rng, a.motion, a.size, cam.half_size)
    elif spec.kind == "wall":
        cam.track = _wall_track(rng, a.motion, cam.half_size, spec.wall_x)
    else:
        cam.track, others[0].track = _pair_tracks(rng, spec.relation, cam.half_size, others[0].half_size)
    return ClipSpec(spec.kind, spec.background, [cam, *others], spec.relation, spec.wall_x)


# ---------------------------------------------------------------------------------------------
# Rendering: a batch of specs -> uint8 video (B, T, H, W, 3) with torch on any device.


def _shape_masks(shape_id, radius, cx, cy, xs, ys):
    """Boolean masks (B, T, H, W) of one object per clip. shape_id, radius: (B,); cx, cy: (B, T)."""
    dx = xs[None, None] - cx[..., None, None]  # (B, T, H, W)
    dy = ys[None, None] - cy[..., None, None]
    r = radius[:, None, None, None]
    sid = shape_id[:, None, None, None]
    circle = dx * dx + dy * dy <= r * r
    square = (dx.abs() <= r) & (dy.abs() <= r)
    # isosceles triangle, apex up: half-width grows from 0 at the apex to r at the base
    triangle = (dy >= -r) & (dy <= r) & (dx.abs() <= (dy + r) * 0.5)
    return torch.where(sid == 0, circle, torch.where(sid == 1, square, triangle))


def spec_tensors(specs: list[ClipSpec]) -> dict[str, torch.Tensor]:
    """Packs specs into tensors (64-px coordinates) that `render_tensors` draws. Specs with a cameo
    subject add "cameo" (B,) bool and, where every such subject carries its picture, "sprite"
    (B, 3, S, S) uint8 (training adds sprites from its bank instead, see train.py)."""
    n = len(specs)
    rgb = np.zeros((n, 2, 3), np.float32)
    shape = np.zeros((n, 2), np.int64)
    radius = np.zeros((n, 2), np.float32)
    track = np.full((n, 2, FRAMES, 2), -1000.0, np.float32)  # absent objects sit far off-canvas
    bg = np.zeros((n, 3), np.float32)
    wall = np.full((n,), -1000.0, np.float32)
    cameo = np.array([s.subject.is_cameo for s in specs], bool)
    for i, s in enumerate(specs):
        bg[i] = PALETTE[s.background]
        for k, o in enumerate(s.objects[:2]):
            rgb[i, k] = PALETTE.get(o.colour, (0, 0, 0))
            shape[i, k] = SHAPES.index(o.shape) if o.shape in SHAPES else 1  # a cameo's square
            radius[i, k] = o.half_size
            track[i, k] = o.track
        if s.wall_x is not None:
            wall[i] = s.wall_x
    arrays = {"rgb": rgb, "shape": shape, "radius": radius, "track": track, "bg": bg, "wall": wall}
    if cameo.any():
        arrays["cameo"] = cameo
        pictures = [s.subject.sprite for s in specs if s.subject.is_cameo]
        if all(p is not None for p in pictures):
            size = pictures[0].shape[0]
            sprite = np.zeros((n, size, size, 3), np.uint8)
            sprite[cameo] = np.stack(pictures)
            arrays["sprite"] = sprite.transpose(0, 3, 1, 2).copy()
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def render_tensors(t: dict[str, torch.Tensor], resolution: int = RESOLUTION, device="cpu") -> torch.Tensor:
    """Draws packed specs: returns uint8 (B, T, H, W, 3) on `device`."""
    t = {k: v.to(device) for k, v in t.items()}
    scale = resolution / RESOLUTION
    centres = (torch.arange(resolution, device=device, dtype=torch.float32) + 0.5) / scale
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")  # (H, W) in 64-px units
    n = t["bg"].shape[0]
    video = t["bg"][:, None, None, None, :].expand(n, FRAMES, resolution, resolution, 3).clone()
    # objects[1] first so that objects[0] (the subject) is drawn on top
    for k in (1, 0):
        mask = _shape_masks(t["shape"][:, k], t["radius"][:, k], t["track"][:, k, :, 0], t["track"][:, k, :, 1], xs, ys)
        colour = t["rgb"][:, k, None, None, None, :]
        if k == 0 and "sprite" in t:  # cameo subjects: the picture, pasted on the shape's (square) mask
            picture = paste_sprites(t["sprite"], t["radius"][:, 0], t["track"][:, 0], xs, ys)
            colour = torch.where(t["cameo"][:, None, None, None, None], picture, colour)
        video = torch.where(mask[..., None], colour, video)
    wall = (xs[None] - t["wall"][:, None, None]).abs() <= WALL_HALF_WIDTH  # (B, H, W)
    wall_rgb = torch.tensor(WALL_RGB, dtype=torch.float32, device=device)
    video = torch.where(wall[:, None, :, :, None], wall_rgb, video)
    return video.round().clamp(0, 255).to(torch.uint8)


def paste_sprites(sprite: torch.Tensor, half: torch.Tensor, track: torch.Tensor, xs, ys,
                  sizes: tuple[float, ...] | None = None) -> torch.Tensor:
    """Each clip's picture resampled over the square of half-side `half` centred on its track:
    sprite (B, 3, S, S) 0..255, half (B,), track (B, T, 2) -> colours (B, T, H, W, 3) (valid inside
    the square). Sub-pixel: bilinear grid_sample at every pixel centre. Anti-aliased: the picture is
    first resized (area-weighted) to the square's side in pixels, per size, so a shrunken checker
    does not alias into a different picture. `sizes`: the half-sides `half` takes (None: every cameo size)."""
    b = sprite.shape[0]
    px = xs.shape[1] / RESOLUTION  # pixels per 64-px unit
    u = (xs[None, None] - track[..., 0, None, None]) / half[:, None, None, None]  # (B, T, H, W) in [-1, 1]
    v = (ys[None, None] - track[..., 1, None, None]) / half[:, None, None, None]
    grid = torch.stack([u, v], -1).flatten(1, 2)  # (B, T*H, W, 2)
    sprite = sprite.float()
    out = None
    for h in sizes or CAMEO_HALF.values():  # fixed sizes: no host sync, one graph under torch.compile
        side = max(2, int(round(2 * h * px)))
        src = F.interpolate(sprite, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
        got = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
        out = got if out is None else torch.where((half == h)[:, None, None, None], got, out)
    return out.view(b, 3, track.shape[1], *xs.shape).permute(0, 2, 3, 4, 1)


def subject_masks(specs: list[ClipSpec], resolution: int = RESOLUTION) -> torch.Tensor:
    """Where each clip's subject shows: bool (B, T, H, W), the wall's columns excluded."""
    return subject_masks_from_tensors(spec_tensors(specs), resolution)


def subject_masks_from_tensors(t: dict[str, torch.Tensor], resolution: int = RESOLUTION) -> torch.Tensor:
    """subject_masks for packed spec tensors (on their device)."""
    centres = (torch.arange(resolution, dtype=torch.float32, device=t["track"].device) + 0.5) * RESOLUTION / resolution
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    mask = _shape_masks(t["shape"][:, 0], t["radius"][:, 0], t["track"][:, 0, :, 0], t["track"][:, 0, :, 1], xs, ys)
    wall = (xs[None] - t["wall"][:, None, None]).abs() <= WALL_HALF_WIDTH
    return mask & ~wall[:, None]


def render(specs: list[ClipSpec], resolution: int = RESOLUTION, device="cpu") -> torch.Tensor:
    return render_tensors(spec_tensors(specs), resolution, device)


def render_numpy(spec: ClipSpec, resolution: int = RESOLUTION) -> np.ndarray:
    """One clip as uint8 (T, H, W, 3)."""
    return render([spec], resolution)[0].numpy()
