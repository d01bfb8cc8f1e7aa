"""Evaluation of the remix modes on held-out Flatland clips, scored by the deterministic detector.

    python -m generation.dit.eval_remix [--n 24] [--strength 0.7] [--steps 20] [--device cpu] [--out report.json]

Video to video: the parent is a rendered held-out clip of one object moving left/right/up/down; the
child prompt changes one attribute (the object's colour or the background colour). Scored: the edit
is applied (detector reads the new colour), the parent's direction of motion is kept, and the
child's centroid track along the motion axis correlates with the parent's (Pearson r).
Extend: the parent clip is continued by 8 frames with its own caption. Scored on the new frames:
colour, shape and direction kept, and the distance of the first new frame's object centroid from
where the parent's motion (its last two frames' velocity) puts it: the centroid of the object in the
world's own continuation (below), which for a triangle is not its centre. Where that motion reaches the
frame's edge, its direction may not be readable from the new frames at all: the world's own
continuation (the same velocity, stopping at the edge as the world's objects do) is read by the same
detector, and the rates are also given over the clips whose true continuation still reads as the
parent's direction: an object the world stops at the edge after a frame or two reads as "still".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path

import numpy as np

from . import captions, detector, world

LINEAR = ("left", "right", "up", "down")


def held_out_specs(n: int, seed: int = 0) -> list[world.ClipSpec]:
    rng, specs = random.Random(seed), []
    while len(specs) < n:
        spec = world.sample_spec(rng, split="heldout", kind="single")
        if spec.subject.motion == LINEAR[len(specs) % len(LINEAR)]:
            specs.append(spec)
    return specs


def edited(spec: world.ClipSpec, rng: random.Random) -> tuple[world.ClipSpec, str, str]:
    """The spec with one attribute changed: ("object_colour" | "background", new colour)."""
    used = {spec.background, spec.subject.colour}
    new = rng.choice([c for c in world.COLOURS if c not in used])
    if rng.random() < 0.5:
        obj = dataclasses.replace(spec.subject, colour=new)
        return dataclasses.replace(spec, objects=[obj]), "object_colour", new
    return dataclasses.replace(spec, background=new), "background", new


def _axis(motion: str) -> int:
    return 0 if motion in ("left", "right") else 1


def track_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3 or np.std(a[ok]) < 1e-6 or np.std(b[ok]) < 1e-6:
        return None
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def eval_remix(pipe, specs, strength: float, steps: int | None, seed: int = 0) -> dict:
    rows = []
    for i, spec in enumerate(specs):
        parent = world.render_numpy(spec)
        child_spec, attribute, colour = edited(spec, random.Random(f"{seed}-{i}"))
        prompt = captions.canonical_caption(child_spec)
        frames = pipe.remix(prompt, parent, strength=strength, seed=seed * 1000 + i, steps=steps).frames
        reading_p = detector.analyze(parent, n_objects=1)
        reading_c = detector.analyze(frames, n_objects=1)
        obj_p = reading_p.objects[0] if reading_p.objects else None
        obj_c = reading_c.objects[0] if reading_c.objects else None
        applied = (reading_c.background == colour) if attribute == "background" else bool(obj_c and obj_c.colour == colour)
        ax = _axis(spec.subject.motion)
        corr = track_correlation(obj_p.centroids[:, ax], obj_c.centroids[:, ax]) if obj_p and obj_c else None
        rows.append({"prompt": prompt, "attribute": attribute, "edit_applied": applied,
                     "direction_kept": bool(obj_c and obj_c.motion == spec.subject.motion),
                     "track_r": corr, "track_r_ok": bool(corr is not None and corr >= 0.9)})
    return {"rows": rows, **_rates(rows, ("edit_applied", "direction_kept", "track_r_ok"))}


def true_continuation(spec: world.ClipSpec, new_frames: int) -> np.ndarray:
    """The world's next `new_frames` frames of a one-object linear clip: the velocity of its last two
    frames, and, as in the world's own tracks, the object stops whole at the frame's edge."""
    obj = spec.subject
    velocity = obj.track[-1] - obj.track[-2]
    track = obj.track[-1] + velocity * np.arange(1, world.FRAMES + 1, dtype=np.float32)[:, None]
    track = np.clip(track, *world.track_bounds(obj.half_size))
    moved = dataclasses.replace(spec, objects=[dataclasses.replace(obj, track=track.astype(np.float32))])
    return world.render_numpy(moved)[:new_frames]


def eval_extend(pipe, specs, steps: int | None, new_frames: int = 8, seed: int = 0) -> dict:
    rows = []
    for i, spec in enumerate(specs):
        parent = world.render_numpy(spec)
        prompt = captions.canonical_caption(spec)
        frames = pipe.extend(prompt, parent, new_frames=new_frames, seed=seed * 1000 + i, steps=steps).frames
        new = frames[len(parent):]
        reading = detector.analyze(new, n_objects=1)
        obj = reading.objects[0] if reading.objects else None
        track = spec.subject.track  # (16, 2) true centres of the parent
        predicted = track[-1] + (track[-1] - track[-2])
        # where the true motion takes the centre off the 64-px frame within the new frames, the
        # continuation's direction cannot be read from it: such rows are also reported apart
        end = track[-1] + new_frames * (track[-1] - track[-2])
        in_frame = bool(np.all((end >= 0) & (end <= world.RESOLUTION - 1)))
        truth = detector.analyze(true_continuation(spec, new_frames), n_objects=1).objects
        if truth and not np.isnan(truth[0].centroids[0]).any():
            predicted = truth[0].centroids[0]  # the mask's centroid, not the shape's centre (2.7 px apart on a big triangle)
        err = None
        if obj is not None and not np.isnan(obj.centroids[0]).any():
            err = float(np.hypot(*(obj.centroids[0] - predicted)))
        rows.append({"prompt": prompt, "colour_kept": bool(obj and obj.colour == spec.subject.colour),
                     "shape_kept": bool(obj and obj.shape == spec.subject.shape),
                     "direction_kept": bool(obj and obj.motion == spec.subject.motion),
                     "first_frame_error_px": err, "within_3px": bool(err is not None and err <= 3.0),
                     "stays_in_frame": in_frame,
                     "truth_direction_readable": bool(truth and truth[0].motion == spec.subject.motion)})
    keys = ("colour_kept", "shape_kept", "direction_kept", "within_3px")
    subsets = {"stays_in_frame": [r for r in rows if r["stays_in_frame"]],
               "truth_direction_readable": [r for r in rows if r["truth_direction_readable"]]}
    return {"rows": rows, **_rates(rows, keys), **{k: _rates(v, keys) if v else None for k, v in subsets.items()}}


def _rates(rows: list[dict], keys) -> dict:
    return {"n": len(rows), "rates": {k: round(float(np.mean([bool(r[k]) for r in rows])), 4) for k in keys}}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m generation.dit.eval_remix", description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=24, help="held-out clips per mode")
    ap.add_argument("--strength", type=float, action="append", help="video-to-video strength (repeatable; default 0.95 and 0.7)")
    ap.add_argument("--modes", nargs="+", choices=["remix", "extend"], default=["remix", "extend"])
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--out", default=None, help="write the report as JSON here")
    args = ap.parse_args(argv)
    from .pipeline import WEIGHTS_DIR, Pipeline

    pipe = Pipeline.load(args.weights or WEIGHTS_DIR, args.device)
    specs = held_out_specs(args.n)
    report = {"model": pipe.model_version, "n": args.n, "steps": args.steps, "remix": {}}
    for s in (args.strength or [0.95, 0.7]) if "remix" in args.modes else []:  # 0.95: the product's default
        report["remix"][str(s)] = eval_remix(pipe, specs, s, args.steps)
        print(f"remix strength {s}: {report['remix'][str(s)]['rates']}", flush=True)
    if "extend" not in args.modes:
        return _write(report, args.out)
    report["extend"] = eval_extend(pipe, specs, args.steps)
    print(f"extend: {report['extend']['rates']}", flush=True)
    for subset, says in (("stays_in_frame", "whose object stays in frame"),
                         ("truth_direction_readable", "whose true continuation reads as the parent's direction")):
        if report["extend"][subset]:
            kept = report["extend"][subset]
            print(f"extend, the {kept['n']} clips {says}: {kept['rates']}", flush=True)
    return _write(report, args.out)


def _write(report: dict, out: str | None) -> dict:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
    sys.exit(0)
