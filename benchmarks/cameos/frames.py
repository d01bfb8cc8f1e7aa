"""Measure the likeness check on generated frames (cameos.services.cameos_found_in_frames).

    python -m benchmarks.cameos.frames [--cameos 60] [--clips 200] [--out benchmarks/cameos/frames.json]

Cameo pictures: `cameos` pictures of every kind in benchmarks/cameos/pictures.py; only those with
enough structure are looked for at all (likeness.FRAME_MIN_ENERGY: a one-colour picture looks like
any Flatland shape), and the report says how many that leaves out.
- Clips that show a cameo: Flatland's own renderer (generation/dit/world.py, the clips the model is
  trained to make) with the picture as the subject, single, pair and wall clips, softened like a
  decoder's output (the check sees the pipeline's frames, before H.264): found (right), or missed.
  The same clips against every *other* cameo: a wrong cameo found.
- Clips without any cameo: plain Flatland clips (coloured shapes), softened the same way: any
  cameo found is a false hold of an ordinary video.
These are renders of the world the model learns, not the model's own output (which is blurrier,
and which the shipped weights cannot make with a cameo yet): read the miss rate as a lower bound.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from benchmarks.cameos.pictures import KINDS, picture  # noqa: E402
from cameos import likeness  # noqa: E402
from generation.dit import world  # noqa: E402


def decoder_like(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a video decoder adds to a render: soft edges (Gaussian blur, sigma 0.6 px) and a little
    noise (std 3 grey levels). The check runs on the pipeline's frames, before any H.264."""
    from scipy import ndimage

    soft = ndimage.gaussian_filter(frames.astype(np.float32), sigma=(0, 0.6, 0.6, 0))
    return np.clip(soft + rng.normal(0, 3, frames.shape), 0, 255).astype(np.uint8)


def cameo_clip(rng: random.Random, sprite: np.ndarray) -> np.ndarray:
    spec = world.sample_spec(rng, kind=rng.choice(world.KINDS), cameo=True)
    spec = world.cameo_version(spec, rng, sprite)
    return world.render_numpy(spec)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cameos", type=int, default=60, help="cameo pictures (spread over the kinds)")
    ap.add_argument("--clips", type=int, default=200, help="plain Flatland clips (no cameo)")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args(argv)
    start = time.perf_counter()
    rng, noise = random.Random(7), np.random.default_rng(7)
    images = [picture(KINDS[i % len(KINDS)], 5000 + i, size=128) for i in range(args.cameos)]
    kinds = [KINDS[i % len(KINDS)] for i in range(args.cameos)]
    structure = np.array([likeness.structure_energy(img) for img in images])
    looked_for = structure >= likeness.FRAME_MIN_ENERGY
    pictures = np.stack([likeness.describe(img) for img in images])[looked_for]
    indices = np.flatnonzero(looked_for)

    found, wrong, per_kind = 0, 0, {}
    for row, i in enumerate(indices):
        sprite = np.asarray(images[i].convert("RGB").resize((32, 32)))
        clip = decoder_like(cameo_clip(rng, sprite), noise)
        scores = likeness.frame_scores(likeness.frame_subjects(clip), pictures)
        hit = bool(scores[row] >= likeness.FRAME_THRESHOLD)
        found += hit
        wrong += int((np.delete(scores, row) >= likeness.FRAME_THRESHOLD).sum())
        per_kind.setdefault(kinds[i], []).append(hit)

    false_holds, false_cameos = 0, 0
    for _ in range(args.clips):
        clip = decoder_like(world.render_numpy(world.sample_spec(rng)), noise)
        scores = likeness.frame_scores(likeness.frame_subjects(clip), pictures)
        hits = int((scores >= likeness.FRAME_THRESHOLD).sum())
        false_holds += hits > 0
        false_cameos += hits

    n = len(indices)
    result = {
        "command": "python -m benchmarks.cameos.frames " + " ".join(argv if argv is not None else sys.argv[1:]),
        "threshold": likeness.FRAME_THRESHOLD, "min_structure": likeness.FRAME_MIN_ENERGY,
        "cameos": args.cameos, "looked_for": n,
        "left_out_by_kind": {k: int(sum(1 for j, kk in enumerate(kinds) if kk == k and not looked_for[j]))
                             for k in KINDS},
        "clips_with_a_cameo": {"clips": n, "found": found, "miss_rate": round(1 - found / n, 4) if n else None,
                               "found_by_kind": {k: f"{sum(v)}/{len(v)}" for k, v in per_kind.items()},
                               "wrong_cameo_pairs": wrong, "wrong_cameo_rate": round(wrong / max(1, n * (n - 1)), 5)},
        "clips_without_a_cameo": {"clips": args.clips, "clips_held": false_holds,
                                  "false_hold_rate": round(false_holds / args.clips, 4),
                                  "cameo_clip_pairs_matched": false_cameos,
                                  "per_pair_rate": round(false_cameos / max(1, args.clips * n), 6)},
        "seconds": round(time.perf_counter() - start, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
