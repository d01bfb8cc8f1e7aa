"""CUDA graphs for the shipped Flatland model: eager vs graphed, side by side in one run.

    python3 benchmarks/dit/bench_cuda_graphs.py --out cuda_graphs.json    # on the GPU machine

1. The DiT forward alone at R rows (2: one job with CFG; 8; 32: 16 jobs batched), 10 forwards back
   to back per timing, eager and graphed in turns (CUDA events, median).
2. Whole videos as the worker makes them (Pipeline.generate: 20 steps with CFG, a preview a step, the
   decode): rounds of N jobs eager then N graphed, videos/hour, the median of the rounds' ratios.
3. 16 users through the batcher, eager and graphed in turns.
4. The same jobs' frames from both (same seeds): they must be identical.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench_batching import concurrent, job, sequential
from common import interleaved

from generation.dit.batching import BatchingPipeline
from generation.dit.cuda_graphs import GraphedDiT
from generation.dit.pipeline import Pipeline
from generation.dit.text import tokenize


def forward_inputs(pipe: Pipeline, rows: int) -> dict:
    cfg = pipe.dit.cfg
    g = torch.Generator().manual_seed(rows)
    ids = torch.tensor([tokenize(pipe.read_prompt(job(i)["prompt"]).words) for i in range(rows)], device=pipe.device)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        text, pooled, mask = pipe.dit.encode_text(ids)
    return {"z_t": torch.randn(rows, cfg.latent_channels, *cfg.latent_size, generator=g).to(pipe.device),
                "t": torch.rand(rows, generator=g).to(pipe.device), "text": text, "pooled": pooled, "text_mask": mask}


def forwards(pipe: Pipeline, graphed: GraphedDiT, rows_list, reps: int, per_timing: int = 10) -> dict:
    out = {}
    for rows in rows_list:
        args = forward_inputs(pipe, rows)

        def run(net, args=args):
            def go():
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                    for _ in range(per_timing):
                        net(**args)
            return go

        times = interleaved({"eager": run(pipe.dit), "graphed": run(graphed)}, reps)
        eager, graph = (times[k]["median_s"] / per_timing * 1e3 for k in ("eager", "graphed"))
        out[rows] = {"eager_ms": eager, "graphed_ms": graph, "speedup": eager / graph}
        print(f"forward, {rows:2d} rows: eager {eager:.3f} ms, graphed {graph:.3f} ms: {eager / graph:.2f}x", flush=True)
    return out


def step_parts(pipe: Pipeline, reps: int = 20) -> dict:
    """What a sequential job's time goes to besides the forward: the preview a step and the decode."""
    cfg = pipe.dit.cfg
    z = torch.randn(1, cfg.latent_channels, *cfg.latent_size, device=pipe.device)
    times = interleaved({"preview_to_host": lambda: pipe.vae.preview(z)[0].cpu(),
                         "decode_to_host": lambda: pipe._decode(z)}, reps)
    return {k: v["median_s"] * 1e3 for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=32, help="sequential jobs per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batched-jobs", type=int, default=64, help="jobs per 16-user run")
    ap.add_argument("--reps", type=int, default=30, help="forward timings per setting")
    ap.add_argument("--out", default="cuda_graphs.json")
    args = ap.parse_args()
    graphed = Pipeline.load(device="cuda")
    assert isinstance(graphed.net, GraphedDiT), "set SPACETIME_CUDA_GRAPHS=1 (or leave it unset)"
    eager = copy.copy(graphed)
    eager.net = graphed.dit  # the same modules, the forward run eagerly
    res: dict = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "model": graphed.model_version,
                     "steps": graphed.config.get("sampler", {}).get("steps", 20)}

    def save():
        Path(args.out).write_text(json.dumps(res, indent=1))

    with torch.no_grad():
        res["forward"] = forwards(graphed, graphed.net, (2, 8, 32), args.reps)
        res["step_parts_ms"] = step_parts(graphed)
    print("preview + decode:", {k: round(v, 3) for k, v in res["step_parts_ms"].items()}, flush=True)
    save()

    eager.generate(**job(0)), graphed.generate(**job(0))  # warm-up
    rounds = []
    for r in range(args.rounds):
        e, g = sequential(eager, args.jobs), sequential(graphed, args.jobs)
        rounds.append({"eager_videos_per_hour": args.jobs / e * 3600, "graphed_videos_per_hour": args.jobs / g * 3600,
                           "speedup": e / g})
        print(f"round {r + 1}, one job at a time: eager {rounds[-1]['eager_videos_per_hour']:,.0f}, graphed "
              f"{rounds[-1]['graphed_videos_per_hour']:,.0f} videos/hour: {e / g:.2f}x", flush=True)
        res["sequential"] = {"jobs_per_round": args.jobs, "rounds": rounds,
                                 "median_speedup": statistics.median(x["speedup"] for x in rounds)}
        save()

    batchers = {"eager": BatchingPipeline(eager, max_batch=16), "graphed": BatchingPipeline(graphed, max_batch=16)}
    for b in batchers.values():
        b.generate(**job(0))
    users, per_user = 16, max(1, args.batched_jobs // 16)
    batched = []
    for r in range(2):
        secs = {name: concurrent(b, users, per_user) for name, b in batchers.items()}
        n = users * per_user
        batched.append({f"{k}_videos_per_hour": n / v * 3600 for k, v in secs.items()} |
                       {"speedup": secs["eager"] / secs["graphed"]})
        print(f"16 users, round {r + 1}: eager {batched[-1]['eager_videos_per_hour']:,.0f}, graphed "
              f"{batched[-1]['graphed_videos_per_hour']:,.0f} videos/hour: {batched[-1]['speedup']:.2f}x", flush=True)
    res["batched_16_users"] = {"jobs_per_run": users * per_user, "rounds": batched,
                                   "median_speedup": statistics.median(x["speedup"] for x in batched)}
    save()

    diffs = [float(np.abs(graphed.generate(**job(i)).frames.astype(np.int16)
                          - eager.generate(**job(i)).frames.astype(np.int16)).max()) for i in range(8)]
    res["identity_8_jobs"] = {"max_abs_pixel_diff": max(diffs), "identical_jobs": sum(d == 0 for d in diffs)}
    res["graphs_captured"] = graphed.net.graphs
    print(f"graphed vs eager frames (8 jobs): max |pixel diff| {max(diffs):.0f}, identical "
          f"{sum(d == 0 for d in diffs)}/8; {graphed.net.graphs} graphs captured", flush=True)
    save()


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - t0:.0f} s")
