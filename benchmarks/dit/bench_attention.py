"""Self-attention kernels side by side at the Wan-1.3B step's shape (12 heads x 128, 32,760 tokens, bf16).

    # on the GPU machine
    python3 benchmarks/dit/bench_attention.py --out $OUT/attention.json

Times one layer's self-attention (CUDA events, median after warm-up) through torch's SDPA backends
(cuDNN, FlashAttention-2), our Triton kernel (`generation/dit/flash_attention.py`) over a sweep of
tile configs, and, where the image's JAX has it, JAX's Mosaic-GPU FlashAttention-3 kernel (timed on
its own arrays at 32,768 tokens, a multiple of its tiles: a probe of the ceiling, not a drop-in).
Reports TFLOP/s against a bf16 matmul measured in the same run and each kernel's error against cuDNN.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import torch
from common import WAN, attention_flops, cuda_time, matmul_ceiling, rel_err
from torch.nn.attention import SDPBackend, sdpa_kernel
from triton_attention import flash_attention

CONFIGS = [  # (block_m, block_n, num_warps, num_stages, warp_specialize)
    (128, 128, 8, 2, False), (128, 128, 8, 3, False), (128, 64, 8, 3, False), (128, 64, 4, 3, False),
    (128, 128, 4, 2, False), (64, 128, 4, 3, False), (128, 128, 4, 2, True), (128, 128, 8, 2, True),
    (128, 64, 4, 3, True), (256, 64, 8, 2, False), (256, 128, 8, 2, False),
]

JAX_PROBE = r"""
import json, sys, time
import jax, jax.numpy as jnp
from jax.experimental.pallas.ops.gpu import attention_mgpu as am
n, h, d, b = 32768, 12, 128, int(sys.argv[1])
k1, k2, k3 = jax.random.split(jax.random.key(0), 3)
# fp16: this JAX's kernel fails on bf16 (its output staging is typed fp16); the tensor cores run both at one rate
q, k, v = (jax.random.normal(kk, (b, n, h, d), jnp.float16) for kk in (k1, k2, k3))
res = {}
for bq, bkv, steps in ((64, 128, 2), (64, 128, 4), (64, 64, 2), (64, 256, 2), (128, 128, 2)):
    try:
        cfg = am.TuningConfig(block_q=bq, block_kv=bkv, max_concurrent_steps=steps)
        f = jax.jit(lambda q, k, v: am.attention(q, k, v, cfg))
        f(q, k, v).block_until_ready()
        for _ in range(3):
            f(q, k, v).block_until_ready()
        reps = 20
        t0 = time.perf_counter()
        for _ in range(reps):
            out = f(q, k, v)
        out.block_until_ready()
        s = (time.perf_counter() - t0) / reps
        res[f"{bq}x{bkv}x{steps}"] = dict(median_s=s, tflops=4 * b * n * n * h * d / s / 1e12)
    except Exception as e:
        res[f"{bq}x{bkv}x{steps}"] = dict(error=repr(e)[:300])
