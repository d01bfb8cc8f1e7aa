"""Measure the cameo likeness check (platform/cameos/likeness.py) and choose its threshold.

    python -m benchmarks.cameos.likeness [--per-kind 60] [--out benchmarks/cameos/likeness.json]

Pictures: `per-kind` of each kind in benchmarks/cameos/pictures.py (shapes, gradients, textures,
drawn faces, crops of the real photos that ship in matplotlib and scikit-learn), 256x256.
Genuine pairs: a registered picture vs each of 9 edits of it (resized to 50%, 30% and 150%, JPEG
at quality 30 and 70, WebP at 50, 5% cropped off every side, 3-8% off two sides, and 8% crop +
60% resize + JPEG 50). Impostor pairs: every pair of different pictures, and each picture vs two
near-lookalikes (same colours: background, skin, hair, palette, the same photo; other layout).

Even seeds calibrate (the threshold is the lowest score that 99.5% of their genuine pairs reach),
odd seeds are held out and give the rates reported. In the upload check's terms:
- false match rate (FMR): impostor pairs at or above the threshold = an honest upload refused;
- false non-match rate (FNMR): genuine pairs below it = a copy of someone's picture let through.
(Biometric convention: FMR is the false accept rate, FNMR the false reject rate of the matcher.)
imagehash's pHash and dHash (64 bits, Hamming distance) on the same pairs are the baseline.
"""
from __future__ import annotations

import argparse
import json
import platform as stdlib_platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

from benchmarks.cameos.pictures import KINDS, photo_files, picture, variants  # noqa: E402
from cameos import likeness  # noqa: E402

TARGET_GENUINE_KEPT = 0.995


def _fingerprints(images):
    out = [likeness.fingerprint(img) for img in images]
    return np.stack([f for f, _ in out]), np.array([flat for _, flat in out], dtype=bool)


def _hash_bits(images, fn):
    return np.array([int(str(fn(img)), 16) for img in images], dtype=np.uint64)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x = np.bitwise_xor(a, b)
    return np.unpackbits(x.view(np.uint8).reshape(*x.shape, 8), axis=-1).sum(axis=-1)


def build(per_kind: int, parity: int):
    """Pictures with seeds of one parity, their edits and their lookalikes."""
    rng = random.Random(parity)
    originals, kinds, edits, edit_of, edit_names, looks, look_of = [], [], [], [], [], [], []
    for kind in KINDS:
        for seed in range(parity, 2 * per_kind, 2):
            img = picture(kind, seed)
            index = len(originals)
            originals.append(img)
            kinds.append(kind)
            for name, edited in variants(img, rng).items():
                edits.append(edited), edit_of.append(index), edit_names.append(name)
            for k in (1, 2):
                looks.append(picture(kind, seed, lookalike=k)), look_of.append(index)
    return originals, kinds, edits, np.array(edit_of), edit_names, looks, np.array(look_of)


def score_split(per_kind: int, parity: int) -> dict:
    originals, kinds, edits, edit_of, edit_names, looks, look_of = build(per_kind, parity)
    stored, stored_flat = _fingerprints(originals)
    genuine = []
    for edit, owner in zip(edits, edit_of):
        fp, flat = likeness.fingerprint(edit)
        genuine.append(float(likeness.match_scores(fp, flat, stored[owner:owner + 1], stored_flat[owner:owner + 1])[0]))
    impostor, impostor_kind = [], []
    for i, img in enumerate(originals):
        scores = likeness.match_scores(stored[i], stored_flat[i], stored, stored_flat)
        for j in range(len(originals)):
            if j > i:
                impostor.append(float(scores[j]))
                impostor_kind.append(kinds[i] if kinds[i] == kinds[j] else "cross-kind")
    lookalike = []
    for img, owner in zip(looks, look_of):
        fp, flat = likeness.fingerprint(img)
        lookalike.append(float(likeness.match_scores(fp, flat, stored[owner:owner + 1], stored_flat[owner:owner + 1])[0]))

    import imagehash

    baseline = {}
    for name, fn in (("phash", imagehash.phash), ("dhash", imagehash.dhash)):
        h_orig, h_edit, h_look = _hash_bits(originals, fn), _hash_bits(edits, fn), _hash_bits(looks, fn)
        pairs = np.triu_indices(len(originals), k=1)
        baseline[name] = {
            "genuine": _hamming(h_edit, h_orig[edit_of]),
            "impostor": _hamming(h_orig[pairs[0]], h_orig[pairs[1]]),
            "lookalike": _hamming(h_look, h_orig[look_of]),
        }
    return {"kinds": kinds, "genuine": np.array(genuine), "genuine_kind": [kinds[i] for i in edit_of],
            "edit_names": edit_names, "impostor": np.array(impostor), "impostor_kind": impostor_kind,
            "lookalike": np.array(lookalike), "lookalike_kind": [kinds[i] for i in look_of],
            "baseline": baseline, "pictures": len(originals)}


