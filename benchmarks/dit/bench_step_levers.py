"""Step-level levers (first-block cache, fewer steps) on the trained DiT against the same network with
random weights (issue 9). Runs on the CPU: ~18 min for both settings and both weights on 2 threads.

    python benchmarks/dit/bench_step_levers.py --out benchmarks/dit/results/step_levers.json
    python benchmarks/dit/bench_step_levers.py --cache-only --extrapolate 0.5 1 --weights trained \
        --out benchmarks/dit/results/step_levers_extrapolate.json   # the residual extrapolated (~12 min)

The whole-video bar (issue 9) allows step caching and fewer steps if the video keeps >= 30 dB
against the exact run. On the Wan-size model with random weights neither ever passes (the cache
never fires, 25 steps give 15.9 dB): every block's modulation follows sinusoidal features of
1000 t, and at 50 steps the fastest third of them turn by more than a radian a step, so with random
weights the network's output jumps between neighbouring noise levels. A trained network learns to
depend smoothly on t. This script measures both on the shipped model (same code, same prompts and
noise): the exact run (float32 here), the same in bf16 (how far rounding alone moves each video),
the cache at several thresholds, fewer steps, for
  video:   the issue's video sampler (50 DPM-Solver++(2M) steps, guidance 5, shift 3), and
  product: the product's own sampler settings (weights/config.json; Euler, as the worker runs).
Fidelity: PSNR of the final latent over the exact latent's range (as bench_video_fast.py), and of the
decoded frames (uint8; 99 dB: identical). Each cached run's per-call decisions are saved (`full_at`): bench_video_fast.py
--plan replays them at the Wan size to time what they would cost there.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import torch
from common import psnr, randomize_

from generation.dit.eval import prompt_set
from generation.dit.image_metrics import psnr as frames_psnr
from generation.dit.pipeline import Pipeline
from generation.dit.sampling import sample_iter
from generation.dit.step_cache import FirstBlockCache

SETTINGS = {
    "video": {"steps": 50, "guidance": 5.0, "solver": "dpm2m", "thresholds": [0.05, 0.08, 0.1, 0.15, 0.2],
              "fewer": [35, 25, 20]},
    # steps and guidance None: the shipped config's own (20 steps, guidance 2)
    "product": {"steps": None, "guidance": None, "solver": "euler", "thresholds": [0.1, 0.15, 0.2, 0.3],
                "fewer": [15, 12, 10]},
}


class Bf16Net:
    """The network under bf16 autocast: the exact sampler with other rounding, to see how far
    rounding alone moves a video (the floor a lever's PSNR is read against)."""

    def __init__(self, cache: FirstBlockCache):
        self.cache = cache

    def __call__(self, *args, **kwargs):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.cache(*args, **kwargs).float()


def sample(pipe: Pipeline, dit, prompt: str, seed: int, steps: int, guidance, solver: str, threshold: float,
           bf16: bool = False, extrapolate: float = 0.0):
    """The final latent, its frames, and the cache's record of which calls ran every block."""
    cache = FirstBlockCache(dit, threshold, extrapolate=extrapolate)
    pipe.net = Bf16Net(cache) if bf16 else cache
    _, steps, shift, denoise = pipe._text_denoiser(prompt, steps, guidance, seed)  # reads the prompt: not timed
    t0 = time.perf_counter()
    with torch.no_grad():
        z = list(sample_iter(denoise, pipe._noise(seed), steps, shift, solver))[-1].z
    seconds = time.perf_counter() - t0  # the sampler's time on this machine (the decode is the same for all)
    with torch.no_grad():
        frames = pipe._decode(z)
    return z, frames, cache.full_at, seconds


def summarize(rows: list[dict]) -> dict:
    out = {}
    for key in rows[0]["runs"]:
        runs = [r["runs"][key] for r in rows]
        out[key] = {"latent_psnr_db_min": min(r["latent_psnr_db"] for r in runs),
                    "latent_psnr_db_median": statistics.median(r["latent_psnr_db"] for r in runs),
                    "frames_psnr_db_min": min(r["frames_psnr_db"] for r in runs),
                    "full_forwards_max": max(r["full"] for r in runs), "calls": runs[0]["calls"]}
        if all("speedup_vs_exact" in r for r in runs):  # CPU wall time, each run against its prompt's exact run
            out[key]["speedup_vs_exact_median"] = statistics.median(r["speedup_vs_exact"] for r in runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="step_levers.json")
    ap.add_argument("--prompts", type=int, default=6, help="from the eval's held-out set, one per kind in turn")
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    ap.add_argument("--weights", nargs="*", default=["trained", "random"], choices=["trained", "random"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--extrapolate", type=float, nargs="*", default=[],
                    help="also each cache threshold with the residual extrapolated this far (cache_<th>_x<k>)")
    ap.add_argument("--cache-only", action="store_true", help="only the cache variants (no bf16, no fewer steps)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    pipe = Pipeline.load(device="cpu")
    items = prompt_set(seed=0, per_kind=1)
    step = max(1, len(items) // args.prompts)
    chosen = items[::step][:args.prompts]  # spread over the motions, relations and walls
    nets = {"trained": pipe.dit, "random": randomize_(copy.deepcopy(pipe.dit))}
    nets = {k: v for k, v in nets.items() if k in args.weights}
    res: dict = {"model": pipe.model_version, "torch": torch.__version__, "settings": {}, "rows": []}
    for setting in args.settings:
        s = SETTINGS[setting]
        res["settings"][setting] = {**s, "config_sampler": pipe.config.get("sampler")}
        for weights, dit in nets.items():
            rows = []
            for item in chosen:
                prompt, seed = item["prompts"]["template"], item["seed"]
                t0 = time.time()
                ref_z, ref_frames, _, ref_s = sample(pipe, dit, prompt, seed, s["steps"], s["guidance"], s["solver"], 0.0)
                row = {"setting": setting, "weights": weights, "prompt": prompt, "seed": seed, "exact_s": ref_s, "runs": {}}
                variants = [("bf16_rounding", s["steps"], 0.0, True, 0.0)] + \
                           [(f"cache_{th:g}", s["steps"], th, False, 0.0) for th in s["thresholds"]] + \
                           [(f"cache_{th:g}_x{k:g}", s["steps"], th, False, k)
                            for th in s["thresholds"] for k in args.extrapolate] + \
                           [(f"steps_{n}", n, 0.0, False, 0.0) for n in s["fewer"]]
                if args.cache_only:
                    variants = [v for v in variants if v[0].startswith("cache_")]
                for key, steps, th, bf16, k in variants:
                    z, frames, full_at, secs = sample(pipe, dit, prompt, seed, steps, s["guidance"], s["solver"], th,
                                                      bf16, k)
                    row["runs"][key] = {"latent_psnr_db": psnr(z, ref_z), "frames_psnr_db": frames_psnr(frames, ref_frames),
                                        "full": sum(full_at), "calls": len(full_at), "full_at": full_at,
                                        "speedup_vs_exact": ref_s / secs}
                rows.append(row)
                brief = {k: f"{r['latent_psnr_db']:.1f} dB {r['full']}/{r['calls']}" for k, r in row["runs"].items()}
                print(f"{setting} {weights} {time.time() - t0:4.0f}s {prompt[:40]!r}: {brief}", flush=True)
            res["rows"] += rows
            res.setdefault("summary", {}).setdefault(setting, {})[weights] = summarize(rows)
            with open(args.out, "w") as f:
                json.dump(res, f, indent=1)
    for setting, by_weights in res["summary"].items():
        for weights, table in by_weights.items():
            for key, r in table.items():
                print(f"{setting:8s} {weights:8s} {key:12s} latent PSNR min {r['latent_psnr_db_min']:6.1f} "
                      f"median {r['latent_psnr_db_median']:6.1f}  frames min {r['frames_psnr_db_min']:6.1f}  "
                      f"full forwards <= {r['full_forwards_max']}/{r['calls']}  "
                      f"speed-up {r.get('speedup_vs_exact_median', float('nan')):.2f}x")


if __name__ == "__main__":
    main()
