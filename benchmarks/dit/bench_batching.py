"""Videos per hour with dynamic batching vs one job at a time, on the shipped Flatland model.

    python3 benchmarks/dit/bench_batching.py --device cuda --out batching.json

U concurrent users each submit jobs back to back (a closed loop: a user's next job starts when the
last one ends) through BatchingPipeline; the baseline runs the same jobs one by one through the
plain Pipeline. Every job has its own prompt, seed and guidance. Then the batched frames of a
sample of jobs are compared with the same jobs run alone (same seed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from generation.dit.batching import BatchingPipeline  # noqa: E402
from generation.dit.pipeline import Pipeline  # noqa: E402

PROMPTS = ["a red circle moving left on a blue background", "a big green square falling",
           "a small yellow triangle moving up on a black background", "a purple circle above a red square",
           "a white square moving right behind a wall", "an orange triangle moving down on a gray background"]


def job(i: int) -> dict:
    return dict(prompt=PROMPTS[i % len(PROMPTS)], seed=1000 + i, guidance=[2.0, 3.0, 1.5][i % 3])


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def sequential(pipe: Pipeline, n: int) -> float:
    sync(pipe.device)
    t0 = time.perf_counter()
    for i in range(n):
        pipe.generate(**job(i))
    sync(pipe.device)
    return time.perf_counter() - t0


def concurrent(batching: BatchingPipeline, users: int, per_user: int) -> float:
    def user(u):
        for k in range(per_user):
            list(batching.iter_generate(**job(u * per_user + k)))

    threads = [threading.Thread(target=user, args=(u,)) for u in range(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def lone_user_variants(batching: BatchingPipeline, jobs: int, sequential_vph: float) -> dict:
    """1 user through the batcher, alternating settings (two rounds each): the default; the GIL's
    switch interval 5 ms -> 0.5 ms (a thread woken by the batcher's event may wait up to an interval
    for the GIL); no 5 ms gather wait when a job arrives at an idle batcher."""
    default_interval, default_gather = sys.getswitchinterval(), batching.scheduler.gather_s
    variants = {"default": (default_interval, default_gather), "switch_0.5ms": (5e-4, default_gather),
                "no_gather": (default_interval, 0.0), "switch_0.5ms_no_gather": (5e-4, 0.0)}
    out = {name: [] for name in variants}
    for _ in range(2):
        for name, (interval, gather) in variants.items():
            sys.setswitchinterval(interval)
            batching.scheduler.gather_s = gather
            secs = concurrent(batching, 1, jobs)
            out[name].append(jobs / secs * 3600 / sequential_vph)
            print(f"1 user, {name}: {out[name][-1]:.3f}x sequential", flush=True)
    sys.setswitchinterval(default_interval)
    batching.scheduler.gather_s = default_gather
    return {name: {"vs_sequential": max(v), "rounds": v} for name, v in out.items()}


def lone_user_rounds(pipe: Pipeline, batching: BatchingPipeline, jobs: int, rounds: int, save) -> dict:
    """Sequential and 1 user through the batcher in turns, `jobs` each per round: each round's ratio
    compares two runs minutes apart at most, so warm-up drift (which session 8 saw rise through a run)
    divides out instead of landing on whichever setting ran later."""
    out: dict = {"jobs_per_run": jobs, "rounds": []}
    for r in range(rounds):
        seq = sequential(pipe, jobs)
        lone = concurrent(batching, 1, jobs)
        out["rounds"].append({"sequential_s": seq, "lone_user_s": lone, "ratio": seq / lone})
        print(f"round {r + 1}: sequential {jobs / seq * 3600:,.0f}, 1 user through the batcher "
              f"{jobs / lone * 3600:,.0f} videos/hour: {seq / lone:.3f}x", flush=True)
        out["median_ratio"] = statistics.median(x["ratio"] for x in out["rounds"])
        save()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--jobs", type=int, default=64, help="jobs per measurement")
    ap.add_argument("--users", default="1,4,16", help="comma-separated user counts; 'none' skips them")
    ap.add_argument("--lone-user-rounds", type=int, default=0,
                    help="R rounds of sequential and 1-user-batched runs in turns (--jobs each)")
    ap.add_argument("--out", default="batching.json")
    ap.add_argument("--lone-user-variants", action="store_true",
                    help="also time 1 user under variants of the hand-off (GIL switch interval, gather wait)")
    args = ap.parse_args()
    pipe = Pipeline.load(device=args.device)
    batching = BatchingPipeline(pipe, max_batch=16)
    pipe.generate(**job(0)), batching.generate(**job(0))  # warm-up
    res = dict(device=str(torch.cuda.get_device_name() if pipe.device.type == "cuda" else "cpu"),
               model=pipe.model_version, steps=pipe.config.get("sampler", {}).get("steps", 20), jobs=args.jobs)

    def save():
        Path(args.out).write_text(json.dumps(res, indent=1))

    if args.lone_user_rounds:
        res["lone_user_rounds"] = lone_user_rounds(pipe, batching, args.jobs, args.lone_user_rounds, save)
    seq = sequential(pipe, args.jobs)
    res["sequential"] = dict(seconds=seq, videos_per_hour=args.jobs / seq * 3600)
    print(f"sequential: {args.jobs} videos in {seq:.2f} s = {args.jobs / seq * 3600:,.0f} videos/hour", flush=True)
    res["batched"] = {}
    for users in [] if args.users == "none" else map(int, args.users.split(",")):
        per_user = max(1, args.jobs // users)
        ticks0 = batching.scheduler.ticks
        secs = concurrent(batching, users, per_user)
        n = users * per_user
        vph = n / secs * 3600
        res["batched"][users] = dict(seconds=secs, videos=n, videos_per_hour=vph,
                                     speedup_vs_sequential=vph / res["sequential"]["videos_per_hour"],
                                     ticks=batching.scheduler.ticks - ticks0)
        print(f"{users:3d} users: {n} videos in {secs:.2f} s = {vph:,.0f} videos/hour "
              f"({res['batched'][users]['speedup_vs_sequential']:.2f}x sequential)", flush=True)
    if args.lone_user_variants:  # why is one user slower through the batcher than sequential?
        res["lone_user_variants"] = lone_user_variants(batching, args.jobs, res["sequential"]["videos_per_hour"])
    # same seed, batched vs alone
    diffs, psnrs = [], []
    results = [None] * 16

    def one(i):
        results[i] = batching.generate(**job(i)).frames

    threads = [threading.Thread(target=one, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(16):
        alone = pipe.generate(**job(i)).frames.astype(np.float64)
        d = np.abs(results[i].astype(np.float64) - alone)
        diffs.append(float(d.max()))
        mse = float((d ** 2).mean())
        psnrs.append(float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse))
    res["identity_16_jobs"] = dict(max_abs_pixel_diff=max(diffs), identical_jobs=sum(d == 0 for d in diffs),
                                   min_psnr_db=min(psnrs), mean_abs_pixel_diff_max=max(diffs))
    print(f"batched vs alone (16 jobs): max |pixel diff| {max(diffs):.0f}, identical {sum(d == 0 for d in diffs)}/16, "
          f"min PSNR {min(psnrs):.1f} dB", flush=True)
    save()


if __name__ == "__main__":
    main()
