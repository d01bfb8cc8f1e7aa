"""The issue's four headline numbers, each from the run that measured it, as one JSON file.

    python benchmarks/dit/summary.py   # -> benchmarks/dit/results/summary.json (no GPU needed)

The step's ratio and MFU: the median over the runs that timed ours and diffusers compiled in turns
(STEP_TURNS_RUNS, the current code; each run's own figures listed beside it, and the runs before
session 17's tail split apart), as one run moves with the machine's clocks (0.836-0.866 so far).
The video's ratio and fidelity: the fastest at >= 30 dB of the newest bench_step.py run with a reference video (the plain-ops result its PSNR is measured against; a run
without one measures time only) and the bench_video_fast.py runs (their variants against the exact
bf16 video of the same run), each ratio against diffusers compiled timed in that same run.
The levers that skip work (PLAN_RUNS: a fixed cache plan, fewer steps) count only when every run of
them, on every seed measured (at least MIN_SEEDS, the benchmark's own video, seed 7, among them), kept
30 dB: the ratio is the slowest of those runs, the PSNR the lowest (video_psnr_db_by_seed: each seed's
lowest). The fastest lever that keeps 30 dB on seed 7 alone is listed beside (video_fastest_seed7_only),
with how many of its seeds keep 30 dB.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# bench_step.py runs with --interleave of the current code, newest first (session 17: FA4's tail split,
# each run also timing the same step with the split off in the same turns)
STEP_TURNS_RUNS = ("step_session17_run2.json", "step_session17_run1.json")
# the same before the tail split (sessions 11-14), listed beside
EARLIER_STEP_TURNS_RUNS = ("step_session14.json", "step.json", "step_session11.json", "step_session11_run1_sweeps.json")
# newest first; each a bench_step.py --video run
VIDEO_RUNS = ("step.json", "step_session11.json", "step_session10.json", "step_session9.json")
# bench_video_fast.py runs with a peer (their best variant at >= 30 dB)
VIDEO_FAST_RUNS = ("video_fast_fp8_linears.json", "video_fast_fp8_attention.json", "video_fast.json")
# bench_video_fast.py --plan runs (session 16), each with its peer; seed 7 is every other video run's
# (session 17: run4 seeds 8 and 9 with a peer; run5 seeds 9 and 10 without one: PSNR only;
# session 18: run6 the plans with the skipped calls' residual extrapolated, seeds 9 and 8; run7 static
# interval-2 plans, seeds 9, 8 and 7, with a peer)
PLAN_RUNS = ("video_fast_plans_run3.json", "video_fast_plans_run1.json", "video_fast_plans_run2_seed8.json",
             "video_fast_plans_run4_seeds8_9.json", "video_fast_plans_run5_seeds9_10_no_peer.json",
             "video_fast_plans_run6_extrapolate_seeds9_8.json", "video_fast_plans_run7_interval_seeds9_8_7.json")
VIDEO_SEED = 7
MIN_SEEDS = 3


def lever_runs() -> dict:
    """lever -> seed -> [{ratio, psnr_db, run, full_calls}] over PLAN_RUNS (a run's extra seeds are named
    *_seedN; ratio None where the run had no peer; full_calls: of the video's CFG calls, those run in full)."""
    out: dict = {}
    for name in PLAN_RUNS:
        run = json.loads((RESULTS / name).read_text())
        for key, r in run["runs"].items():
            if "trained_model" not in r and "_plan_" not in key:  # the exact videos and full-schedule variants
                continue
            lever, _, seed = key.partition("_seed")
            out.setdefault(lever, {}).setdefault(int(seed or run.get("seed", VIDEO_SEED)), []).append(
                {"ratio": r.get("ratio_vs_diffusers_compiled"), "psnr_db": r["psnr_db"], "run": name,
                 "full_calls": r["full_forwards"] // 2})
    return out


def turns_run(r: dict) -> dict:
    row = {"ratio": r["interleaved"]["ratio"], "mfu": r["step_mfu"], "matmul_ceiling_tflops": r["matmul_ceiling_tflops"],
           "ours_ms": r["interleaved"]["ours"]["median_s"] * 1e3,
           "diffusers_compiled_ms": r["interleaved"]["diffusers_compiled"]["median_s"] * 1e3}
    if "step_ratio_no_tail_split" in r:
        row.update(ratio_no_tail_split=r["step_ratio_no_tail_split"],
                   ours_no_tail_split_ms=r["interleaved"]["ours_no_tail_split"]["median_s"] * 1e3)
    return row


def main() -> None:
    per_run = {name: turns_run(json.loads((RESULTS / name).read_text())) for name in STEP_TURNS_RUNS}
    earlier = {name: turns_run(json.loads((RESULTS / name).read_text())) for name in EARLIER_STEP_TURNS_RUNS}
    out = {"step_ratio_vs_diffusers_compiled": statistics.median(r["ratio"] for r in per_run.values()),
           "step_mfu": statistics.median(r["mfu"] for r in per_run.values()),
           "step_source": f"median of {len(per_run)} runs in turns (interleaved) of the current code",
           "step_runs": per_run, "step_runs_before_tail_split": earlier}
    step = json.loads((RESULTS / "step.json").read_text())
    for name in VIDEO_RUNS:
        video = json.loads((RESULTS / name).read_text()).get("video", {})
        if "reference" in video and math.isfinite(video.get("video_psnr_db", math.inf)):
            out.update(video_ratio_vs_diffusers_compiled=video["video_ratio_vs_diffusers_compiled"],
                       video_psnr_db=video["video_psnr_db"], video_source=name)
            break
    for name in VIDEO_FAST_RUNS:
        run = json.loads((RESULTS / name).read_text())
        ratio = run.get("video_ratio_vs_diffusers_compiled")
        if ratio is not None and run["video_psnr_db"] >= 30 and ratio < out.get("video_ratio_vs_diffusers_compiled", math.inf):
            out.update(video_ratio_vs_diffusers_compiled=ratio, video_psnr_db=run["video_psnr_db"],
                       video_source=f"{name} ({run['best']})")
    levers = lever_runs()
    out["video_levers"] = {lever: {str(seed): rs for seed, rs in sorted(by_seed.items())}
                           for lever, by_seed in levers.items()}
    seed7_only = None
    for lever, by_seed in levers.items():
        lowest = {seed: min(r["psnr_db"] for r in rs) for seed, rs in sorted(by_seed.items())}
        timed = [r["ratio"] for rs in by_seed.values() for r in rs if r["ratio"] is not None]
        if not timed or lowest.get(VIDEO_SEED, 0) < 30:
            continue
        ratio = max(timed)
        at_30 = f"{sum(db >= 30 for db in lowest.values())}/{len(lowest)}"
        if len(lowest) >= MIN_SEEDS and min(lowest.values()) >= 30:
            if ratio < out.get("video_ratio_vs_diffusers_compiled", math.inf):
                out.update(video_ratio_vs_diffusers_compiled=ratio, video_psnr_db=min(lowest.values()),
                           video_source=f"{lever}: {sum(map(len, by_seed.values()))} runs over seeds "
                                        f"{', '.join(map(str, lowest))} (slowest ratio, lowest PSNR)",
                           video_psnr_db_by_seed={str(seed): db for seed, db in lowest.items()},
                           video_seeds_at_30db=at_30)
        elif seed7_only is None or ratio < seed7_only["ratio"]:
            seed7_only = {"lever": lever, "ratio": ratio, "psnr_db_seed7": lowest[VIDEO_SEED],
                          "psnr_db_by_seed": {str(seed): db for seed, db in lowest.items()}, "seeds_at_30db": at_30}
    if seed7_only is not None and seed7_only["ratio"] < out.get("video_ratio_vs_diffusers_compiled", math.inf):
        out["video_fastest_seed7_only"] = seed7_only
    newest = step.get("video", {})
    if out.get("video_source") != "step.json" and "video_ratio_vs_diffusers_compiled" in newest:
        out["video_ratio_newest_time_only"] = newest["video_ratio_vs_diffusers_compiled"]
    (RESULTS / "summary.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
