"""Where the compiled Wan-size step's non-attention time goes, kernel by kernel (issue 9's levers).

    python3 benchmarks/dit/probe_step_kernels.py --out probe.json    # on the GPU machine (~1 min)

1. The fused residual + LayerNorm kernel (generation/dit/residual_norm.py) alone, both of the block's
   variants, over launch settings, against torch.compile of the same ops, with its error against
   the eager ops. One call per CUDA-event pair: host overhead is in these times; (2) has the kernel's.
2. One DiT block (the 1.3B config, cuDNN attention) compiled with wide-row reductions
   (inductor_tuning.py), without and with that kernel: every reduction inductor generates (row width,
   reduction hint, persistent or looped) and every kernel's time a call (torch.profiler).
3. GEMMs: the step's four product shapes (qkv, a 1536-wide projection, the MLP's first product with
   its tanh-GELU and the second), cuBLASLt as the compiled step calls it against other ways to reach
   cuBLAS(Lt) (no bias, transposed, padded rows, cuBLAS), timed in turns; --triton-gemm adds
   inductor's max-autotune Triton templates, --quack quack's CuTe-DSL GEMMs (minutes of tuning each).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import WAN, interleaved, randomize_, wan_config

from generation.dit import inductor_tuning, residual_norm
from generation.dit.model import DiTBlock, Rope3D

DECISIONS: list[dict] = []


class RecordingChoices(inductor_tuning.WideRowReductions):
    def should_use_persistent_reduction(self, features, cooperative_reduction: bool) -> bool:
        persistent = super().should_use_persistent_reduction(features, cooperative_reduction)
        DECISIONS.append({"numel": str(features.numel), "reduction_numel": str(features.reduction_numel),
                              "hint": str(features.get_reduction_hint()), "cooperative": cooperative_reduction,
                              "persistent": persistent})
        return persistent


def block_probe(fused_residual_norm: bool) -> dict:
    """fused_residual_norm: the block's two in-block residual + LayerNorm steps on residual_norm.py's
    kernel (True) or left to inductor (False)."""
    from torch._inductor.virtualized import V

    torch._dynamo.reset()
    DECISIONS.clear()
    residual_norm.USE_ON_CUDA = fused_residual_norm
    from torch.profiler import ProfilerActivity, profile

    cfg = wan_config()
    block = randomize_(DiTBlock(cfg)).to("cuda", torch.bfloat16).eval()
    rope = Rope3D(cfg.width // cfg.heads, cfg.grid, cfg.rope_split).cuda()
    n = cfg.tokens
    g = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(1, n, cfg.width, device="cuda", dtype=torch.bfloat16, generator=g)
    cond6 = torch.randn(1, 6, cfg.width, device="cuda", dtype=torch.bfloat16, generator=g) * 0.1
    text = torch.randn(1, WAN["text_len"], WAN["text_dim"], device="cuda", dtype=torch.bfloat16, generator=g)
    V.set_choices_handler(RecordingChoices())
    compiled = torch.compile(block)
    t0 = time.time()
    with torch.no_grad():
        compiled(x, cond6, text, None, rope)
        compile_s = time.time() - t0
        inductor_tuning.use_wide_row_reductions(False)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                compiled(x, cond6, text, None, rope)
            torch.cuda.synchronize()
    kernels = {}
    for e in prof.key_averages():
        if e.device_time_total > 0:
            kernels[e.key] = {"us_per_call": e.device_time_total / e.count, "calls_per_block": e.count / 5}
    hidden_mb = n * cfg.width * 2 / 1e6
    print(f"block compiled in {compile_s:.0f} s; the hidden state is {hidden_mb:.0f} MB", flush=True)
    for d in DECISIONS:
        print("reduction:", d, flush=True)
    for k, v in sorted(kernels.items(), key=lambda kv: -kv[1]["us_per_call"] * kv[1]["calls_per_block"]):
        print(f"{v['us_per_call']:9.1f} us x {v['calls_per_block']:.0f}  {k[:110]}", flush=True)
    total = sum(v["us_per_call"] * v["calls_per_block"] for v in kernels.values())
    print(f"block GPU time: {total:.0f} us (fused residual + norm: {fused_residual_norm})", flush=True)
    return {"compile_s": compile_s, "hidden_state_mb": hidden_mb, "reductions": list(DECISIONS), "kernels": kernels,
            "gpu_us_per_block": total}


GEMM_SHAPES = {"proj_1536": (1536, 1536, False), "qkv": (1536, 4608, False), "mlp_in_gelu": (1536, 8960, True),
               "mlp_out": (8960, 1536, False)}


def gemm_variants(x, w, b, gelu: bool) -> dict:
    """Ways to compute linear(x, w, b) (then tanh-GELU) that may pick other cuBLASLt kernels."""
    m = x.shape[0]
    padded = torch.zeros(-(-m // 256) * 256, x.shape[1], device=x.device, dtype=x.dtype)
    padded[:m] = x

    def act(y):
        return F.gelu(y, approximate="tanh") if gelu else y

    def lib(name, fn):
        def go():
            torch.backends.cuda.preferred_blas_library(name)
            try:
                return fn()
            finally:
                torch.backends.cuda.preferred_blas_library("cublaslt")
        return go

    fused = (lambda: torch._addmm_activation(b, x, w.t(), use_gelu=True)) if gelu else (lambda: F.linear(x, w, b))
    return {"linear_bias (as compiled)": fused,
            "mm_then_bias": lambda: act(torch.mm(x, w.t()) + b),
            "mm_no_bias": lambda: torch.mm(x, w.t()),
            "swapped_mm_no_bias": lambda: torch.mm(w, x.t()),  # the same product, transposed
            "rows_padded_to_256": lambda: act(F.linear(padded, w, b)),
            "cublas_not_lt": lib("cublas", lambda: act(F.linear(x, w, b)))}


def quack_variant(x, w, b, gelu: bool):
    """quack's CuTe-DSL GEMM (quack-kernels, carried with FA4: fa4_carry.sh), autotuned over its SM90
    tile configs on first call (JIT: minutes), bias and tanh-GELU in its epilogue."""
    from quack.gemm_interface import gemm, gemm_act

    if gelu:
        return lambda: gemm_act(x, w.t(), bias=b, activation="gelu_tanh_approx", store_preact=False, tuned=True)[1]
    return lambda: gemm(x, w.t(), bias=b, tuned=True)


def gemm_probe(reps: int, triton: bool, quack: bool = False, save=lambda out: None) -> dict:
    """cuBLASLt as the step calls it against other ways to reach cuBLAS(Lt), and optionally
    inductor's max-autotune Triton templates (session 12, first run: slower at every shape)."""
    from torch._inductor import config as inductor_config

    m = wan_config().tokens
    out = {}
    for name, (k, n, gelu) in GEMM_SHAPES.items():
        g = torch.Generator(device="cuda").manual_seed(k + n)
        x = torch.randn(m, k, device="cuda", dtype=torch.bfloat16, generator=g)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16, generator=g) / k ** 0.5
        b = torch.randn(n, device="cuda", dtype=torch.bfloat16, generator=g) * 0.02
        fns = gemm_variants(x, w, b, gelu)
        if triton:
            def plain(x, w, b, gelu=gelu):
                y = F.linear(x, w, b)
                return F.gelu(y, approximate="tanh") if gelu else y

            torch._dynamo.reset()
            with inductor_config.patch(max_autotune=True, max_autotune_gemm_backends="TRITON"):
                triton_mm = torch.compile(plain, dynamic=False)
                triton_mm(x, w, b)
            fns["triton_autotuned"] = functools.partial(triton_mm, x, w, b)
        errors = {}
        if quack:
            try:
                fn = quack_variant(x, w, b, gelu)
                got, want = fn().float(), fns["linear_bias (as compiled)"]().float()
                errors["quack_rel_err"] = float((got - want).norm() / want.norm())
                fns["quack_tuned"] = fn
            except Exception as exc:  # noqa: BLE001 - not importable here, or no config for this shape
                errors["quack_error"] = repr(exc)[:300]
        times = interleaved(fns, reps)
        flops = 2 * m * k * n
        out[name] = {kind: {"ms": v["median_s"] * 1e3, "tflops": flops / v["median_s"] / 1e12}
                     for kind, v in times.items()}
        out[name].update(errors)
        print(name + ": " + ", ".join(f"{kind} {v['tflops']:.0f}" for kind, v in out[name].items()
                                      if isinstance(v, dict)) + " TFLOP/s", errors, flush=True)
        save(out)  # each shape as it finishes: quack's tuning can run into a call's time limit
    return out