def rates(split: dict, threshold: float) -> dict:
    g, imp, look = split["genuine"], split["impostor"], split["lookalike"]
    out = {
        "genuine_pairs": len(g), "impostor_pairs": len(imp), "lookalike_pairs": len(look),
        "false_non_match_rate": round(float((g < threshold).mean()), 5),
        "false_match_rate": round(float((imp >= threshold).mean()), 6),
        "false_match_rate_lookalikes": round(float((look >= threshold).mean()), 5),
        "false_non_matches": int((g < threshold).sum()),
        "false_matches": int((imp >= threshold).sum()),
        "lookalike_false_matches": int((look >= threshold).sum()),
    }
    by_kind = {}
    for kind in list(KINDS):
        gk = g[[k == kind for k in split["genuine_kind"]]]
        ik = imp[[k == kind for k in split["impostor_kind"]]]
        lk = look[[k == kind for k in split["lookalike_kind"]]]
        by_kind[kind] = {"fnmr": round(float((gk < threshold).mean()), 4),
                         "fmr_same_kind": round(float((ik >= threshold).mean()), 5) if len(ik) else None,
                         "fmr_lookalikes": round(float((lk >= threshold).mean()), 4)}
    out["by_kind"] = by_kind
    names = split["edit_names"]
    out["fnmr_by_edit"] = {n: round(float((g[[e == n for e in names]] < threshold).mean()), 4) for n in dict.fromkeys(names)}
    # an honest upload is compared with every registered cameo: P(refused) with N registered
    fmr = max(out["false_match_rate"], 1e-9)
    out["honest_upload_refused_if_registered"] = {str(n): round(1 - (1 - fmr) ** n, 4) for n in (100, 1000, 10000)}
    return out


def baseline_rates(split: dict, max_distance: int) -> dict:
    out = {}
    for name, d in split["baseline"].items():
        out[name] = {"max_hamming_distance": max_distance,
                     "false_non_match_rate": round(float((d["genuine"] > max_distance).mean()), 5),
                     "false_match_rate": round(float((d["impostor"] <= max_distance).mean()), 6),
                     "false_match_rate_lookalikes": round(float((d["lookalike"] <= max_distance).mean()), 5)}
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-kind", type=int, default=60, help="pictures of each kind (half calibrate, half held out)")
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args(argv)
    start = time.perf_counter()
    calibration, held_out = score_split(args.per_kind, 0), score_split(args.per_kind, 1)
    chosen = float(np.quantile(calibration["genuine"], 1 - TARGET_GENUINE_KEPT))
    result = {
        "command": "python -m benchmarks.cameos.likeness " + " ".join(argv if argv is not None else sys.argv[1:]),
        "pictures": {"per_split": held_out["pictures"], "kinds": list(KINDS),
                     "real_photos": [p.name for p in photo_files()], "size": "256x256"},
        "threshold": {"calibrated": round(chosen, 4), "shipped": likeness.MATCH_THRESHOLD,
                      "rule": f"lowest score of {TARGET_GENUINE_KEPT:.1%} of the calibration split's genuine pairs"},
        "held_out_at_shipped_threshold": rates(held_out, likeness.MATCH_THRESHOLD),
        "calibration_at_shipped_threshold": rates(calibration, likeness.MATCH_THRESHOLD),
        "held_out_sweep": {str(t): {k: v for k, v in rates(held_out, t).items()
                                    if k in ("false_non_match_rate", "false_match_rate", "false_match_rate_lookalikes")}
                           for t in (0.75, 0.8, 0.85, 0.9, 0.95)},
        "baseline_imagehash_held_out": {str(d): baseline_rates(held_out, d) for d in (6, 10, 14)},
        "seconds": round(time.perf_counter() - start, 1),
        "machine": f"{stdlib_platform.machine()} {stdlib_platform.python_version()}, CPU",
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    shown = result["held_out_at_shipped_threshold"]
    print(f"threshold {likeness.MATCH_THRESHOLD} (calibrated {chosen:.3f}); held out: "
          f"FNMR {shown['false_non_match_rate']:.2%} ({shown['false_non_matches']}/{shown['genuine_pairs']}), "
          f"FMR {shown['false_match_rate']:.3%} ({shown['false_matches']}/{shown['impostor_pairs']}), "
          f"lookalikes {shown['false_match_rate_lookalikes']:.1%}; {result['seconds']} s -> {args.out}")
    return result


if __name__ == "__main__":
    main()
