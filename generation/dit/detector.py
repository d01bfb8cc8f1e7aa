"""The deterministic detector the evaluation scores with: uint8 frames (T, H, W, 3) -> what they show.

No learning: the background is the dominant palette colour, the gray wall is the set of columns
that are (128, 128, 128) in most frames, an object mask is the pixels far from the background
colour (outside the wall), split into objects by nearest palette colour and kept as the largest
connected blob per frame. From the masks: colour (nearest palette colour of the median pixel),
shape (fill ratio of the bounding box: circle ~0.785, square 1.0, triangle 0.5, with the share of
pixels in the box's top half, 0.25 for an apex-up triangle, as a second cue), size (box extent),
motion (centroid track: left/right/up/down/still, or falling when the track turns at the floor),
relation of two objects (centroids), permanence behind the wall (same colour and shape on both
sides, exit edge where the entry motion predicts) and temporal consistency (colour and area).

Geometry is in pixels of a 64-px frame (world.RADIUS), scaled to the frames' resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .world import PALETTE, RADIUS, RESOLUTION, SHAPES, WALL_RGB

NAMES = list(PALETTE)
PAL = np.array([PALETTE[n] for n in NAMES], np.float32)  # (8, 3)
FILL = {"circle": np.pi / 4, "square": 1.0, "triangle": 0.5}  # share of its bounding box a shape fills
MIN_PIXELS = 4  # fewer visible pixels than this: the object is hidden in that frame
WALL_TOL = 24  # max channel difference from WALL_RGB for a wall pixel
SIZE_SPLIT = RADIUS["small"] + RADIUS["big"]  # box extent (px at 64) between small (~10) and big (~18)
STILL_PX = 6.0  # total displacement (px at 64) below which an object is still
FLOOR_PX = 8.0  # a bounce must turn within this distance of the bottom edge
EXIT_TOL_PX = 4.0  # permanence: exit edge within this distance of the prediction


def nearest_colour(rgb) -> np.ndarray:
    """Index into NAMES of the nearest palette colour, for any (..., 3) array."""
    d = ((np.asarray(rgb, np.float32)[..., None, :] - PAL) ** 2).sum(-1)
    return d.argmin(-1)


@dataclass
class ObjectTrack:
    colour: str
    rgb: tuple[int, int, int]  # median pixel
    shape: str | None
    size: str | None
    fill: float  # median fill ratio of the bounding box
    top: float  # median share of the pixels in the top half of the box
    extent: float  # median max(box width, box height), px at this resolution
    centroids: np.ndarray  # (T, 2) x, y; NaN where hidden
    boxes: np.ndarray  # (T, 4) x0, y0, x1, y1 inclusive; NaN where hidden
    areas: np.ndarray  # (T,) pixels
    clear: np.ndarray  # (T,) visible and not touching the wall
    motion: str | None = None  # left/right/up/down/still/falling
    bounce: bool = False
    colour_stability: float = 0.0  # share of visible frames whose colour is `colour`
    area_cv: float = 0.0  # std/mean of the area over clear frames
    consistent: bool = False

    @property
    def visible(self) -> np.ndarray:
        return self.areas >= MIN_PIXELS


@dataclass
class Reading:
    background: str
    background_rgb: tuple[int, int, int]
    wall: tuple[int, int] | None  # inclusive wall columns
    objects: list[ObjectTrack] = field(default_factory=list)  # largest first
    permanence: dict | None = None  # wall clips: see `_permanence`


# ---------------------------------------------------------------------------------------------
# Masks


def detect_wall(frames: np.ndarray) -> tuple[int, int] | None:
    """The widest run of columns that are wall gray in most pixels of most frames."""
    gray = (np.abs(frames.astype(np.int16) - np.array(WALL_RGB, np.int16)).max(-1) <= WALL_TOL)
    cols = gray.mean((0, 1)) > 0.5  # (W,)
    best, start = None, None
    for x, on in enumerate(np.append(cols, False)):
        if on and start is None:
            start = x
        elif not on and start is not None:
            if best is None or x - start > best[1] - best[0] + 1:
                best = (start, x - 1)
            start = None
    if best is None or best[1] - best[0] + 1 < max(3, frames.shape[2] // 16):
        return None
    return best


def _components(mask: np.ndarray) -> np.ndarray:
    """8-connected component labels of a (T, H, W) mask (per frame); `mask.size` where False."""
    big = mask.size
    lab = np.where(mask, np.arange(big).reshape(mask.shape), big)
    h, w = mask.shape[1:]
    while True:
        p = np.pad(lab, ((0, 0), (1, 1), (1, 1)), constant_values=big)
        m = lab
        for dy in (0, 1, 2):
            for dx in (0, 1, 2):
                m = np.minimum(m, p[:, dy:dy + h, dx:dx + w])
        m = np.where(mask, m, big)
        m = m.reshape(-1)[np.minimum(m.reshape(-1), big - 1)].reshape(mask.shape) * mask + big * ~mask  # pointer jump
        if np.array_equal(m, lab):
            return lab
        lab = m


def largest_blob(mask: np.ndarray) -> np.ndarray:
    """Keeps the largest connected blob of every frame of a (T, H, W) mask."""
    lab = _components(mask)
    out = np.zeros_like(mask)
    for t in range(mask.shape[0]):
        ids, counts = np.unique(lab[t][mask[t]], return_counts=True)
        if len(ids):
            out[t] = lab[t] == ids[counts.argmax()]
    return out


# ---------------------------------------------------------------------------------------------
# One object


def _track(frames: np.ndarray, mask: np.ndarray, wall, scale: float) -> ObjectTrack:
    t_n, h, w = mask.shape
    areas = mask.sum((1, 2)).astype(np.float32)
    cents, boxes = np.full((t_n, 2), np.nan), np.full((t_n, 4), np.nan)
    fills, tops, extents = np.full(t_n, np.nan), np.full(t_n, np.nan), np.full(t_n, np.nan)
    clear, labels, ious = np.zeros(t_n, bool), np.full(t_n, -1), np.full((t_n, 3), np.nan)
    for t in range(t_n):
        if areas[t] < MIN_PIXELS:
            continue
        ys, xs = np.nonzero(mask[t])
        x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
        cents[t], boxes[t] = (xs.mean() + 0.5, ys.mean() + 0.5), (x0, y0, x1, y1)
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        fills[t], extents[t] = areas[t] / (bw * bh), max(bw, bh)
        mid = (y0 + y1) / 2
        tops[t] = ((ys < mid).sum() + 0.5 * (ys == mid).sum()) / areas[t]
        ious[t] = _shape_iou(mask[t], *cents[t], areas[t])
        inside = x0 > 0 and y0 > 0 and x1 < w - 1 and y1 < h - 1  # not cut by the frame's edge
        clear[t] = inside and (wall is None or x1 <= wall[0] - 2 or x0 >= wall[1] + 2)
        labels[t] = nearest_colour(np.median(frames[t][mask[t]], 0))
    vis = areas >= MIN_PIXELS
    rgb = np.median(frames[mask], 0) if vis.any() else np.zeros(3)
    colour = NAMES[int(nearest_colour(rgb))]
    # shape and size from unoccluded frames, else from the least occluded one
    use = clear if clear.any() else (areas == areas.max()) & vis
    shape = size = None
    fill = top = extent = float("nan")
    if use.any():
        fill, top, extent = (float(np.median(v[use])) for v in (fills, tops, extents))
        if clear.any():
            shape = SHAPES[int(np.median(ious[use], 0).argmax())]
        else:  # cut by the wall or the frame edge in every frame: the box fill ratio alone
            shape = min(FILL, key=lambda s: abs(fill - FILL[s]))
        size = "small" if extent < SIZE_SPLIT * scale else "big"
    obj = ObjectTrack(colour, tuple(int(c) for c in rgb), shape, size, fill, top, extent, cents, boxes, areas, clear)
    obj.motion, obj.bounce = _motion(cents, boxes, vis, h, scale)
    if vis.any():
        obj.colour_stability = float((labels[vis] == NAMES.index(colour)).mean())
        # unoccluded frames; where fewer than 2 exist (wall clips), the frames within 15% of the largest
        a = areas[clear] if clear.sum() >= 2 else areas[vis & (areas >= 0.85 * areas.max())]
        obj.area_cv = float(a.std() / max(a.mean(), 1.0))
    obj.consistent = bool(obj.colour_stability >= 0.9 and obj.area_cv <= 0.2 and (wall is not None or vis.all()))
    return obj


def _shape_iou(m: np.ndarray, cx: float, cy: float, area: float) -> np.ndarray:
    """IoU of a frame's mask with a circle, square and triangle (apex up) of the same area and centroid.

    This is the fill-ratio test made robust: a square fills its box (1.0), a circle ~0.785, a
    triangle 0.5, but one ragged row of edge pixels (blur plus noise) shifts a box ratio by ~0.15,
    while it moves the IoUs of all three fitted shapes alike."""
    ys, xs = np.nonzero(m)
    y0, y1 = max(ys.min() - 3, 0), min(ys.max() + 4, m.shape[0])
    x0, x1 = max(xs.min() - 3, 0), min(xs.max() + 4, m.shape[1])
    gy, gx = np.mgrid[y0:y1, x0:x1] + 0.5
    win = m[y0:y1, x0:x1]
    out = []
    for shape in SHAPES:
        if shape == "circle":
            r = np.sqrt(area / np.pi)
            proto = (gx - cx) ** 2 + (gy - cy) ** 2 <= r * r
        elif shape == "square":
            r = np.sqrt(area) / 2
            proto = (np.abs(gx - cx) <= r) & (np.abs(gy - cy) <= r)
        else:
            r = np.sqrt(area / 2)
            dy = gy - (cy - r / 3)  # a triangle's centroid lies a third of its half-height below the centre
            proto = (dy >= -r) & (dy <= r) & (np.abs(gx - cx) <= (dy + r) * 0.5)
        out.append((proto & win).sum() / max((proto | win).sum(), 1))
    return np.array(out)


def _motion(cents, boxes, vis, height, scale) -> tuple[str | None, bool]:
    """Direction from the least-squares slope of the centroid track; falling if it bounces at the floor."""
    idx = np.nonzero(vis)[0]
    if len(idx) < 2:
        return None, False
    bottom = boxes[idx, 3]
    k = int(bottom.argmax())
    bounce = bool(len(idx) >= 6 and 0 < k < len(idx) - 1
                  and bottom[k] >= height - 1 - FLOOR_PX * scale  # turns near the floor
                  and bottom[k] - bottom[0] >= FLOOR_PX * scale  # after coming down
                  and bottom[k] - bottom[k + 1:].min() >= 3 * scale)  # and goes back up
    if bounce:
        return "falling", True
    span = idx[-1] - idx[0] + 1
    dx, dy = (np.polyfit(idx, cents[idx, i], 1)[0] * (span - 1) for i in (0, 1))
    if max(abs(dx), abs(dy)) < STILL_PX * scale:
        return "still", False
    if abs(dx) >= abs(dy):
        return ("right" if dx > 0 else "left"), False
    return ("down" if dy > 0 else "up"), False


# ---------------------------------------------------------------------------------------------
# The whole clip


def _neighbours(mask: np.ndarray) -> np.ndarray:
    """How many of the 8 neighbours of each pixel of a (T, H, W) mask are set."""
    h, w = mask.shape[1:]
    p = np.pad(mask, ((0, 0), (1, 1), (1, 1))).astype(np.int8)
    return sum(p[:, dy:dy + h, dx:dx + w] for dy in (0, 1, 2) for dx in (0, 1, 2)) - mask


def _split_objects(fg: np.ndarray, labels: np.ndarray, n_objects: int | None) -> list[np.ndarray]:
    """Foreground -> one (T, H, W) mask per object, by colour: each colour keeps, per frame, the blob
    holding most of its core pixels (whole blob, so blended edges stay with their object)."""
    t_n = fg.shape[0]
    core = fg & (_neighbours(fg) == 8)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):  # core: the label agrees with its 4 neighbours
        core &= labels == np.roll(labels, (dy, dx), (1, 2))
    counts = np.bincount(labels[core].ravel(), minlength=len(NAMES)).astype(float)
    if counts.sum() == 0:
        counts = np.bincount(labels[fg].ravel(), minlength=len(NAMES)).astype(float)
        core = fg
    present = [int(c) for c in np.argsort(-counts) if counts[c] >= max(0.15 * counts.max(), MIN_PIXELS * t_n / 4)]
    if n_objects == 1:
        return [largest_blob(fg)]
    present = present[:n_objects] if n_objects else present
    lab = _components(fg)
    chosen = {}
    for c in present:
        per_frame = []
        for t in range(t_n):
            ids, cnt = np.unique(lab[t][core[t] & (labels[t] == c)], return_counts=True)
            per_frame.append(ids[cnt.argmax()] if len(ids) else -1)
        chosen[c] = per_frame
    masks = []
    for c in present:
        m = np.zeros_like(fg)
        for t, i in enumerate(chosen[c]):
            if i < 0:
                continue
            m[t] = lab[t] == i
            if sum(chosen[o][t] == i for o in present) > 1:  # two colours in one blob: split by colour
                m[t] &= labels[t] == c
        masks.append(m)
    if n_objects == 2 and len(masks) == 1:  # both objects read as one colour: split by place
        union = _components(fg.any(0, keepdims=True))[0]
        ids, cnt = np.unique(union[fg.any(0)], return_counts=True)
        masks = [fg & (union == i)[None] for i in ids[np.argsort(-cnt)[:2]]]
    return masks


def _refine(f: np.ndarray, mask: np.ndarray, bg_rgb: np.ndarray, outside: np.ndarray, largest=True) -> np.ndarray:
    """Redraws an object's edge at the half-way point between background and object colour, so a
    blurred edge (blended pixels) neither grows nor shrinks the shape."""
    if mask.sum() < MIN_PIXELS:
        return mask
    core = mask & (_neighbours(mask) == 8)
    obj_rgb = np.median(f[core if core.sum() >= MIN_PIXELS else mask], 0)
    d = obj_rgb - bg_rgb
    alpha = ((f - bg_rgb) @ d) / max(float(d @ d), 1.0)  # 0 at the background, 1 at the object colour
    grown = (_neighbours(mask) > 0) | mask
    out = grown & (alpha > 0.5) & outside[None, None, :]
    return largest_blob(out) if largest else out


def analyze(frames: np.ndarray, n_objects: int | None = None) -> Reading:
    """Reads a clip. n_objects: how many objects to look for (1, 2, or None: as many colours as show)."""
    frames = np.asarray(frames)
    assert frames.ndim == 4 and frames.shape[-1] == 3, frames.shape
    t_n, h, w, _ = frames.shape
    scale = w / RESOLUTION
    wall = detect_wall(frames)
    outside = np.ones(w, bool)
    if wall is not None:
        outside[wall[0]:wall[1] + 1] = False
    f = frames.astype(np.float32)
    labels = nearest_colour(f)  # (T, H, W)
    counts = np.bincount(labels[:, :, outside].ravel(), minlength=len(NAMES))
    bg = int(counts.argmax())
    bg_rgb = np.median(f[:, :, outside][labels[:, :, outside] == bg], 0)
    # "far from the background": beyond ~half the distance to the nearest other palette colour
    others = np.delete(PAL, bg, 0)
    threshold = min(60.0, 0.45 * float(np.sqrt(((others - PAL[bg]) ** 2).sum(-1)).min()))
    far = np.sqrt(((f - bg_rgb) ** 2).sum(-1)) > threshold
    if wall is not None:  # blurred wall edges: columns next to the wall that are never background
        col_far = np.median(far, axis=(0, 1)) > 0
        x0, x1 = wall
        while x0 > 0 and wall[0] - x0 < 3 * scale and col_far[x0 - 1]:
            x0 -= 1
        while x1 < w - 1 and x1 - wall[1] < 3 * scale and col_far[x1 + 1]:
            x1 += 1
        wall = (x0, x1)
        outside[x0:x1 + 1] = False
    fg = far & (labels != bg) & outside[None, None, :]
    fg &= _neighbours(fg) >= 2  # drop speckle
    reading = Reading(NAMES[bg], tuple(int(c) for c in bg_rgb), wall)
    if fg.sum() < MIN_PIXELS:
        return reading
    masks = [_refine(f, m, bg_rgb, outside) for m in _split_objects(fg, labels, n_objects)]
    objects = [_track(frames, m, wall, scale) for m in masks if m.sum() >= MIN_PIXELS]
    reading.objects = sorted(objects, key=lambda o: -np.nansum(o.areas))
    if wall is not None and reading.objects:
        reading.permanence = _permanence(frames, _refine(f, fg, bg_rgb, outside, largest=False), reading.objects[0],
                                         wall, scale)
    return reading


def _side_track(frames, mask, wall, scale):
    return _track(frames, largest_blob(mask), wall, scale) if mask.sum() >= MIN_PIXELS else None


def _permanence(frames, fg, obj: ObjectTrack, wall, scale) -> dict:
    """Before/after the wall: same colour and shape, and the exit edge where the entry motion predicts.

    Entry side: the trailing edge (last to disappear) gives the speed; exit side: the leading edge
    (first to appear) must lie one object width ahead of the extrapolated trailing edge.
    """
    w = fg.shape[2]
    xs = np.arange(w)
    if obj.motion not in ("left", "right"):
        return {"ok": False, "reason": f"motion {obj.motion}"}
    right = obj.motion == "right"
    left_side, right_side = fg & (xs < wall[0]), fg & (xs > wall[1])
    entry, exit_ = (left_side, right_side) if right else (right_side, left_side)
    before, after = _side_track(frames, entry, wall, scale), _side_track(frames, exit_, wall, scale)
    out = {"ok": False, "before": None, "after": None, "exit_error_px": None}
    if before is None or after is None:
        out["reason"] = "not seen on both sides"
        return out
    out["before"] = {"colour": before.colour, "shape": before.shape}
    out["after"] = {"colour": after.colour, "shape": after.shape}
    t_in, t_out = np.nonzero(before.visible)[0], np.nonzero(after.visible)[0]
    trail = before.boxes[t_in, 0] if right else before.boxes[t_in, 2]
    lead = after.boxes[t_out, 2] if right else after.boxes[t_out, 0]
    width = np.nanmax(np.concatenate([before.boxes[:, 2] - before.boxes[:, 0], after.boxes[:, 2] - after.boxes[:, 0]]))
    if len(t_in) < 2:
        out["reason"] = "entry seen in fewer than 2 frames"
        return out
    slope, icept = np.polyfit(t_in, trail, 1)
    predicted = icept + slope * t_out + (width if right else -width)
    err = float(np.median(np.abs(lead - predicted)))
    out["exit_error_px"] = round(err, 2)
    same = before.colour == after.colour and before.shape == after.shape
    out["ok"] = bool(same and err <= EXIT_TOL_PX * scale and t_out.min() > t_in.min())
    if not out["ok"]:
        out["reason"] = "changed behind the wall" if not same else "exit off the predicted track"
    return out
