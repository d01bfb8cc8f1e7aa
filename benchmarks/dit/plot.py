"""The GPU benchmarks' figure, from the committed JSON results (no GPU needed).

    python benchmarks/dit/plot.py   # -> benchmarks/dit/results/dit_gpu.png
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
    video = json.loads((RESULTS / "video_fast.json").read_text())
    batching = json.loads((RESULTS / "batching.json").read_text())
    sp = json.loads((RESULTS / "sp.json").read_text())
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))

    ax = axes[0]
    names = [n for n in step["variants"] if n.endswith("_b1")]
    ax.barh(names, [step["variants"][n]["median_s"] * 1e3 for n in names],
            color=["tab:orange" if n.startswith("diffusers") else "tab:blue" for n in names])
    ax.set_xlabel("ms per step (H200, bf16, batch 1)")
    ax.set_title(f"One step, Wan-1.3B config: ours/diffusers {step['step_ratio_vs_diffusers_compiled']:.2f}")

    ax = axes[1]
    runs = video["runs"]
    labels = [*runs, "diffusers compiled"]
    secs = [r["seconds"] for r in runs.values()] + [video["diffusers_compiled_video_s"]]
    bars = ax.barh(labels, secs, color=["tab:blue"] * len(runs) + ["tab:orange"])
    for bar, name in zip(bars, labels):
        r = runs.get(name)
        text = "" if r is None else ("exact" if r["psnr_db"] == float("inf") else f"{r['psnr_db']:.1f} dB")
        if r is not None and "cache" in name:
            text += f", skipped {r['forwards'] - r['full_forwards']}/{r['forwards']} forwards"
        ax.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8)
    ax.set_xlim(0, max(secs) * 1.25)
    ax.set_xlabel("seconds per video (50 steps, CFG)")
    ax.set_title(f"Whole video: best >= 30 dB {video['video_ratio_vs_diffusers_compiled']:.2f}x diffusers")

    ax = axes[2]
    users = list(batching["batched"])
    ax.bar(["seq", *users], [batching["sequential"]["videos_per_hour"]]
           + [batching["batched"][u]["videos_per_hour"] for u in users])
    ax.set_xlabel("concurrent users")
    ax.set_ylabel("videos / hour")
    ax.set_title(f"Dynamic batching (Flatland): {batching['batched'][users[-1]]['speedup_vs_sequential']:.2f}x at "
                 f"{users[-1]}")

    ax = axes[3]
    ax.bar(["1 GPU", "2 GPUs"], [sp["one_gpu"]["median_s"] * 1e3, sp["2_gpus"]["median_s"] * 1e3])
    ax.set_ylabel("ms per forward")
    ax.set_title(f"Sequence parallel: {sp['speedup']:.2f}x")
    fig.tight_layout()
    fig.savefig(RESULTS / "dit_gpu.png", dpi=110)


if __name__ == "__main__":
    main()