def residual_norm_probe(reps: int) -> dict:
    """The fused residual + LayerNorm kernel (generation/dit/residual_norm.py) at the Wan shape, both
    of the block's variants, over launch settings, against torch.compile of the same ops."""
    cfg = wan_config()
    n, w = cfg.tokens, cfg.width
    g = torch.Generator(device="cuda").manual_seed(3)

    def r(*shape, s=1.0):
        return torch.randn(*shape, device="cuda", dtype=torch.bfloat16, generator=g) * s

    x, y = r(1, n, w), r(1, n, w)
    gate, shift, scale, weight, bias = r(1, w, s=0.3), r(1, w, s=0.3), r(1, w, s=0.3), 1 + r(w, s=0.1), r(w, s=0.1)
    cases = {"gate_affine (after self-attention)": (x, y, gate, weight, bias, None, None, 1e-6),
             "modulate (after cross-attention)": (x, y, None, None, None, shift, scale, 1e-6)}
    compiled = torch.compile(residual_norm.reference)
    out = {}
    for name, args in cases.items():
        ref_x, ref_h = residual_norm.reference(*args)
        fns = {"torch.compile": functools.partial(compiled, *args)}
        errs = {}
        for rows, warps in ((1, 4), (1, 8), (2, 4), (2, 8), (4, 8), (4, 16)):
            def fused(rows=rows, warps=warps, args=args):
                residual_norm.LAUNCH.update(ROWS=rows, num_warps=warps)
                return residual_norm.residual_norm(*args)
            fns[f"fused rows={rows} warps={warps}"] = fused
            fx, fh = fused()
            errs[f"{rows}x{warps}"] = max(float((fx.float() - ref_x.float()).abs().max()),
                                           float((fh.float() - ref_h.float()).abs().max()))
        times = interleaved(fns, reps)
        moved = 4 * x.numel() * x.element_size()
        out[name] = {k: {"us": v["median_s"] * 1e6, "tb_per_s": moved / v["median_s"] / 1e12} for k, v in times.items()}
        out[name]["max_abs_err_vs_eager"] = errs
        print(name + ": " + ", ".join(f"{k} {v['us']:.1f} us" for k, v in out[name].items() if "us" in v), flush=True)
        print("  max |err| vs eager ops:", errs, flush=True)
    residual_norm.LAUNCH.update(ROWS=2, num_warps=8)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="probe.json")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--skip-gemm", action="store_true")
    ap.add_argument("--skip-block", action="store_true")
    ap.add_argument("--triton-gemm", action="store_true", help="also inductor's max-autotune Triton templates")
    ap.add_argument("--quack", action="store_true",
                    help="also quack's autotuned CuTe-DSL GEMMs (carry FA4's wheels: fa4_carry.sh install)")
    args = ap.parse_args()
    res = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    res["residual_norm"] = residual_norm_probe(args.reps)
    if not args.skip_block:
        res["block"] = block_probe(False)
        res["block_fused_residual_norm"] = block_probe(True)
        residual_norm.USE_ON_CUDA = True
    Path(args.out).write_text(json.dumps(res, indent=1))
    if not args.skip_gemm:
        def save(gemm):
            res["gemm"] = gemm
            Path(args.out).write_text(json.dumps(res, indent=1))
        gemm_probe(args.reps, args.triton_gemm, args.quack, save)
    Path(args.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
