"""The issue's four headline numbers, each from the run that measured it, as one JSON file.

    python benchmarks/dit/summary.py   # -> benchmarks/dit/results/summary.json (no GPU needed)

The step's ratio and MFU come from results/step.json (ours and diffusers compiled timed in turns
when the run has them). The video's ratio and fidelity come from the newest run with a reference
video (the plain-ops result its PSNR is measured against): a run without one measures time only.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# newest first; each a bench_step.py --video run
VIDEO_RUNS = ("step.json", "step_session11.json", "step_session10.json", "step_session9.json")


def main() -> None:
    step = json.loads((RESULTS / "step.json").read_text())
    out = {"step_ratio_vs_diffusers_compiled": step["step_ratio_vs_diffusers_compiled"],
           "step_mfu": step["step_mfu"],
           "step_source": "step.json" + (", in turns (interleaved)" if "interleaved" in step else ""),
           "matmul_ceiling_tflops": step["matmul_ceiling_tflops"]}
    if "step_ratio_sequential" in step:
        out["step_ratio_sequential"] = step["step_ratio_sequential"]
    for name in VIDEO_RUNS:
        video = json.loads((RESULTS / name).read_text()).get("video", {})
        if "reference" in video and math.isfinite(video.get("video_psnr_db", math.inf)):
            out.update(video_ratio_vs_diffusers_compiled=video["video_ratio_vs_diffusers_compiled"],
                       video_psnr_db=video["video_psnr_db"], video_source=name)
            break
    newest = step.get("video", {})
    if out.get("video_source") != "step.json" and "video_ratio_vs_diffusers_compiled" in newest:
        out["video_ratio_newest_time_only"] = newest["video_ratio_vs_diffusers_compiled"]
    (RESULTS / "summary.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
