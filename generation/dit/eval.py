"""Evaluation: generate held-out prompts, score them with the deterministic detector.

    python -m generation.dit.eval [--weights DIR] [--device cpu|cuda] [--steps 20] [--guidance G]
                                  [--per-kind N] [--out REPORT.json] [--seed S] [--ground-truth | --vae-roundtrip]

The prompt set is fixed by --seed and --per-kind: held-out specs (world.sample_spec(split="heldout"))
for every single motion (left/right/up/down/still/falling), every pair relation and both wall
directions, N of each. Every spec is asked in two phrasings with the same generation seed: the
template (captions.canonical_caption) and a paraphrase whose attribute words no training caption
uses (checked against text.VOCAB): colour and shape synonyms, tiny/huge, sliding/rising/sinking,
"backdrop", "barrier", and reordered sentences. Relation words stay training words (the prompt
normalizer does not map relations; see text.py).

--ground-truth scores world.render_numpy(spec) instead of the model: the detector must read ~100%
there, which is how we know the detector (not the model) is right. --vae-roundtrip scores those
renders after the weights' autoencoder (encode, decode): the ceiling the DiT can reach.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import time
from pathlib import Path

import numpy as np

from . import captions, scoring, text, world

PHRASINGS = ["template", "paraphrase"]
COLUMNS = scoring.ATTRIBUTES + ["all_correct"]

# Synonyms chosen for meaning, not for what the normalizer happens to know.
COLOUR_WORDS = {
    "red": ["crimson", "scarlet"], "orange": ["tangerine", "pumpkin"], "yellow": ["golden", "lemon"],
    "green": ["emerald", "jade"], "blue": ["navy", "cobalt"], "purple": ["violet", "amethyst"],
    "white": ["snow", "ivory"], "black": ["charcoal", "ebony"],
}
SHAPE_WORDS = {"circle": ["ball", "disc", "orb"], "square": ["box", "block", "tile"], "triangle": ["pyramid", "wedge"]}
SIZE_WORDS = {"small": ["tiny", "little"], "big": ["huge", "large"]}
MOTION_WORDS = {
    "left": ["sliding left", "heading left", "drifting leftward"],
    "right": ["sliding right", "heading right", "drifting rightward"],
    "up": ["rising", "climbing upward", "ascending"],
    "down": ["sinking", "descending", "heading downward"],
    "still": ["motionless", "stationary", "frozen in place"],
    "falling": ["dropping and rebounding", "plummeting and rebounding", "tumbling and rebounding off the ground"],
}
WALL_WORDS = ["behind a grey barrier", "behind a gray partition", "behind a grey partition"]
# relations keep training words but not the template's
RELATION_WORDS = {"left of": ["left of", "on the left of"], "right of": ["right of", "on the right of"],
                  "above": ["over", "on top of"], "below": ["under", "beneath"]}


def _a(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


def paraphrase(spec: world.ClipSpec, rng: random.Random) -> str:
    """A free-text prompt for `spec` that avoids the training vocabulary for every attribute word."""
    def obj(o: world.ObjectSpec) -> str:
        return f"{rng.choice(SIZE_WORDS[o.size])} {rng.choice(COLOUR_WORDS[o.colour])} {rng.choice(SHAPE_WORDS[o.shape])}"

    a = spec.subject
    backdrop = _a(f"{rng.choice(COLOUR_WORDS[spec.background])} backdrop")
    if spec.kind == "pair":
        body_a, rel, body_b = obj(a), rng.choice(RELATION_WORDS[spec.relation]), obj(spec.objects[1])
        forms = [f"{_a(body_a)} {rel} {_a(body_b)} over {backdrop}",
                 f"against {backdrop}, {_a(body_a)} sits {rel} {_a(body_b)}"]
    else:
        motion = rng.choice(MOTION_WORDS[a.motion])
        tail = f" {rng.choice(WALL_WORDS)}" if spec.kind == "wall" else ""
        forms = [f"{_a(obj(a))} {motion}{tail} over {backdrop}",
                 f"against {backdrop}, {_a(obj(a))} is {motion}{tail}"]
    return rng.choice(forms)


def attribute_words_ok(prompt: str) -> bool:
    """True when no colour/shape/size/motion/background/wall word of the prompt is a training word."""
    attribute_vocab = set(text.VOCAB) - {"a", "one", "of", "to", "the", "on", "in", "front", "with", "and", ",",
                                         "over", "under", "top", "behind", "against", "left", "right", "gray", "beneath"}
    return not (set(re.findall(r"[a-z]+", prompt.lower())) & attribute_vocab)


def prompt_set(seed: int = 0, per_kind: int = 4) -> list[dict]:
    """The fixed evaluation set: per_kind held-out specs for every motion, relation and wall direction."""
    rng = random.Random(seed)
    wanted = [("single", m) for m in world.MOTIONS] + [("pair", r) for r in world.RELATIONS] + \
             [("wall", d) for d in ("left", "right")]
    items = []
    for kind, variant in wanted:
        for _ in range(per_kind):
            while True:
                spec = world.sample_spec(rng, split="heldout", kind=kind)
                if (spec.relation if kind == "pair" else spec.subject.motion) == variant:
                    break
            i = len(items)
            para = paraphrase(spec, random.Random(f"{seed}-{i}"))
            items.append({"index": i, "kind": kind, "variant": variant, "spec": spec, "seed": seed * 1000 + i,
                          "prompts": {"template": captions.canonical_caption(spec), "paraphrase": para}})
    return items


def spec_dict(spec: world.ClipSpec) -> dict:
    return {"kind": spec.kind, "background": spec.background, "relation": spec.relation,
            "objects": [{"colour": o.colour, "shape": o.shape, "size": o.size, "motion": o.motion} for o in spec.objects]}


def summarize(rows: list[dict]) -> dict:
    acc, counts = {}, {}
    for ph in PHRASINGS:
        acc[ph], counts[ph] = {}, {}
        for col in COLUMNS:
            vals = [r["scores"][col] for r in rows if r["phrasing"] == ph and r["scores"][col] is not None]
            counts[ph][col] = len(vals)
            acc[ph][col] = round(float(np.mean(vals)), 4) if vals else None
    return {"accuracy": acc, "counts": counts}


def table(summary: dict) -> str:
    acc, n = summary["accuracy"], summary["counts"]
    lines = [f"{'attribute':<16}{'template':>10}{'paraphrase':>12}{'gap':>8}{'n':>6}", "-" * 52]
    for col in COLUMNS:
        t, p = acc["template"][col], acc["paraphrase"][col]
        fmt = lambda v: "   -" if v is None else f"{100 * v:6.1f}%"
        gap = "" if t is None or p is None else f"{100 * (p - t):+6.1f}"
        lines.append(f"{col:<16}{fmt(t):>10}{fmt(p):>12}{gap:>8}{n['template'][col]:>6}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m generation.dit.eval", description=__doc__.split("\n")[0])
    ap.add_argument("--weights", default=None, help="weights folder (default: generation/dit/weights)")
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=None, help="CFG scale (default: the weights' config)")
    ap.add_argument("--per-kind", type=int, default=4, help="specs per motion / relation / wall direction")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--step-cache", type=float, default=0.0,
                    help="the first-block cache's threshold, as SPACETIME_STEP_CACHE (0: off)")
    ap.add_argument("--out", default=None, help="JSON report path")
    ap.add_argument("--ground-truth", action="store_true", help="score the world's own renders, not the model")
    ap.add_argument("--vae-roundtrip", action="store_true", help="score the renders after the VAE (the DiT's ceiling)")
    ap.add_argument("--write-readings", metavar="JSON", help="only read every prompt (needs MiniLM) and save the readings")
    ap.add_argument("--readings", metavar="JSON", help="readings saved by --write-readings (for a GPU machine "
                                                        "without the MiniLM package)")
    args = ap.parse_args(argv)

    items = prompt_set(args.seed, args.per_kind)
    if args.write_readings:
        from .text import PromptNormalizer

        norm = PromptNormalizer()
        readings = {p: dataclasses.asdict(norm.normalize(p)) for it in items for p in it["prompts"].values()}
        Path(args.write_readings).write_text(json.dumps(readings, indent=0))
        return readings
    pipe = None
    if not args.ground_truth:  # the model (or, with --vae-roundtrip, its autoencoder)
        from .pipeline import WEIGHTS_DIR, Pipeline
        from .text import NormalizedPrompt

        pipe = Pipeline.load(args.weights or WEIGHTS_DIR, args.device, step_cache=args.step_cache)
        if args.readings:
            saved = json.loads(Path(args.readings).read_text())
            read = pipe.read_prompt
            pipe.read_prompt = lambda p: NormalizedPrompt(**saved[p]) if p in saved else read(p)
    rows, started = [], time.perf_counter()
    for item in items:
        truth = world.render_numpy(item["spec"]) if args.ground_truth or args.vae_roundtrip else None
        if args.vae_roundtrip:
            truth = pipe.roundtrip(truth)
        for ph in PHRASINGS:
            prompt = item["prompts"][ph]
            t0 = time.perf_counter()
            if truth is not None:
                frames, reading = truth, ""
            else:
                result = pipe.generate(prompt, seed=item["seed"], steps=args.steps, guidance=args.guidance)
                frames, reading = result.frames, result.reading.text if result.reading else ""
            scores = scoring.score(item["spec"], frames)
            detected = scores.pop("detected")
            rows.append({"index": item["index"], "kind": item["kind"], "variant": item["variant"], "phrasing": ph,
                         "prompt": prompt, "reading": reading, "seed": item["seed"], "spec": spec_dict(item["spec"]),
                         "scores": scores, "detected": detected, "seconds": round(time.perf_counter() - t0, 3)})
            mark = "ok " if scores["all_correct"] else "BAD"
            wrong = [c for c in scoring.ATTRIBUTES if scores[c] is False]
            print(f"[{len(rows):3d}/{2 * len(items)}] {mark} {ph[:5]} {prompt!r}" + (f"  wrong: {wrong}" if wrong else ""),
                  flush=True)
    summary = summarize(rows)
    report = {
        "settings": {"weights": None if pipe is None else str(args.weights or "generation/dit/weights"),
                     "model_version": None if pipe is None else pipe.model_version,
                     "device": None if pipe is None else str(pipe.device), "steps": args.steps,
                     "guidance": args.guidance if pipe is None else
                     (args.guidance if args.guidance is not None else pipe.config.get("sampler", {}).get("guidance", 2.0)),
                     "per_kind": args.per_kind, "seed": args.seed, "ground_truth": args.ground_truth,
                     "vae_roundtrip": args.vae_roundtrip, "step_cache": args.step_cache,
                     "specs": len(items), "clips": len(rows), "seconds": round(time.perf_counter() - started, 1),
                     "paraphrases_avoid_training_words": all(attribute_words_ok(i["prompts"]["paraphrase"]) for i in items)},
        **summary,
        "rows": rows,
    }
    print()
    print(table(summary))
    write_report(report, args.out)
    return report


def write_report(report: dict, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(report, indent=1, default=str) + "\n")
        print(f"\nreport: {out}")


if __name__ == "__main__":
    main()
