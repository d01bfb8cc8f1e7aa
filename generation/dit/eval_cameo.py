"""Cameo evaluation: does an uploaded picture become the moving subject, faithfully and stably?

    python -m generation.dit.eval_cameo [--weights DIR] [--device cpu|cuda] [--steps 20] [--per-kind 2]
                                        [--out REPORT.json] [--ground-truth | --vae-roundtrip [--no-adapter]] [--no-photos]
                                        [--sheet PNG]   (the cameo clips drawn: the picture, then 7 frames)

Pictures the model never saw: procedural pictures from held-out seeds of every family, the
held-out `spiral` family included (world_sprites.py), plus real photographs found on disk
(matplotlib's sample data) when `--no-photos` is not given. Specs: held-out Flatland specs for every
single motion, every pair relation and both wall directions; each is asked twice with the same
seed: with the subject as `@handle` and the picture (the cameo prompt), and as its plain shape
(the plain prompt, scored by scoring.py as in eval.py).

Fidelity, per frame where the spec says the subject is fully in view (not touching the wall or the
frame's edge): the subject is found as the pixels far from the background colour (the wall's
columns and the second object's colour blob removed), its bounding box is cropped, and the crop
and the reference are resized (antialiased) to the cameo's nominal side in pixels; SSIM (Gaussian
7x7 window, sigma 1.5: the 11x11 window of Wang et al. does not fit a 14-px crop) and PSNR compare
them. A frame where no subject is found scores SSIM 0. Identity stability: mean SSIM between the
crops of consecutive in-view frames. Attributes of cameo clips (background, direction, bounce,
size, relation) come from the same subject track with detector.py's rules.

--ground-truth scores the world's own renders (the metrics' ceiling: what a perfect model gets);
--vae-roundtrip scores those renders after the autoencoder (the ceiling the VAE allows); a VAE with
a reference adapter (vae_reference.py) decodes cameo clips with their picture unless --no-adapter.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from . import captions, scoring, world, world_sprites
from .contact_sheet import pick_frames, sheet
from .eval import write_report
from .detector import MIN_PIXELS, NAMES, _components, _motion, _neighbours, detect_wall, nearest_colour
from .image_metrics import psnr, resize, resize_to, ssim

HANDLES = ["@me", "@ana", "@sam", "@kai"]
ATTRIBUTES = ["background", "direction", "bounce", "size", "relation"]
FG_DISTANCE = 40.0  # RGB distance from the background colour beyond which a pixel is foreground
SIZE_SPLIT = world.CAMEO_HALF["small"] + world.CAMEO_HALF["big"]  # box extent (px at 64) between small and big


# ---------------------------------------------------------------------------------------------
# Finding the subject


def _background(frames: np.ndarray, outside: np.ndarray) -> str:
    labels = nearest_colour(frames[:, :, outside].astype(np.float32))
    return NAMES[int(np.bincount(labels.ravel(), minlength=len(NAMES)).argmax())]


def subject_track(frames: np.ndarray, spec: world.ClipSpec) -> dict:
    """The subject in every frame of a clip: mask, bounding box, centroid, and the second object's centroid.

    Foreground = far from the known background colour, outside the wall's columns (found in the
    frames, widened by 2 px for blurred edges); a pair's second object (the largest blob near its
    palette colour) is removed; the subject is the largest foreground blob after a 2-px closing
    (a picture may hold background-coloured patches that split it)."""
    t_n, h, w, _ = frames.shape
    f = frames.astype(np.float32)
    wall = detect_wall(frames)
    outside = np.ones(w, bool)
    if wall is not None:
        outside[max(0, wall[0] - 2):wall[1] + 3] = False
    bg = np.array(world.PALETTE[spec.background], np.float32)
    fg = (np.sqrt(((f - bg) ** 2).sum(-1)) > FG_DISTANCE) & outside[None, None, :]
    fg &= _neighbours(fg) >= 2
    other = np.zeros_like(fg)
    if spec.kind == "pair":
        near = (np.sqrt(((f - np.array(world.PALETTE[spec.objects[1].colour], np.float32)) ** 2).sum(-1)) < FG_DISTANCE) & fg
        lab = _components(near)
        for t in range(t_n):
            ids, cnt = np.unique(lab[t][near[t]], return_counts=True)
            if len(ids):
                other[t] = lab[t] == ids[cnt.argmax()]
        fg &= ~(other | (_neighbours(other) > 0))
    closed = fg.copy()
    for _ in range(2):
        closed |= _neighbours(closed) > 0
    lab = _components(closed)
    mask = np.zeros_like(fg)
    boxes, cents = np.full((t_n, 4), np.nan), np.full((t_n, 2), np.nan)
    for t in range(t_n):
        ids, cnt = np.unique(lab[t][fg[t]], return_counts=True)
        if not len(ids) or cnt.max() < MIN_PIXELS:
            continue
        mask[t] = fg[t] & (lab[t] == ids[cnt.argmax()])
        ys, xs = np.nonzero(mask[t])
        boxes[t] = (xs.min(), ys.min(), xs.max(), ys.max())
        cents[t] = (xs.mean() + 0.5, ys.mean() + 0.5)
    other_c = np.full((t_n, 2), np.nan)
    for t in range(t_n):
        if other[t].sum() >= MIN_PIXELS:
            ys, xs = np.nonzero(other[t])
            other_c[t] = (xs.mean() + 0.5, ys.mean() + 0.5)
    return {"mask": mask, "boxes": boxes, "centroids": cents, "other": other_c,
            "background": _background(frames, outside), "wall": wall}


WALL_MARGIN = 3.0  # px at 64: subject_track drops the wall's columns widened by 2 px (blurred edges)
MIN_VISIBLE = 0.6  # wall clips: frames showing at least this share of the subject's width count


def visible_share(spec: world.ClipSpec) -> np.ndarray:
    """(T,) share of the subject square's width in view: 0 where it touches the frame's edge, and in
    wall clips the part on the near side of the wall (negative: the part shown is the right one)."""
    a = spec.subject
    r, (cx, cy) = a.half_size, a.track.T
    inside = (cx - r >= 1) & (cx + r <= world.RESOLUTION - 1) & (cy - r >= 1) & (cy + r <= world.RESOLUTION - 1)
    share = inside.astype(np.float64)
    if spec.wall_x is not None:
        lo, hi = spec.wall_x - world.WALL_HALF_WIDTH - WALL_MARGIN, spec.wall_x + world.WALL_HALF_WIDTH + WALL_MARGIN
        left = np.clip((lo - (cx - r)) / (2 * r), 0, 1)  # share left of the wall band
        right = np.clip(((cx + r) - hi) / (2 * r), 0, 1)
        share = np.where(left >= right, left, -right) * inside
    return share


def in_view(spec: world.ClipSpec) -> np.ndarray:
    """(T,) frames whose subject is in view enough to compare with the picture."""
    return np.abs(visible_share(spec)) >= (MIN_VISIBLE if spec.wall_x is not None else 1.0)


def square_crop(frame: np.ndarray, box: np.ndarray, grow: int = 0, dx: int = 0, dy: int = 0) -> np.ndarray:
    """The square around a bounding box (side = its longer edge + grow, same centre moved by dx, dy,
    kept inside the frame): a picture whose border matches the background colour shrinks its box
    along one axis only."""
    x0, y0, x1, y1 = box
    side = max(4, int(max(x1 - x0, y1 - y0)) + 1 + grow)
    h, w = frame.shape[:2]
    left = int(np.clip(round((x0 + x1 + 1 - side) / 2) + dx, 0, max(0, w - side)))
    top = int(np.clip(round((y0 + y1 + 1 - side) / 2) + dy, 0, max(0, h - side)))
    return frame[top:top + side, left:left + side]


# Registration before comparing: blurred edges (blended with the background) grow the detected box
# by about a pixel a side, and a one-pixel shift of a 14-px crop costs more SSIM than any loss of
# detail. So the crop is searched over +-1 px of centre and -2..+1 px of side, keeping the best
# SSIM; position and size are scored separately (cameo_scores), so this hides no placement error.
ALIGN = [(g, dx, dy) for g in (-2, -1, 0, 1) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


def aligned_crop(frame: np.ndarray, box: np.ndarray, ref: np.ndarray) -> np.ndarray:
    side = ref.shape[0]
    crops = [resize(square_crop(frame, box, g, dx, dy), side) for g, dx, dy in ALIGN]
    return max(crops, key=lambda c: ssim(c, ref))


def fidelity(frames: np.ndarray, spec: world.ClipSpec, picture: np.ndarray, track: dict | None = None) -> dict:
    """SSIM and PSNR of the subject crop against the picture per in-view frame, identity stability."""
    track = track or subject_track(frames, spec)
    scale = frames.shape[2] / world.RESOLUTION
    side = max(8, int(round(2 * spec.subject.half_size * scale)))
    ref = resize(picture, side)
    share = visible_share(spec)
    crops, ssims, psnrs = {}, [], []
    for t in np.nonzero(in_view(spec))[0]:
        box = track["boxes"][t]
        if np.isnan(box).any():
            ssims.append(0.0)
            continue
        if abs(share[t]) >= 1.0:
            crop, want = aligned_crop(frames[t], box, ref), ref
        else:  # beside the wall: the visible columns, against the same columns of the picture
            x0, y0, x1, y1 = box.astype(int)
            cols = max(7, int(round(abs(share[t]) * side)))
            crop = resize_to(frames[t, y0:y1 + 1, x0:x1 + 1], side, cols)
            want = ref[:, :cols] if share[t] > 0 else ref[:, side - cols:]
        crops[t] = crop
        ssims.append(ssim(crop, want))
        psnrs.append(psnr(crop, want))
    stable = [ssim(crops[t], crops[t + 1]) for t in sorted(crops) if t + 1 in crops and crops[t].shape == crops[t + 1].shape]
    return {"ssim": float(np.mean(ssims)) if ssims else None, "psnr": float(np.mean(psnrs)) if psnrs else None,
            "stability": float(np.mean(stable)) if stable else None, "frames": len(ssims), "found": len(crops)}


def cameo_scores(frames: np.ndarray, spec: world.ClipSpec, track: dict | None = None) -> dict:
    """Attributes of a cameo clip from the subject track, with detector.py's motion and scoring.py's relation rules."""
    track = track or subject_track(frames, spec)
    t_n, h, w, _ = frames.shape
    scale = w / world.RESOLUTION
    boxes, cents = track["boxes"], track["centroids"]
    vis = ~np.isnan(boxes[:, 0])
    motion, bounce = _motion(cents, boxes, vis, h, scale)
    view = (visible_share(spec) != 0) & vis  # a wall cuts the width only: the longer edge is the size
    extent = np.nanmedian(np.maximum(boxes[view, 2] - boxes[view, 0], boxes[view, 3] - boxes[view, 1]) + 1) \
        if view.any() else np.nan
    size = None if np.isnan(extent) else ("small" if extent < SIZE_SPLIT * scale else "big")
    s = spec.subject
    relation = None
    if spec.kind == "pair":
        a = SimpleNamespace(visible=vis, centroids=cents)
        b = SimpleNamespace(visible=~np.isnan(track["other"][:, 0]), centroids=track["other"])
        relation = scoring.relation_of(a, b)
    r = {
        "background": track["background"] == spec.background,
        "direction": None if spec.kind == "pair" else motion == s.motion,
        "bounce": bool(bounce) if s.motion == "falling" and spec.kind == "single" else None,
        "size": size == s.size,
        "relation": relation == spec.relation if spec.kind == "pair" else None,
    }
    r["all_correct"] = all(v for v in r.values() if v is not None)
    return r


# ---------------------------------------------------------------------------------------------
# The evaluation set


def photos() -> list[tuple[str, np.ndarray]]:
    """Real photographs on disk (matplotlib's sample data), as uint8 RGB; none if unavailable."""
    try:
        import matplotlib
        from PIL import Image
    except ImportError:
        return []
    folder = Path(matplotlib.get_data_path()) / "sample_data"
    out = []
    for name in ("grace_hopper.jpg",):
        if (folder / name).exists():
            out.append((f"photo:{name}", np.asarray(Image.open(folder / name).convert("RGB"))))
    return out


def pictures(n: int, with_photos: bool = True) -> list[tuple[str, np.ndarray]]:
    return world_sprites.heldout_sprites(n) + (photos() if with_photos else [])


def item_set(seed: int = 0, per_kind: int = 2, with_photos: bool = True) -> list[dict]:
    """per_kind held-out specs per single motion, pair relation and wall direction, each with a
    held-out picture (cycling over families and photos) and its cameo and plain versions."""
    from .reference import picture_to_reference

    rng = random.Random(seed)
    wanted = [("single", m) for m in world.MOTIONS] + [("pair", r) for r in world.RELATIONS] + \
             [("wall", d) for d in ("left", "right")]
    pics = pictures(len(wanted) * per_kind, with_photos)
    items = []
    for kind, variant in wanted:
        for _ in range(per_kind):
            while True:
                plain = world.sample_spec(rng, split="heldout", kind=kind)
                if (plain.relation if kind == "pair" else plain.subject.motion) == variant:
                    break
            i = len(items)
            family, picture = pics[(i * 7) % len(pics)] if len(pics) > len(wanted) * per_kind else pics[i % len(pics)]
            # the model sees the picture at 32x32: that is what the subject is compared with
            ref32 = ((picture_to_reference(picture)[0].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
            cameo = world.cameo_version(plain, rng, ref32)
            handle = HANDLES[i % len(HANDLES)]
            items.append({"index": i, "kind": kind, "variant": variant, "family": family, "picture": picture,
                          "reference": ref32, "cameo": cameo, "plain": plain, "seed": seed * 1000 + i,
                          "prompts": {"cameo": captions.canonical_caption(cameo).replace(world.CAMEO, handle),
                                      "plain": captions.canonical_caption(plain)}})
    return items


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


def summarize(rows: list[dict]) -> dict:
    cam = [r for r in rows if r["prompt_kind"] == "cameo"]
    plain = [r for r in rows if r["prompt_kind"] == "plain"]
    cols = ATTRIBUTES + ["all_correct"]
    acc = {"cameo": {c: _mean([r["scores"][c] for r in cam]) for c in cols},
           "plain": {c: _mean([r["scores"].get(c) for r in plain]) for c in cols}}
    gap = {c: None if acc["cameo"][c] is None or acc["plain"][c] is None else round(acc["cameo"][c] - acc["plain"][c], 4)
           for c in cols}
    families = sorted({r["family"] for r in cam})
    return {
        "fidelity": {k: _mean([r["fidelity"][k] for r in cam]) for k in ("ssim", "psnr", "stability")},
        "fidelity_by_family": {f: {k: _mean([r["fidelity"][k] for r in cam if r["family"] == f])
                                   for k in ("ssim", "psnr", "stability")} for f in families},
        "fidelity_by_kind": {k: _mean([r["fidelity"]["ssim"] for r in cam if r["kind"] == k]) for k in world.KINDS},
        "accuracy": acc, "cameo_minus_plain": gap,
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m generation.dit.eval_cameo", description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None, help="weights folder (default: generation/dit/weights)")
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--per-kind", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="JSON report path")
    ap.add_argument("--no-photos", action="store_true", help="procedural held-out pictures only")
    ap.add_argument("--no-adapter", action="store_true",
                    help="--vae-roundtrip: decode without the cameo picture even if the VAE has a reference adapter")
    ap.add_argument("--sheet", default=None, metavar="PNG",
                    help="also draw the cameo clips: per row the picture as the model sees it, then 7 frames")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--ground-truth", action="store_true", help="score the world's renders (metrics' ceiling)")
    mode.add_argument("--vae-roundtrip", action="store_true", help="score the renders after the autoencoder")
    args = ap.parse_args(argv)

    items = item_set(args.seed, args.per_kind, not args.no_photos)
    pipe = None
    if not args.ground_truth:
        from .pipeline import WEIGHTS_DIR, Pipeline

        pipe = Pipeline.load(args.weights or WEIGHTS_DIR, args.device)
    rows, sheet_rows, started = [], [], time.perf_counter()
    for item in items:
        for prompt_kind in ("cameo", "plain"):
            spec, prompt = item[prompt_kind], item["prompts"][prompt_kind]
            t0 = time.perf_counter()
            if args.ground_truth or args.vae_roundtrip:
                frames = world.render_numpy(spec)
                if args.vae_roundtrip:  # a decoder with a reference adapter is given the cameo's picture
                    frames = pipe.roundtrip(frames, item["picture"] if prompt_kind == "cameo" and not args.no_adapter else None)
            else:
                frames = pipe.generate(prompt, seed=item["seed"], steps=args.steps, guidance=args.guidance,
                                       cameo_image=item["picture"] if prompt_kind == "cameo" else None).frames
            row = {"index": item["index"], "kind": item["kind"], "variant": item["variant"], "family": item["family"],
                   "prompt_kind": prompt_kind, "prompt": prompt, "seed": item["seed"]}
            if prompt_kind == "cameo":
                track = subject_track(frames, spec)
                row["fidelity"] = fidelity(frames, spec, item["reference"], track)
                row["scores"] = cameo_scores(frames, spec, track)
                if args.sheet:
                    sheet_rows.append(sheet_row(item, frames, row["fidelity"]))
            else:
                scores = scoring.score(spec, frames)
                scores.pop("detected")
                row["scores"] = scores
            row["seconds"] = round(time.perf_counter() - t0, 3)
            rows.append(row)
            fid = row.get("fidelity")
            print(f"[{len(rows):3d}/{2 * len(items)}] {prompt_kind:5s} {item['family']:<22s} "
                  f"{'ok ' if row['scores']['all_correct'] else 'BAD'} {prompt!r}"
                  + (f"  fidelity {json.dumps({k: fid[k] and round(fid[k], 3) for k in ('ssim', 'psnr', 'stability')})}"
                     if fid else ""), flush=True)
    summary = summarize(rows)
    report = {
        "settings": {"weights": None if pipe is None else str(args.weights or "generation/dit/weights"),
                     "model_version": None if pipe is None else pipe.model_version,
                     "device": None if pipe is None else str(pipe.device), "steps": args.steps,
                     "guidance": args.guidance, "per_kind": args.per_kind, "seed": args.seed,
                     "mode": "ground_truth" if args.ground_truth else "vae_roundtrip" if args.vae_roundtrip else "model",
                     "decoder_reference": bool(pipe is not None and pipe.vae.has_reference and not args.no_adapter),
                     "items": len(items), "seconds": round(time.perf_counter() - started, 1),
                     "pictures": sorted({i["family"] for i in items})},
        **summary,
        "rows": rows,
    }
    print(json.dumps({k: summary[k] for k in ("fidelity", "accuracy", "cameo_minus_plain")}, indent=1))
    write_report(report, args.out)
    if args.sheet:
        Path(args.sheet).parent.mkdir(parents=True, exist_ok=True)
        sheet(sheet_rows, scale=2).save(args.sheet)
        print(f"sheet: {args.sheet}")
    return report


def sheet_row(item: dict, frames: np.ndarray, fid: dict) -> tuple[str, np.ndarray]:
    """A contact-sheet row: the 32-px picture the model is given, blown up to a frame, then 7 frames."""
    h, w = frames.shape[1:3]
    ref = item["reference"]
    tile = np.full((h, w, 3), 255, np.uint8)
    k = min(h // ref.shape[0], w // ref.shape[1])
    big = ref.repeat(k, 0).repeat(k, 1)
    tile[:big.shape[0], :big.shape[1]] = big
    picked = pick_frames(frames, 7)
    ssim_text = "no frame in view" if fid["ssim"] is None else f"subject SSIM {fid['ssim']:.2f}"
    label = f"{item['family']}, {item['kind']}: {ssim_text}\n{item['prompts']['cameo']}"
    return label, np.concatenate([tile[None], picked])


if __name__ == "__main__":
    main()
