"""Command line generation.

    python -m generation.dit.generate --prompt TEXT [--seed N] [--steps N] [--guidance G] [--weights DIR] --out PATH
        PATH ending in .mp4: H.264 video; .npy: uint8 array (T, H, W, 3)
    python -m generation.dit.generate --prompts FILE --out FOLDER [--format npy|mp4]
        one prompt a line (blank lines skipped); writes FOLDER/0000.npy, 0001.npy, ... in line order,
        loading the model once
    python -m generation.dit.generate --mode remix --parent PARENT.npy|.mp4 [--strength S] --prompt TEXT --out PATH
        video to video: the parent's frames noised to t = S (0 keeps the parent, 1 a new clip; 0.95
        by default) and denoised with the prompt
    python -m generation.dit.generate --mode extend --parent PARENT.npy|.mp4 [--new-frames N] --prompt TEXT --out PATH
        the parent followed by N (8 by default) new frames that continue it
    python -m generation.dit.generate --prompt "@me moving right on a green background" --cameo PIC.png --out PATH
        a cameo: the picture (any size; centre-cropped to a square) becomes the @handle of the prompt;
        works in every mode, with models trained with reference conditioning

Prints how each prompt was understood (its Flatland reading) and the time per clip.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from .video_io import write_mp4


def save_clip(frames: np.ndarray, path: Path, fps: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, np.ascontiguousarray(frames, dtype=np.uint8))
    elif path.suffix == ".mp4":
        write_mp4(frames, path, fps)
    else:
        raise SystemExit(f"--out must end in .mp4 or .npy, not {path.suffix or 'nothing'}")


def read_picture(ap: argparse.ArgumentParser, path: str) -> np.ndarray:
    """A picture file as RGB uint8 (H, W, 3); Pillow is needed here only."""
    from PIL import Image, UnidentifiedImageError

    if not Path(path).is_file():
        ap.error(f"--cameo {path}: no such file")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        ap.error(f"--cameo {path}: not a picture ({exc})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m generation.dit.generate", description="Text to video (Flatland DiT).")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompt", help="the prompt")
    src.add_argument("--prompts", help="a file with one prompt a line; --out is then a folder")
    ap.add_argument("--out", required=True, help=".mp4 or .npy file (a folder with --prompts)")
    ap.add_argument("--format", choices=["npy", "mp4"], default="npy", help="file type with --prompts")
    ap.add_argument("--seed", type=int, default=0, help="with --prompts, line i uses seed + i")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--weights", default=None, help="weights folder (default: generation/dit/weights)")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--cameo", default=None, help="picture (PNG, JPEG, ...) an @handle in the prompt refers to")
    ap.add_argument("--mode", choices=["generate", "remix", "extend"], default="generate")
    ap.add_argument("--parent", default=None, help="the clip to remix or extend (.npy or .mp4)")
    ap.add_argument("--strength", type=float, default=None, help="remix: noise level 0..1 (default 0.95)")
    ap.add_argument("--new-frames", type=int, default=8, help="extend: how many frames to add (even)")
    args = ap.parse_args(argv)

    cameo = None
    if args.cameo is not None:
        cameo = read_picture(ap, args.cameo)
    parent = None
    if args.mode != "generate":
        if args.parent is None:
            ap.error(f"--mode {args.mode} needs --parent")
        if args.prompt is None:
            ap.error(f"--mode {args.mode} takes one --prompt")
        if not Path(args.parent).is_file():
            ap.error(f"--parent {args.parent}: no such file")
        from .video_io import read_video

        parent = read_video(args.parent)
    elif args.parent is not None:
        ap.error("--parent needs --mode remix or --mode extend")
    if args.strength is not None and args.mode != "remix":
        ap.error("--strength applies to --mode remix")
    if args.strength is not None and not 0 <= args.strength <= 1:
        ap.error("--strength must be between 0 and 1")
    if args.prompt is not None:
        prompts, outs = [args.prompt], [Path(args.out)]
        if outs[0].suffix not in (".mp4", ".npy"):
            ap.error("--out must end in .mp4 or .npy")
    else:
        lines = Path(args.prompts).read_text().splitlines()
        prompts = [line.strip() for line in lines if line.strip()]
        if not prompts:
            ap.error(f"no prompts in {args.prompts}")
        folder = Path(args.out)
        if folder.suffix in (".mp4", ".npy"):
            ap.error("with --prompts, --out is a folder")
        outs = [folder / f"{i:04d}.{args.format}" for i in range(len(prompts))]

    from .pipeline import REMIX_STRENGTH, WEIGHTS_DIR, Pipeline

    t0 = time.perf_counter()
    pipe = Pipeline.load(args.weights or WEIGHTS_DIR, args.device)
    print(f"loaded {pipe.model_version} on {pipe.device} in {time.perf_counter() - t0:.1f}s", flush=True)
    if cameo is not None and not pipe.supports_cameo:
        ap.error(f"--cameo: the model {pipe.model_version} has no cameo (reference picture) conditioning")
    longest = pipe.clip_shape[0] - 2
    if args.mode == "extend" and (args.new_frames % 2 or not 2 <= args.new_frames <= longest):
        ap.error(f"--new-frames must be an even number from 2 to {longest}")
    for i, (prompt, out) in enumerate(zip(prompts, outs)):
        seed = args.seed + (i if args.prompts else 0)
        start, last = time.perf_counter(), None
        if args.mode == "remix":
            strength = REMIX_STRENGTH if args.strength is None else args.strength
            events = pipe.iter_remix(prompt, parent, strength=strength,
                                     seed=seed, steps=args.steps, guidance=args.guidance, cameo_image=cameo)
        elif args.mode == "extend":
            events = pipe.iter_extend(prompt, parent, new_frames=args.new_frames, seed=seed, steps=args.steps,
                                      guidance=args.guidance, cameo_image=cameo)
        else:
            events = pipe.iter_generate(prompt, seed=seed, steps=args.steps, guidance=args.guidance, cameo_image=cameo)
        try:
            for event in events:
                last = event
        except ValueError as exc:  # the prompt and --cameo do not fit together (names, model support)
            ap.error(str(exc))
        save_clip(last.frames, out, pipe.fps)
        print(f"[{i + 1}/{len(prompts)}] {prompt!r}\n    understood as: {last.prompt_reading!r}\n"
              f"    {args.mode}, seed {seed}, {last.steps} steps, {len(last.frames)} frames, {time.perf_counter() - start:.2f}s -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
