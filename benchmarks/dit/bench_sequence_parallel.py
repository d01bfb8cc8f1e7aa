"""One Wan-1.3B-like forward on 1 GPU vs split over all GPUs of the host (Ulysses sequence
parallelism, generation/dit/parallel.py), same random weights and inputs, bf16.

    NCCL_NVLS_ENABLE=0 torchrun --nproc-per-node 2 benchmarks/dit/bench_sequence_parallel.py --out sp.json
    # the self-attention kernel of both sides (fa4, fp8: carry their packages as README.md says)
    ... bench_sequence_parallel.py --attention fa4 --out sp_fa4.json

Reports the median step time of each (CUDA events), the speed-up, and the relative error of the
parallel output against the 1-GPU output.
"""

from __future__ import annotations

import argparse
import json
import os

import torch
import torch.distributed as dist

from common import cuda_time, inputs, ours, rel_err, step_flops
from generation.dit.parallel import sequence_parallel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="sp.json")
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--attention", default="sdpa", choices=["sdpa", "fa4", "fp8"],
                    help="self-attention kernel on 1 GPU and on each rank (Ulysses hands it the rank's heads)")
    args = ap.parse_args()
    dist.init_process_group("nccl")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", rank)))
    model = ours(seed=0)  # same seed on every rank: the same weights
    for block in model.blocks:
        block.attn.kernel = args.attention
    z, t, text = inputs(1, seed=1)
    pooled = text.mean(1)
    res: dict = dict(world=world, device=torch.cuda.get_device_name(), flops_per_step=step_flops(),
                     attention=args.attention)
    with torch.no_grad():
        if rank == 0:
            single = model(z, t, text, pooled).float()
            res["one_gpu"] = cuda_time(lambda: model(z, t, text, pooled), reps=args.reps)
        dist.barrier()
        forward = sequence_parallel(model)
        out = forward(z, t, text, pooled).float()

        def sp_step():
            forward(z, t, text, pooled)

        sp = cuda_time(sp_step, reps=args.reps)  # every rank runs it; collectives keep them in step
        dist.barrier()
    if rank == 0:
        res[f"{world}_gpus"] = sp
        res["speedup"] = res["one_gpu"]["median_s"] / sp["median_s"]
        res["rel_err_vs_one_gpu"] = rel_err(out, single)
        print(f"1 GPU {res['one_gpu']['median_s']*1e3:.1f} ms, {world} GPUs {sp['median_s']*1e3:.1f} ms: "
              f"speed-up {res['speedup']:.2f}x, rel err {res['rel_err_vs_one_gpu']:.2e}", flush=True)
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