print("JSON" + json.dumps(res))
"""


def jax_probe(batch: int) -> dict:
    env = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false")
    try:
        p = subprocess.run([sys.executable, "-c", JAX_PROBE, str(batch)], capture_output=True, text=True,
                           timeout=240, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    for line in p.stdout.splitlines():
        if line.startswith("JSON"):
            return json.loads(line[4:])
    return {"error": (p.stderr or p.stdout)[-800:]}


def fa4_rows(q, k, v, ref, flops, reps) -> dict:
    """FlashAttention-4's CuTe-DSL kernels (flash-attn-4 wheel; its SM90 path on Hopper), on (B, N, H, D) views."""
    from flash_attn.cute import interface as fa4

    rows = {}
    qn, kn, vn = (t.transpose(1, 2) for t in (q, k, v))  # (B, N, H, D) views of the fused qkv
    variants = {
        "fa4_default": {},
        "fa4_128x128_rs": {"tile_mn": (128, 128), "mma_pv_is_rs": True, "intra_wg_overlap": True},
        "fa4_128x176": {"tile_mn": (128, 176), "mma_pv_is_rs": True, "intra_wg_overlap": True},
        "fa4_128x128_nors": {"tile_mn": (128, 128), "mma_pv_is_rs": False, "intra_wg_overlap": True},
    }
    for name, kw in variants.items():
        try:
            def call(kw=kw):
                o = fa4._flash_attn_fwd(qn, kn, vn, **kw)
                return o[0] if isinstance(o, tuple) else o
            t0 = time.perf_counter()
            out = call()
            torch.cuda.synchronize()
            compile_s = time.perf_counter() - t0
            r = cuda_time(call, reps=reps)
            rows[name] = dict(r, tflops=flops / r["median_s"] / 1e12, compile_s=compile_s,
                              rel_err_vs_cudnn=rel_err(out.transpose(1, 2), ref))
            print(name, f"{rows[name]['tflops']:.0f} TFLOP/s err {rows[name]['rel_err_vs_cudnn']:.2e}", flush=True)
        except Exception as e:  # noqa: BLE001 - a config the DSL rejects is a result, not a crash
            rows[name] = {"error": repr(e)[:500]}
            print(name, "failed", repr(e)[:500], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="attention.json")
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--no-jax", action="store_true")
    ap.add_argument("--no-triton", action="store_true")
    ap.add_argument("--fa4", action="store_true", help="also FlashAttention-4 (carry its wheels; README.md)")
    args = ap.parse_args()

    _, t, hh, ww = WAN["latent"]
    n, heads, d = t * (hh // 2) * (ww // 2), WAN["heads"], WAN["width"] // WAN["heads"]
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "tokens": n, "heads": heads,
              "head_dim": d, "matmul_ceiling_tflops": matmul_ceiling(), "batches": {}}
    try:
        import triton
        result["triton"] = triton.__version__
    except ImportError:
        pass
    print(json.dumps({k: v for k, v in result.items() if k != "batches"}), flush=True)
    for b in args.batch:
        g = torch.Generator(device="cuda").manual_seed(b)
        # (B, N, 3, H, D) as the model's fused qkv projection lays them out, viewed (B, H, N, D)
        qkv = torch.randn(b, n, 3, heads, d, device="cuda", dtype=torch.bfloat16, generator=g)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        flops = attention_flops(b)
        rows = {}
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            ref = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        for name, backend in (("sdpa_cudnn", SDPBackend.CUDNN_ATTENTION), ("sdpa_flash", SDPBackend.FLASH_ATTENTION)):
            with sdpa_kernel(backend):
                r = cuda_time(lambda q=q, k=k, v=v: torch.nn.functional.scaled_dot_product_attention(q, k, v),
                              reps=args.reps)
            rows[name] = dict(r, tflops=flops / r["median_s"] / 1e12)
            print(name, b, f"{rows[name]['tflops']:.0f} TFLOP/s", flush=True)
        if args.fa4:
            rows.update(fa4_rows(q, k, v, ref, flops, args.reps))
        for use_tma, configs in () if args.no_triton else ((True, CONFIGS), (False, CONFIGS[:2])):
            for bm, bn, warps, stages, ws in configs:
                name = f"triton_{'tma' if use_tma else 'ptr'}_{bm}x{bn}_w{warps}_s{stages}{'_ws' if ws else ''}"
                kw = {"block_m": bm, "block_n": bn, "num_warps": warps, "num_stages": stages, "warp_specialize": ws,
                          "use_tma": use_tma}
                try:
                    t0 = time.perf_counter()
                    out = flash_attention(q, k, v, **kw).transpose(1, 2)
                    torch.cuda.synchronize()
                    compile_s = time.perf_counter() - t0
                    r = cuda_time(lambda q=q, k=k, v=v, kw=kw: flash_attention(q, k, v, **kw), reps=args.reps)
                    rows[name] = dict(r, tflops=flops / r["median_s"] / 1e12, rel_err_vs_cudnn=rel_err(out, ref),
                                      compile_s=compile_s)
                    print(name, b, f"{rows[name]['tflops']:.0f} TFLOP/s err {rows[name]['rel_err_vs_cudnn']:.2e}",
                          flush=True)
                except Exception as e:  # noqa: BLE001 - a config the compiler rejects (shared memory, registers)
                    rows[name] = {"error": repr(e)[:300]}
                    print(name, b, "failed", repr(e)[:200], flush=True)
        if not args.no_jax:
            rows["jax_mosaic_fa3_n32768"] = jax_probe(b)
            print("jax", b, rows["jax_mosaic_fa3_n32768"], flush=True)
        result["batches"][str(b)] = rows
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
