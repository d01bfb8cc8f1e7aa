"""The GPU benchmarks' figure, from the committed JSON results (no GPU needed).

    python benchmarks/dit/plot.py   # -> benchmarks/dit/results/dit_gpu.png and step_levers.png
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    step = json.loads((RESULTS / "step.json").read_text())
    video14 = json.loads((RESULTS / "video_fast_fp8_linears.json").read_text())  # + fp8 linears, Triton quantization
    session14 = json.loads((RESULTS / "step_session14.json").read_text())
    summary = json.loads((RESULTS / "summary.json").read_text())
    batching = json.loads((RESULTS / "batching.json").read_text())  # the product: CUDA-graphed forward
    batching_eager = json.loads((RESULTS / "batching_eager.json").read_text())  # session 6, before graphs
    session11 = json.loads((RESULTS / "step_session11.json").read_text())
    graphs = json.loads((RESULTS / "cuda_graphs.json").read_text())
    sp = json.loads((RESULTS / "sp.json").read_text())
    session9 = json.loads((RESULTS / "step_session9.json").read_text())
    session10 = json.loads((RESULTS / "step_session10.json").read_text())
    fig, axes = plt.subplots(2, 3, figsize=(19, 8.5))
    axes = axes.flatten()

    ax = axes[0]
    kernels = attention_kernels()
    ax.barh(list(kernels), list(kernels.values()),
            color=["tab:purple" if "fp8" in n else "tab:green" if "FA4" in n else "tab:gray" if "ours" in n
                   else "tab:orange" for n in kernels])
    ceiling = session11["matmul_ceiling_tflops"]  # the machine most of these kernels were timed on
    ax.axvline(ceiling, color="k", ls="--", lw=1)
    ax.text(ceiling, 0.5, f" bf16 matmul\n {ceiling:.0f}\n (session 11)", fontsize=8, ha="left")
    ax.set_xlim(0, max(ceiling, *kernels.values()) * 1.12)
    for i, v in enumerate(kernels.values()):
        ax.text(v + 5, i, f"{v:.0f}", va="center", fontsize=8)
    ax.set_xlabel("TFLOP/s, one layer's self-attention (32,760 tokens, 12x128)")
    ax.set_title("Attention kernels on the H200")

    ax = axes[1]
    times = {n: step["variants"][n]["median_s"] * 1e3 for n in step["variants"] if n.endswith("_b1")}
    times = {"ours_compiled_fa4_b1 (session 9)": session9["variants"]["ours_compiled_fa4_b1"]["median_s"] * 1e3,
             "ours_compiled_fa4_b1 (session 10)": session10["variants"]["ours_compiled_fa4_b1"]["median_s"] * 1e3,
             "ours, in turns (session 11)": session11["interleaved"]["ours"]["median_s"] * 1e3,
             "diffusers compiled, in turns (session 11)":
                 session11["interleaved"]["diffusers_compiled"]["median_s"] * 1e3,
             **times}
    if "interleaved" in step:  # the headline: ours and diffusers compiled timed in turns
        turns = step["interleaved"]
        times["ours, in turns with diffusers"] = turns["ours"]["median_s"] * 1e3
        times["diffusers compiled, in turns"] = turns["diffusers_compiled"]["median_s"] * 1e3
    turns = session14["interleaved"]
    times["ours, in turns (session 14)"] = turns["ours"]["median_s"] * 1e3
    times["diffusers compiled, in turns (session 14)"] = turns["diffusers_compiled"]["median_s"] * 1e3
    for name, r in summary["step_runs"].items():  # the current code, with the tail split off in the same turns
        run = name.removeprefix("step_").removesuffix(".json").replace("_", " ")
        times[f"ours, in turns ({run})"] = r["ours_ms"]
        if "ours_no_tail_split_ms" in r:
            times[f"ours, FA4 tail split off ({run})"] = r["ours_no_tail_split_ms"]
        times[f"diffusers compiled, in turns ({run})"] = r["diffusers_compiled_ms"]
    ax.barh(list(times), list(times.values()),
            color=["tab:orange" if n.startswith("diffusers") else "tab:blue" for n in times])
    ax.tick_params(axis="y", labelsize=7)
    for i, v in enumerate(times.values()):
        ax.text(v + 5, i, f"{v:.0f}", va="center", fontsize=8)
    ax.set_xlim(0, max(times.values()) * 1.15)
    ax.set_xlabel("ms per step (H200, bf16, batch 1)")
    ratios = ", ".join(f"{r['ratio']:.3f}" for r in summary["step_runs"].values())
    before = ", ".join(f"{r['ratio']:.3f}" for r in summary["step_runs_before_tail_split"].values())
    ax.set_title(f"One step, Wan-1.3B config: ours/diffusers in turns {ratios}\n"
                 f"(median {summary['step_ratio_vs_diffusers_compiled']:.3f}, MFU {summary['step_mfu'] * 100:.1f}%); "
                 f"before session 17's tail split: {before}", fontsize=9)

    ax = axes[2]
    video16 = json.loads((RESULTS / "video_fast_plans_run1.json").read_text())  # session 16: fixed cache plans
    interval = json.loads((RESULTS / "video_fast_plans_run7_interval_seeds9_8_7.json").read_text())  # session 18
    rows = [("ours bf16, cuDNN (the exact video)", video16["runs"]["bf16_exact"], "tab:blue"),
            ("ours, fp8 attention + fp8 linears (session 14)", video14["runs"]["fp8_attention_linears"], "tab:purple"),
            ("ours, fp8 self-attention", video16["runs"]["fp8_attention"], "tab:purple"),
            ("ours bf16, 20 steps", video16["runs"]["bf16_steps_20"], "tab:gray"),
            ("ours bf16, cache plan 0.2 (13/50 steps in full)", video16["runs"]["bf16_plan_cache_0.2"], "tab:gray"),
            ("ours bf16, cache plan 0.1 (21/50 steps in full)", video16["runs"]["bf16_plan_cache_0.1"], "tab:green"),
            ("ours, fp8 attention + cache plan 0.1", video16["runs"]["fp8_attention_plan_cache_0.1"], "tab:olive"),
            ("ours, fp8 attention + interval-2 plan (31/50)", interval["runs"]["fp8_attention_plan_interval2_w6_c6_seed7"],
             "tab:green"),
            ("ours, fp8 attention + interval-2 plan (29/50)", interval["runs"]["fp8_attention_plan_interval2_w4_c4_seed7"],
             "tab:green")]
    labels = [name for name, _, _ in rows] + ["diffusers compiled"]
    secs = [r["seconds"] for _, r, _ in rows] + [video16["diffusers_compiled_video_s"]]
    bars = ax.barh(labels, secs, color=[c for _, _, c in rows] + ["tab:orange"])
    for bar, (_, r, _) in zip(bars, rows):
        text = "exact" if r["psnr_db"] == float("inf") else \
            f"{r['psnr_db']:.1f} dB, {r['ratio_vs_diffusers_compiled']:.3f}x"
        ax.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8)
    ax.set_xlim(0, max(secs) * 1.3)
    ax.set_xlabel("s per video (50 steps, CFG, seed 7; ratios against each run's own peer)")
    seed7 = summary["video_fastest_seed7_only"]
    ax.set_title(f"Whole video: {summary['video_ratio_vs_diffusers_compiled']:.3f}x diffusers compiled at >= "
                 f"{summary['video_psnr_db']:.1f} dB on seeds " + ", ".join(summary["video_psnr_db_by_seed"])
                 + f" (bar 0.5x at 30 dB)\ngray < 30 dB; olive: seed 7 alone ({seed7['ratio']:.3f}x, "
                 + ", ".join(f"seed {k} {v:.1f} dB" for k, v in seed7["psnr_db_by_seed"].items()) + ")", fontsize=9)

    ax = axes[3]
    users = list(batching["batched"])
    loads = ["seq", *users]
    width = 0.4
    for k, (run, label, color) in enumerate(((batching_eager, "eager forward (session 6)", "tab:gray"),
                                             (batching, "CUDA-graphed forward (session 12)", "tab:blue"))):
        vph = [run["sequential"]["videos_per_hour"]] + [run["batched"][u]["videos_per_hour"] for u in users]
        xs = [i + (k - 0.5) * width for i in range(len(loads))]
        ax.bar(xs, vph, width, label=label, color=color)
        for x, v in zip(xs, vph):
            ax.text(x, v, f"{v / 1000:.0f}k", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(loads)), loads)
    ax.set_xlabel("concurrent users (seq: one job at a time, no batcher)")
    ax.set_ylabel("videos / hour")
    ax.legend(fontsize=8, loc="upper left")
    top = users[-1]
    graphed_runs = [batching] + [json.loads((RESULTS / f"batching_run{i}.json").read_text()) for i in (2, 3)]
    ratios = " / ".join(f"{r['batched'][top]['speedup_vs_sequential']:.2f}" for r in graphed_runs)
    ax.set_title(f"Flatland model, {top} users vs one at a time: {batching_eager['batched'][top]['speedup_vs_sequential']:.2f}x "
                 f"eager, {ratios}x graphed ({len(graphed_runs)} runs; bars: run 1)\n"
                 f"CUDA graphs vs eager, one job at a time, in turns: {graphs['sequential']['median_speedup']:.1f}x",
                 fontsize=9)

    ax = axes[4]
    ax.bar(["1 GPU", "2 GPUs"], [sp["one_gpu"]["median_s"] * 1e3, sp["2_gpus"]["median_s"] * 1e3])
    ax.set_ylabel("ms per forward")
    ax.set_title(f"Sequence parallel: {sp['speedup']:.2f}x")
    ax = axes[5]
    runs = {"session 9": session9["profile"], "session 10": session10["profile"],
            "session 11": session11["profile"], "session 12": step["profile"],
            "session 17 (tail split)": json.loads((RESULTS / "step_session17_run1.json").read_text())["profile"]}
    families = ("self_attention", "gemm", "fused_elementwise", "other")
    for p in runs.values():  # session 12's run filed residual_norm_kernel under "other"; it is element-wise
        moved = p["top_kernels_ms"].get("residual_norm_kernel", 0.0)
        fams = p["ms_per_step_by_family"]
        if moved and fams.get("other", 0.0) >= moved:
            fams["other"] -= moved
            fams["fused_elementwise"] += moved
    left = [0.0] * len(runs)
    for fam, color in zip(families, ("tab:green", "tab:blue", "tab:red", "tab:gray")):
        widths = [p["ms_per_step_by_family"].get(fam, 0.0) for p in runs.values()]
        ax.barh(list(runs), widths, left=left, color=color, label=fam.replace("_", " "))
        for i, (x, w) in enumerate(zip(left, widths)):
            if w > 10:
                ax.text(x + w / 2, i, f"{w:.0f}", ha="center", va="center", fontsize=8, color="w")
        left = [a + b for a, b in zip(left, widths)]
    ax.set_xlabel("GPU ms per step by kernel family (torch.profiler, ours compiled, FA4)")
    ax.set_title("Where a step goes: attention (self + cross), GEMMs, the rest")
    ax.set_ylim(-0.5, 5.0)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    fig.tight_layout()
    fig.savefig(RESULTS / "dit_gpu.png", dpi=110, bbox_inches="tight")  # long bar labels: keep every title
    step_levers_figure()


def step_levers_figure() -> None:
    """Fidelity against steps run in full: the trained DiT against the same network with random weights
    (bench_step_levers.py), and the cache plans replayed at the Wan size (bench_video_fast.py --plan)."""
    levers = json.loads((RESULTS / "step_levers.json").read_text())["summary"]["video"]
    summary = json.loads((RESULTS / "summary.json").read_text())
    fig, ax = plt.subplots(figsize=(8, 5))
    for weights, style in (("trained", "-"), ("random", "--")):
        table = levers[weights]
        for kind, color in (("cache_", "tab:green"), ("steps_", "tab:gray")):
            keys = sorted((k for k in table if k.startswith(kind)), key=lambda k: table[k]["full_forwards_max"])
            x = [table[k]["full_forwards_max"] for k in keys]
            med = [min(table[k]["latent_psnr_db_median"], 70) for k in keys]  # inf: the cache never skipped
            low = [min(table[k]["latent_psnr_db_min"], 70) for k in keys]
            name = "first-block cache" if kind == "cache_" else "fewer steps"
            ax.plot(x, med, style, color=color, marker="o", label=f"{weights} weights, {name} (median of 6 prompts)")
            ax.plot(x, low, style, color=color, marker="v", alpha=0.5, lw=0.8, label=f"{weights}, {name} (worst prompt)")
    # session 17: the same cache, the skipped calls' residual extrapolated half a step (bench_step_levers --extrapolate)
    moved = json.loads((RESULTS / "step_levers_extrapolate.json").read_text())["summary"]["video"]["trained"]
    keys = sorted((k for k in moved if k.endswith("_x0.5")), key=lambda k: moved[k]["full_forwards_max"])
    x = [moved[k]["full_forwards_max"] for k in keys]
    ax.plot(x, [moved[k]["latent_psnr_db_median"] for k in keys], "-", color="tab:blue", marker="o",
            label="trained, cache + residual extrapolated x0.5 (median)")
    ax.plot(x, [moved[k]["latent_psnr_db_min"] for k in keys], "-", color="tab:blue", marker="v", alpha=0.5, lw=0.8,
            label="trained, cache + extrapolated (worst prompt)")
    for lever, by_seed in summary["video_levers"].items():
        if "plan" not in lever or not lever.startswith("fp8"):
            continue
        marker = "D" if "_plan_interval2_" in lever else "s"
        for seed, rs in by_seed.items():
            for r in rs:
                ax.plot(r["full_calls"], r["psnr_db"], marker, color="tab:red" if seed == "7" else "tab:purple", ms=7,
                        mfc="none" if "_x" in lever else None)
    ax.plot([], [], "s", color="tab:red", label="Wan size, random weights, fp8 attention + the trained plan (seed 7)")
    others = ", ".join(sorted({s for by_seed in summary["video_levers"].values() for s in by_seed} - {"7"}))
    ax.plot([], [], "s", color="tab:purple", label=f"the same, seeds {others} (open: residual extrapolated)")
    ax.plot([], [], "D", color="tab:purple", label="the same, static interval-2 plan (every other call)")
    ax.axhline(30, color="k", lw=0.8)
    ax.set_xlim(10, 52)
    ax.annotate("random weights: the cache\nnever skips a call", (50, 70), (41, 60), fontsize=8,
                arrowprops={"arrowstyle": "->", "lw": 0.7})
    ax.text(10.5, 30.5, "30 dB bar", fontsize=8)
    ax.set_xlabel("network calls run in full, of 50 (DPM-Solver++ 2M, guidance 5)")
    ax.set_ylabel("latent PSNR vs the exact 50-step video, dB (70 = identical)")
    ax.set_title("Step levers: the trained DiT keeps its video, random weights need every other call\n"
                 "(Wan size: the trained plan 24-32 dB by seed; interval-2 plans >= 30.2 dB on seeds 7-9)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_ylim(10, 100)
    ax.set_yticks(range(10, 80, 10))
    fig.tight_layout()
    fig.savefig(RESULTS / "step_levers.png", dpi=110)


def attention_kernels() -> dict[str, float]:
    """TFLOP/s at batch 1 from the three bench_attention.py runs (each kernel's best config), FlashInfer's
    run (bench_flashinfer.py) and session 11's FA4 tile sweep (bench_step.py --fa4-sweep)."""
    triton_run = json.loads((RESULTS / "attention_triton_sweep.json").read_text())["batches"]["1"]
    jax_run = json.loads((RESULTS / "attention_jax_mosaic.json").read_text())["batches"]["1"]
    fa4_run = json.loads((RESULTS / "attention_fa4.json").read_text())["batches"]["1"]
    flashinfer = json.loads((RESULTS / "attention_flashinfer_fa3.json").read_text())
    sweep = json.loads((RESULTS / "step_session11_run1_sweeps.json").read_text())["fa4_sweep"]["settings"]
    fp8 = json.loads((RESULTS / "fp8_attention.json").read_text())["rows"]
    best_triton = max((r["tflops"] for n, r in triton_run.items() if n.startswith("triton") and "tflops" in r))
    jax_best = max(r.get("tflops", 0) for r in jax_run["jax_mosaic_fa3_n32768"].values())
    return {"torch SDPA FlashAttention-2": triton_run["sdpa_flash"]["tflops"],
            "ours, Triton (best of 13 tiles)": best_triton,
            "torch SDPA cuDNN": triton_run["sdpa_cudnn"]["tflops"],
            "JAX Mosaic FA3 (fp16, 32,768)": jax_best,
            "FlashAttention-4 SM90 (FA4), 128x128": fa4_run["fa4_128x128_rs"]["tflops"],
            "FlashInfer FA3 port (session 11)": flashinfer["rows"]["self"]["flashinfer_fa3"]["tflops"],
            "FA4, 192x128 tiles (session 11)": sweep["192x128"]["tflops"],
            "fp8 (e4m3), FlashInfer FA3, with quantization (s. 13)": fp8["fp8_path_compiled"]["tflops"]}


if __name__ == "__main__":
    main()
