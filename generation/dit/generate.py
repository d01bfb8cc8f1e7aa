"""Command line generation.

    python -m generation.dit.generate --prompt TEXT [--seed N] [--steps N] [--guidance G] [--weights DIR] --out PATH
        PATH ending in .mp4: H.264 video; .npy: uint8 array (T, H, W, 3)
    python -m generation.dit.generate --prompts FILE --out FOLDER [--format npy|mp4]
        one prompt a line (blank lines skipped); writes FOLDER/0000.npy, 0001.npy, ... in line order,
        loading the model once

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
    ap.add_argument("--cameo", default=None, help="image an @handle in the prompt refers to")
    args = ap.parse_args(argv)

    if args.cameo is not None:
        ap.error("cameo conditioning is not in this model yet")
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

    from .pipeline import WEIGHTS_DIR, Pipeline

    t0 = time.perf_counter()
    pipe = Pipeline.load(args.weights or WEIGHTS_DIR, args.device)
    print(f"loaded {pipe.model_version} on {pipe.device} in {time.perf_counter() - t0:.1f}s", flush=True)
    for i, (prompt, out) in enumerate(zip(prompts, outs)):
        seed = args.seed + (i if args.prompts else 0)
        start, last = time.perf_counter(), None
        for event in pipe.iter_generate(prompt, seed=seed, steps=args.steps, guidance=args.guidance):
            last = event
        save_clip(last.frames, out, pipe.fps)
        print(f"[{i + 1}/{len(prompts)}] {prompt!r}\n    understood as: {last.prompt_reading!r}\n"
              f"    seed {seed}, {last.steps} steps, {time.perf_counter() - start:.2f}s -> {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
