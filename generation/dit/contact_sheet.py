"""A PNG contact sheet of generated clips: one row per prompt, 8 frames, the prompt as a label.

    python -m generation.dit.contact_sheet --out sheet.png [--prompts P1 P2 ... | --prompts-file F]
        [--weights DIR] [--device cpu|cuda] [--steps N] [--guidance G] [--seed S] [--scale 2]
        [--ground-truth]   (rows of the world's own renders for the default prompts' specs)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

DEFAULT_PROMPTS = [
    "a small red circle moving left on a blue background",
    "a big yellow square moving right on a purple background",
    "a small green triangle moving up on a black background",
    "a big white circle moving down on a green background",
    "a big orange triangle still on a blue background",
    "a small blue circle falling on a yellow background",
    "a red square to the left of a blue circle on a white background",
    "a yellow triangle above a purple square on a black background",
    "a big green circle moving right behind a gray wall on a white background",
    "a small orange square moving left behind a gray wall on a purple background",
    "a tiny crimson ball sliding to the left over a navy backdrop",
    "a huge emerald box sinking against a golden backdrop",
]
FRAMES_PER_ROW = 8


def pick_frames(frames: np.ndarray, n: int = FRAMES_PER_ROW) -> np.ndarray:
    idx = np.linspace(0, len(frames) - 1, n).round().astype(int)
    return frames[idx]


def sheet(rows: list[tuple[str, np.ndarray]], scale: int = 2, label_width: int = 300):
    """rows: (label, uint8 (T, H, W, 3)) -> a PIL image."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = rows[0][1].shape[1:3]
    fh, fw, gap = h * scale, w * scale, 4
    img = Image.new("RGB", (label_width + FRAMES_PER_ROW * (fw + gap) + gap, len(rows) * (fh + gap) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default()
    for r, (label, frames) in enumerate(rows):
        y = gap + r * (fh + gap)
        lines = []
        for paragraph in label.split("\n"):  # wrap the label to the label column
            line = ""
            for word in paragraph.split():
                trial = f"{line} {word}".strip()
                if draw.textlength(trial, font=font) > label_width - 12 and line:
                    lines.append(line)
                    line = word
                else:
                    line = trial
            lines.append(line)
        draw.multiline_text((6, y + 4), "\n".join(lines), fill=(0, 0, 0), font=font, spacing=2)
        for k, frame in enumerate(pick_frames(frames)):
            tile = Image.fromarray(np.ascontiguousarray(frame)).resize((fw, fh), Image.NEAREST)
            img.paste(tile, (label_width + gap + k * (fw + gap), y))
    return img


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(prog="python -m generation.dit.contact_sheet", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--prompts", nargs="*", default=None)
    ap.add_argument("--prompts-file", default=None)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--ground-truth", action="store_true", help="draw Flatland renders of held-out specs instead")
    args = ap.parse_args(argv)

    rows = []
    if args.ground_truth:
        from . import captions, eval as evaluation, world

        for item in evaluation.prompt_set(args.seed, 1):
            rows.append((captions.canonical_caption(item["spec"]), world.render_numpy(item["spec"])))
    else:
        prompts = args.prompts or DEFAULT_PROMPTS
        if args.prompts_file:
            prompts = [p.strip() for p in Path(args.prompts_file).read_text().splitlines() if p.strip()]
        from .pipeline import WEIGHTS_DIR, Pipeline

        pipe = Pipeline.load(args.weights or WEIGHTS_DIR, args.device)
        for i, prompt in enumerate(prompts):
            t0 = time.perf_counter()
            result = pipe.generate(prompt, seed=args.seed + i, steps=args.steps, guidance=args.guidance)
            reading = result.reading.text if result.reading else ""
            label = prompt if reading == prompt else f"{prompt}\n-> {reading}"
            rows.append((label, result.frames))
            print(f"[{i + 1}/{len(prompts)}] {prompt!r} -> {reading!r} ({time.perf_counter() - t0:.1f}s)", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet(rows, args.scale).save(out)
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    main()
