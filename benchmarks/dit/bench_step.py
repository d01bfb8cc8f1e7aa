"""One denoising step of the Wan-1.3B-like DiT, ours vs diffusers' WanTransformer3DModel, in one run.

    # on the GPU machine, with diffusers (and, for --fa4, FlashAttention-4) carried as wheels (README.md here)
    python3 benchmarks/dit/bench_step.py --out $OUT/step.json
    source benchmarks/dit/fa4_carry.sh install; set +e; cd benchmarks/dit && python3 bench_step.py --fa4 \
        --skip-sdpa-compile --quick --cross-sweep --wide-rows on --profile --interleave 12 --reps 8 \
        --video --video-budget 30 --out $OUT/step.json   # results/step.json (session 11, run 2)

Times one forward (bf16, random weights, batch 1 and batch 2 = CFG in one batch) with CUDA events
(median of --reps after warm-up), for ours eager / compiled with each SDPA backend, with --fa4 also
with FlashAttention-4's self-attention (the MLP's GELU in or out of the GEMM epilogue, the
cross-attention on FA4 or SDPA: the faster of each compiled), and for diffusers eager / compiled; counts matmul FLOPs and reports MFU against a bf16
matmul measured in the same run; checks compiled == eager within bf16 tolerance; --profile splits a
step's GPU time by kernel family. First times one layer's q/k RMSNorm + RoPE alone: torch.compile's
kernel against ours (generation/dit/qk_norm_rope.py); the faster is what every variant here runs.
--cross-sweep times the cross-attention (512 keys) on FA4 tiles and cuDNN and uses the faster;
--wide-rows compiles with persistent LayerNorm rows (generation/dit/inductor_tuning.py); --interleave
times ours and diffusers compiled in turns for the headline ratio (both see the same clocks).
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import torch
import torch._inductor.config as inductor_config
from common import (
    WAN,
    attention_flops,
    cuda_time,
    inputs,
    interleaved,
    matmul_ceiling,
    ours,
    rel_err,
    step_flops,
)
from kernel_sweeps import (
    BACKENDS,
    attention_alone,
    cross_sweep,
    fa4_sweep,
    qk_norm_rope_alone,
    tail_split_ab,
)
from torch.nn.attention import sdpa_kernel

from generation.dit import fa4_attention, inductor_tuning, qk_norm_rope, residual_norm
from generation.dit import model as dit_model
from generation.dit.cuda_graphs import GraphedDiT


def diffusers_model(seed: int = 0):
    from diffusers import WanTransformer3DModel

    torch.manual_seed(seed)
    m = WanTransformer3DModel(patch_size=WAN["patch"], num_attention_heads=WAN["heads"],
                              attention_head_dim=WAN["width"] // WAN["heads"], in_channels=16, out_channels=16,
                              text_dim=WAN["text_dim"], freq_dim=256, ffn_dim=WAN["ffn"], num_layers=WAN["layers"],
                              cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6)
    return m.to("cuda", torch.bfloat16).eval()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="step.json")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--skip-diffusers", action="store_true")
    ap.add_argument("--video", action="store_true", help="then time whole 50-step CFG videos (bench_video.py)")
    ap.add_argument("--skip-sdpa-compile", action="store_true", help="compile ours only with --fa4's kernel")
    ap.add_argument("--video-reference", action="store_true",
                    help="also run the video with the plain ops on cuDNN: the exact result ours is measured against")
    ap.add_argument("--video-budget", type=float, default=150.0,
                    help="seconds after which bench_video skips its remaining fewer-step variants")
    ap.add_argument("--profile", action="store_true", help="kernel-time breakdown of ours' fastest compiled step")
    ap.add_argument("--quick", action="store_true",
                    help="with --fa4: GELU epilogue as chosen before, cross-attention on FA4 unless --cross-sweep "
                         "picks cuDNN (no eager A/Bs), "
                         "no diffusers eager: what fits the last minutes of a device budget")
    ap.add_argument("--fa4-sweep", action="store_true", help="pick FA4's SM90 tile setting by timing FA4_SWEEP first")
    ap.add_argument("--cross-sweep", action="store_true",
                    help="pick FA4's SM90 tile setting for the cross-attention (512 keys) by timing CROSS_SWEEP")
    ap.add_argument("--residual-norm", choices=("off", "on"), default="on",
                    help="the block's in-block residual + LayerNorm steps on generation/dit/residual_norm.py's kernel "
                         "(eager and compiled; the video's plain-ops reference never)")
    ap.add_argument("--wide-rows", choices=("off", "on", "ab"), default="off",
                    help="compile ours with persistent LayerNorm rows (generation/dit/inductor_tuning.py); "
                         "ab: without and with, keep the one whose element-wise kernels take less time")
    ap.add_argument("--interleave", type=int, default=0,
                    help="then time ours' fastest and diffusers compiled in turns, N each: the headline ratio")
    ap.add_argument("--tune-elementwise", action="store_true",
                    help="compile ours with inductor's coordinate-descent tuning of its fused kernels (not the peer)")
    ap.add_argument("--graph", action="store_true",
                    help="with --fa4: also replay the compiled FA4 step as one CUDA graph (generation/dit/cuda_graphs.py); "
                         "the faster of the two is the one timed in turns")
    ap.add_argument("--tail-split", choices=("off", "on", "ab"), default="on",
                    help="FA4's last partial wave in 128-row tiles (fa4_attention.TAIL_SPLIT); ab: time both, "
                         "alone and in the step's turns")
    ap.add_argument("--fa4", action="store_true",
                    help="also time ours with FlashAttention-4's self-attention (generation/dit/fa4_attention.py)")
    args = ap.parse_args()
    residual_norm.USE_ON_CUDA = args.residual_norm == "on"
    fa4_attention.TAIL_SPLIT = args.tail_split != "off"  # read at every call: no recompile to switch
    torch.backends.cuda.matmul.allow_tf32 = True
    res: dict = dict(device=torch.cuda.get_device_name(), torch=torch.__version__, config=WAN,
                     flops_per_step=step_flops(), attention_share=WAN["layers"] * attention_flops() / step_flops(),
                     residual_norm_kernel=residual_norm.USE_ON_CUDA)
    res["matmul_ceiling_tflops"] = ceiling = matmul_ceiling()
    print(f"matmul ceiling {ceiling:.0f} TFLOP/s", flush=True)
    res["attention_alone"] = {}
    for b in BACKENDS:
        try:
            res["attention_alone"][b] = r = attention_alone(b, 20)
            print(f"attention alone {b}: {r['median_s']*1e3:.2f} ms/layer, {r['tflops']:.0f} TFLOP/s", flush=True)
        except Exception as e:  # a backend may refuse this shape/device
            res["attention_alone"][b] = dict(error=repr(e)[:200])

    z, t, text = inputs(2)
    pooled = text.mean(1)
    variants: dict[str, dict] = {}
    outs: dict[str, torch.Tensor] = {}

    def record(name, fn, batch):
        r = cuda_time(fn, reps=args.reps)
        r.update(batch=batch, mfu=step_flops(batch) / r["median_s"] / 1e12 / ceiling)
        variants[name] = r
        print(f"{name:32s} {r['median_s']*1e3:8.1f} ms  MFU {r['mfu']*100:5.1f}%", flush=True)

    model = ours()
    compiled = compiled_ours = None
    with torch.no_grad():
        res["qk_norm_rope_alone"] = qk_norm_rope_alone(model, 50)

    def compile_and_time(label: str):
        """Compile `model` as it stands now; time batch 1 and the CFG batch of 2 as ours_compiled{label}_*."""
        c = torch.compile(model)
        t0 = time.time()
        outs[f"ours_compiled{label}"] = c(z[:1], t[:1], text[:1], pooled[:1]).float()
        res[f"ours{label}_compile_s"] = time.time() - t0
        record(f"ours_compiled{label}_b1", lambda: c(z[:1], t[:1], text[:1], pooled[:1]), 1)
        record(f"ours_compiled{label}_b2_cfg", lambda: c(z, t, text, pooled), 2)
        return c

    dit_model.FUSED_GELU_ON_CUDA = False  # the SDPA variants: the plain block, as in earlier runs
    with torch.no_grad():
        for backend in ("cudnn",) if args.skip_sdpa_compile else ("flash", "cudnn"):
            with sdpa_kernel(BACKENDS[backend]):
                outs[f"ours_eager_{backend}"] = model(z[:1], t[:1], text[:1], pooled[:1]).float()
                record(f"ours_eager_{backend}_b1", lambda: model(z[:1], t[:1], text[:1], pooled[:1]), 1)
        if not args.skip_sdpa_compile:
            # Whole-model compile, as diffusers is compiled below. The SDPA kernel is chosen when the
            # graph is traced, under torch's default priority (cuDNN first on Hopper).
            outs["ours_eager_default"] = model(z[:1], t[:1], text[:1], pooled[:1]).float()
            record("ours_eager_default_b1", lambda: model(z[:1], t[:1], text[:1], pooled[:1]), 1)
            res["ours_cudnn_vs_flash_rel_err"] = rel_err(outs["ours_eager_cudnn"], outs["ours_eager_flash"])
            compiled_ours = compile_and_time("")
            res["ours_compiled_vs_eager_rel_err"] = rel_err(outs["ours_compiled"], outs["ours_eager_default"])
        if args.fa4:
            assert fa4_attention.available("cuda"), "flash-attn-4 not importable here (README.md: carry its wheels)"
            res["fa4_tiles"] = {k: list(v) if isinstance(v, tuple) else v for k, v in fa4_attention.SM90_TILES.items()}
            for block in model.blocks:
                block.attn.kernel = "fa4"
            # the MLP's GELU as a cuBLASLt epilogue or as its own pass, then the cross-attention on FA4
            # or on SDPA: eager A/Bs, the faster of each is compiled
            if args.fa4_sweep:
                res["fa4_sweep"] = fa4_sweep(20)
                res["fa4_tiles"] = {k: list(v) if isinstance(v, tuple) else v
                                    for k, v in fa4_attention.SM90_TILES.items()}
            if args.cross_sweep:
                res["cross_sweep"] = cross_sweep(20)
            if args.tail_split == "ab":
                res["tail_split_alone"] = tail_split_ab(20)
            res["tail_split"] = args.tail_split
            for fused in (True,) if args.quick else (False, True):
                dit_model.FUSED_GELU_ON_CUDA = fused
                name = "ours_eager_fa4" + ("_fused_gelu" if fused else "")
                outs[name] = model(z[:1], t[:1], text[:1], pooled[:1]).float()
                record(name + "_b1", lambda: model(z[:1], t[:1], text[:1], pooled[:1]), 1)
            if args.quick:  # session 10's run 2 chose both (results/step_session10.json); a cross sweep decides the latter
                cross = res["cross_sweep"]["kernel"] if args.cross_sweep else "fa4"
                dit_model.FUSED_GELU_ON_CUDA = res["fused_gelu"] = True
                res["cross_fa4"] = cross == "fa4"
                for block in model.blocks:
                    block.cross.kernel = cross
            else:
                res["fused_gelu_vs_plain_rel_err"] = rel_err(outs["ours_eager_fa4_fused_gelu"], outs["ours_eager_fa4"])
                dit_model.FUSED_GELU_ON_CUDA = res["fused_gelu"] = (
                    variants["ours_eager_fa4_fused_gelu_b1"]["median_s"] < variants["ours_eager_fa4_b1"]["median_s"])
                best_eager = "ours_eager_fa4" + ("_fused_gelu" if res["fused_gelu"] else "")
                for block in model.blocks:
                    block.cross.kernel = "fa4"
                outs["ours_eager_fa4_cross_fa4"] = model(z[:1], t[:1], text[:1], pooled[:1]).float()
                record("ours_eager_fa4_cross_fa4_b1", lambda: model(z[:1], t[:1], text[:1], pooled[:1]), 1)
                res["cross_fa4_vs_sdpa_rel_err"] = rel_err(outs["ours_eager_fa4_cross_fa4"], outs[best_eager])
                res["cross_fa4"] = (variants["ours_eager_fa4_cross_fa4_b1"]["median_s"]
                                    < variants[best_eager + "_b1"]["median_s"])
                if not res["cross_fa4"]:
                    for block in model.blocks:
                        block.cross.kernel = "sdpa"
            if args.tune_elementwise:
                inductor_config.coordinate_descent_tuning = res["tune_elementwise"] = True
            torch._dynamo.reset()  # the kernel choice is part of the traced graph
            if args.wide_rows == "on":
                inductor_tuning.use_wide_row_reductions(True)
                res["wide_rows"] = True
            if args.wide_rows == "ab":
                # the same graph twice: inductor's cache would hand the second compile the first's kernels
                inductor_config.fx_graph_cache = False
            compiled_fa4 = compile_and_time("_fa4")
            if args.wide_rows == "on":
                inductor_tuning.use_wide_row_reductions(False)  # the peer compiles with the defaults
            if args.wide_rows == "ab":
                # The change touches only the fused element-wise kernels, so their summed time per step
                # (profiler) decides: a 1% step difference is within the run-to-run spread of the medians.
                def elementwise_ms(fn):
                    prof = kernel_breakdown(lambda: fn(z[:1], t[:1], text[:1], pooled[:1]))
                    return prof, prof["ms_per_step_by_family"].get("fused_elementwise", 0.0)

                res["profile_default_rows"], default_ms = elementwise_ms(compiled_fa4)
                inductor_tuning.use_wide_row_reductions(True)
                torch._dynamo.reset()
                compiled_fa4 = compile_and_time("_fa4_wide_rows")
                res["profile_wide_rows"], wide_ms = elementwise_ms(compiled_fa4)
                res["wide_rows_vs_default_rel_err"] = rel_err(outs["ours_compiled_fa4_wide_rows"], outs["ours_compiled_fa4"])
                res["wide_rows"] = wide_ms < default_ms
                print(f"element-wise kernels per step: default {default_ms:.1f} ms, wide rows {wide_ms:.1f} ms", flush=True)
                if not res["wide_rows"]:  # the reset dropped the default graph: compile it again
                    inductor_tuning.use_wide_row_reductions(False)
                    torch._dynamo.reset()
                    compiled_fa4 = torch.compile(model)
                    for batch in (2, 1):  # compile both shapes now, with the default heuristics
                        compiled_fa4(z[:batch], t[:batch], text[:batch], pooled[:batch])
                inductor_tuning.use_wide_row_reductions(False)  # the peer compiles with the defaults
                fa4_variant = "ours_compiled_fa4" + ("_wide_rows" if res["wide_rows"] else "")
                print(f"wide rows: {res['wide_rows']} (rel err vs default {res['wide_rows_vs_default_rel_err']:.4f})",
                      flush=True)
            inductor_config.coordinate_descent_tuning = False  # the peer compiles with the defaults
            first_fa4 = "ours_eager_fa4_fused_gelu" if args.quick else "ours_eager_fa4"
            res["ours_fa4_vs_cudnn_eager_rel_err"] = rel_err(outs[first_fa4], outs["ours_eager_cudnn"])
            res["ours_compiled_fa4_vs_cudnn_eager_rel_err"] = rel_err(outs["ours_compiled_fa4"],
                                                                      outs["ours_eager_cudnn"])
            fa4_b1 = (fa4_variant if args.wide_rows == "ab" else "ours_compiled_fa4") + "_b1"
            if compiled_ours is None or (variants[fa4_b1]["median_s"] < variants["ours_compiled_b1"]["median_s"]):
                compiled_ours = compiled_fa4  # what --video runs
            if args.graph:
                # The same compiled kernels replayed from one CUDA graph: no launches from the host and
                # no gaps between kernels, one copy of the inputs in and of the output out.
                graphed = GraphedDiT(compiled_fa4)
                outs["ours_graphed_fa4"] = graphed(z[:1], t[:1], text[:1], pooled[:1]).float()
                res["graphed_vs_compiled_fa4_rel_err"] = rel_err(outs["ours_graphed_fa4"], outs["ours_compiled_fa4"])
                record("ours_compiled_fa4_graphed_b1", lambda: graphed(z[:1], t[:1], text[:1], pooled[:1]), 1)
                record("ours_compiled_fa4_graphed_b2_cfg", lambda: graphed(z, t, text, pooled), 2)
                res["graphs_captured"] = graphed.graphs
                if variants["ours_compiled_fa4_graphed_b1"]["median_s"] < variants[fa4_b1]["median_s"]:
                    compiled_ours = graphed
        if args.profile and compiled_ours is not None:
            res["profile"] = kernel_breakdown(lambda: compiled_ours(z[:1], t[:1], text[:1], pooled[:1]))
    save(res, variants, args.out)

    if not args.skip_diffusers:
        import diffusers

        res["diffusers"] = diffusers.__version__
        peer = diffusers_model()
        tl = t * 1000  # diffusers takes timesteps in [0, 1000]
        with torch.no_grad():
            if not args.quick:
                record("diffusers_eager_b1", lambda: peer(z[:1], tl[:1], text[:1], return_dict=False)[0], 1)
            compiled = torch.compile(peer)
            t0 = time.time()
            compiled(z[:1], tl[:1], text[:1], return_dict=False)
            res["diffusers_compile_s"] = time.time() - t0
            record("diffusers_compiled_b1", lambda: compiled(z[:1], tl[:1], text[:1], return_dict=False)[0], 1)
        best = min((v for v in variants if v.startswith("ours_compiled") and v.endswith("_b1")),
                   key=lambda v: variants[v]["median_s"])
        res["best_ours"] = best
        res["step_ratio_vs_diffusers_compiled"] = variants[best]["median_s"] / variants["diffusers_compiled_b1"]["median_s"]
        if "diffusers_eager_b1" in variants:
            res["step_ratio_vs_diffusers_eager"] = variants[best]["median_s"] / variants["diffusers_eager_b1"]["median_s"]
        res["step_mfu"] = variants[best]["mfu"]
        if args.interleave and compiled_ours is not None:
            def ours_step(split: bool):
                fa4_attention.TAIL_SPLIT = split
                return compiled_ours(z[:1], t[:1], text[:1], pooled[:1])

            fns = {"ours": lambda: ours_step(args.tail_split != "off"),
                   "diffusers_compiled": lambda: compiled(z[:1], tl[:1], text[:1], return_dict=False)}
            if args.tail_split == "ab":  # the same compiled model with the attention in one launch
                fns["ours_no_tail_split"] = lambda: ours_step(False)
            with torch.no_grad():
                turns = interleaved(fns, args.interleave)
                if args.tail_split == "ab":
                    res["tail_split_step_rel_err"] = rel_err(ours_step(True).float(), ours_step(False).float())
            fa4_attention.TAIL_SPLIT = args.tail_split != "off"
            if args.tail_split == "ab":
                res["step_ratio_no_tail_split"] = (turns["ours_no_tail_split"]["median_s"]
                                                   / turns["diffusers_compiled"]["median_s"])
                print(f"in turns: ours without the tail split {turns['ours_no_tail_split']['median_s']*1e3:.1f} ms, "
                      f"ratio {res['step_ratio_no_tail_split']:.3f}", flush=True)
            ratio = turns["ours"]["median_s"] / turns["diffusers_compiled"]["median_s"]
            res["interleaved"] = dict(turns, ours_variant=best, ratio=ratio)
            res["step_ratio_sequential"] = res["step_ratio_vs_diffusers_compiled"]
            res["step_ratio_vs_diffusers_compiled"] = ratio
            res["step_mfu"] = step_flops() / turns["ours"]["median_s"] / 1e12 / ceiling
            print(f"in turns, {args.interleave} each: ours {turns['ours']['median_s']*1e3:.1f} ms, diffusers compiled "
                  f"{turns['diffusers_compiled']['median_s']*1e3:.1f} ms: ratio {ratio:.3f}", flush=True)
        print(f"best ours {best}: ratio vs diffusers compiled {res['step_ratio_vs_diffusers_compiled']:.3f}, "
              f"MFU {res['step_mfu']*100:.1f}%", flush=True)
    save(res, variants, args.out)
    if args.video:
        import bench_video

        res["video"] = {}
        def reference():
            """The exact bf16 result's model: the plain ops (SDPA, separate GELU, q/k norm by torch),
            compiled. Built last: the flags below are read when a graph is traced."""
            plain = copy.deepcopy(model)
            for block in plain.blocks:
                block.attn.kernel = block.cross.kernel = "sdpa"
            dit_model.FUSED_GELU_ON_CUDA = qk_norm_rope.USE_ON_CUDA = residual_norm.USE_ON_CUDA = False
            torch._dynamo.reset()
            return torch.compile(plain)

        bench_video.run(compiled_ours, None if args.skip_diffusers else compiled, res["video"],
                        lambda: save(res, variants, args.out), budget_s=args.video_budget,
                        reference=reference if args.video_reference else None)
        save(res, variants, args.out)


def kernel_breakdown(step, steps: int = 2) -> dict:
    """GPU time per step by kernel family (torch.profiler), and the 25 costliest kernels."""
    from torch.profiler import ProfilerActivity, profile

    step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    kernels = {}
    for e in prof.key_averages():
        if e.device_time_total > 0:
            kernels[e.key] = kernels.get(e.key, 0.0) + e.device_time_total / 1e3 / steps  # ms per step
    families = {"self_attention": ("flash", "fmha", "cudnn", "attention", "sdpa"),
                "gemm": ("gemm", "nvjet", "xmma", "cutlass", "sm90_", "matmul", "mm_"),
                "fused_elementwise": ("triton_", "norm_rope_kernel", "residual_norm_kernel")}
    by_family: dict[str, float] = {}
    for name, ms in kernels.items():
        low = name.lower()
        fam = next((f for f, keys in families.items() if any(k in low for k in keys)), "other")
        by_family[fam] = by_family.get(fam, 0.0) + ms
    top = sorted(kernels.items(), key=lambda kv: -kv[1])[:25]
    print("per-step GPU ms by family:", {k: round(v, 1) for k, v in by_family.items()}, flush=True)
    return {"ms_per_step_by_family": by_family, "top_kernels_ms": dict(top)}


def save(res: dict, variants: dict, path: str) -> None:
    res["variants"] = variants
    with open(path, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
