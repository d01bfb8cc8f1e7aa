"""Scores a clip against the spec it was asked to show, attribute by attribute, with `detector`."""

from __future__ import annotations

import numpy as np

from .detector import ObjectTrack, Reading, analyze
from .world import PALETTE, ClipSpec


ATTRIBUTES = ["background", "object_colour", "shape", "size", "direction", "relation", "bounce", "permanence",
              "consistency"]


def relation_of(a: ObjectTrack, b: ObjectTrack) -> str | None:
    """Where a is relative to b (left of/right of/above/below), from centroids in frames showing both."""
    both = a.visible & b.visible
    if not both.any():
        return None
    dx, dy = b.centroids[both].mean(0) - a.centroids[both].mean(0)
    if abs(dx) >= abs(dy):
        return "left of" if dx > 0 else "right of"
    return "above" if dy > 0 else "below"


def match_objects(reading: Reading, spec: ClipSpec) -> list[ObjectTrack | None]:
    """Detected objects in spec order (nearest colours; None where an object is missing)."""
    objs = reading.objects[: len(spec.objects)]
    want = [np.array(PALETTE[o.colour], np.float32) for o in spec.objects]
    if len(spec.objects) == 2 and len(objs) == 2:
        cost = lambda p: sum(float(((np.array(d.rgb) - want[i]) ** 2).sum()) for i, d in enumerate(p))
        return min([objs, objs[::-1]], key=cost)
    return objs + [None] * (len(spec.objects) - len(objs))


def score(spec: ClipSpec, frames: np.ndarray) -> dict:
    """Per-attribute correctness (True/False, None where it does not apply) plus the detector's reading."""
    reading = analyze(frames, n_objects=len(spec.objects))
    found = match_objects(reading, spec)
    ok = all(d is not None for d in found)
    pairs = list(zip(spec.objects, found))
    s = spec.subject
    r = {
        "background": reading.background == spec.background,
        "object_colour": ok and all(d.colour == o.colour for o, d in pairs),
        "shape": ok and all(d.shape == o.shape for o, d in pairs),
        "size": ok and all(d.size == o.size for o, d in pairs),
        "direction": None if spec.kind == "pair" else bool(found[0] and found[0].motion == s.motion),
        "relation": (bool(ok and relation_of(*found) == spec.relation)) if spec.kind == "pair" else None,
        "bounce": bool(found[0] and found[0].bounce) if s.motion == "falling" and spec.kind == "single" else None,
        "permanence": bool(reading.permanence and reading.permanence["ok"]) if spec.kind == "wall" else None,
        "consistency": ok and all(d.consistent for d in found),
    }
    r["all_correct"] = all(v for v in r.values() if v is not None)
    r["detected"] = {
        "background": reading.background,
        "wall": reading.wall,
        "objects": [None if d is None else {"colour": d.colour, "shape": d.shape, "size": d.size, "motion": d.motion,
                                            "fill": round(d.fill, 3), "extent": d.extent} for d in found],
        "relation": relation_of(*found) if spec.kind == "pair" and ok else None,
        "permanence": reading.permanence,
    }
    return r
