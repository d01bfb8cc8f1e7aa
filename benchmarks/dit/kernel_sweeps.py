"""Single-kernel timings bench_step.py runs before the whole step, each choosing a setting the model
then uses: torch's SDPA backends on one layer's self-attention; the fused q/k RMSNorm + RoPE kernel
against torch.compile's (generation/dit/qk_norm_rope.py); FlashAttention-4's SM90 tile settings for
the self-attention and, with cuDNN beside them, for the cross-attention onto 512 text tokens
(generation/dit/fa4_attention.py)."""

from __future__ import annotations

import torch
from common import WAN, attention_flops, cuda_time, interleaved, rel_err
from torch.nn.attention import SDPBackend, sdpa_kernel

from generation.dit import fa4_attention, qk_norm_rope

BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
            "efficient": SDPBackend.EFFICIENT_ATTENTION}


def attention_alone(backend: str, reps: int) -> dict:
    """Self-attention of one layer (12 heads x 128, 32,760 tokens) through one SDPA backend."""
    c, t, h, w = WAN["latent"]
    n = t * (h // 2) * (w // 2)
    q, k, v = (torch.randn(1, WAN["heads"], n, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    with sdpa_kernel(BACKENDS[backend]):
        r = cuda_time(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), reps=reps)
    r["tflops"] = attention_flops() / r["median_s"] / 1e12
    return r


def qk_norm_rope_alone(model, reps: int) -> dict:
    """One layer's RMSNorm + RoPE of q and k, batch 1: torch.compile of the plain ops vs the Triton
    kernel (generation/dit/qk_norm_rope.py) at 12 launch settings, both from the (B, N, 3, h, hd) qkv
    product. Leaves the kernel on (at its best setting) only if it beat the compiled ops."""
    attn, rope = model.blocks[0].attn, model.rope
    _, t, h, w = WAN["latent"]
    n, heads = t * (h // 2) * (w // 2), WAN["heads"]
    qkv = torch.randn(1, n, 3, heads, WAN["width"] // heads, device="cuda", dtype=torch.bfloat16)
    eps = qk_norm_rope.rms_eps(attn.q_norm, qkv.dtype)

    def plain(qkv):
        return rope(attn.q_norm(qkv[:, :, 0])), rope(attn.k_norm(qkv[:, :, 1]))

    def fused(qkv):
        return qk_norm_rope.qk_norm_rope(qkv, attn.q_norm.weight, attn.k_norm.weight, rope.cos, rope.sin, eps)

    def timed(fn) -> dict:
        r = cuda_time(lambda: fn(qkv), reps=reps)
        r["gb_per_s"] = 4 * qkv[:, :, 0].numel() * 2 / r["median_s"] / 1e9  # q, k read once, written once
        return r

    compiled = torch.compile(plain)
    out: dict = {"compiled_plain": timed(compiled), "triton_kernel": {}}
    for rows in (16, 32, 64, 128):
        for warps in (2, 4, 8):
            qk_norm_rope.LAUNCH.update(ROWS=rows, num_warps=warps)
            out["triton_kernel"][f"rows{rows}_warps{warps}"] = timed(fused)
    best = min(out["triton_kernel"], key=lambda c: out["triton_kernel"][c]["median_s"])
    rows, warps = (int(x) for x in best.removeprefix("rows").split("_warps"))
    qk_norm_rope.LAUNCH.update(ROWS=rows, num_warps=warps)
    out["best_launch"] = dict(qk_norm_rope.LAUNCH)
    for name, r in (("compiled_plain", out["compiled_plain"]), (f"triton_kernel {best}", out["triton_kernel"][best])):
        print(f"q/k RMSNorm + RoPE, one layer, {name}: {r['median_s']*1e3:.3f} ms ({r['gb_per_s']:.0f} GB/s)", flush=True)
    qk_norm_rope.USE_ON_CUDA = out["used"] = out["triton_kernel"][best]["median_s"] < out["compiled_plain"]["median_s"]
    a, b = torch.cat(compiled(qkv)), torch.cat(fused(qkv))
    out["rel_err"] = rel_err(b, a)
    return out


FA4_SWEEP = {  # SM90 forward settings tried by --fa4-sweep (FA4's own choice for hdim 128 first)
    # session 10 (results/step_run3_fa4_sweep_no_peer.json): 128x112, 128x144, 128x160 and 128x176 ran
    # 653-670 TFLOP/s against 668 for 128x128. Tried now: 192-row tiles (three MMA warpgroups at 160
    # registers a thread instead of two at 240) and P through shared memory (rs off).
    "192x128": {"tile_mn": (192, 128), "mma_pv_is_rs": False, "intra_wg_overlap": True},
    "128x128_rs": {"tile_mn": (128, 128), "mma_pv_is_rs": True, "intra_wg_overlap": True},
    "192x128_rs": {"tile_mn": (192, 128), "mma_pv_is_rs": True, "intra_wg_overlap": True},
    "192x96_rs": {"tile_mn": (192, 96), "mma_pv_is_rs": True, "intra_wg_overlap": True},
    "192x80_rs": {"tile_mn": (192, 80), "mma_pv_is_rs": True, "intra_wg_overlap": True},
    "128x128": {"tile_mn": (128, 128), "mma_pv_is_rs": False, "intra_wg_overlap": True},
}
CROSS_SWEEP = {  # the same for the cross-attention: 32,760 queries x 512 text keys, and cuDNN's SDPA
    # run 1 of session 11 (results/step_session11_run1_sweeps.json) also tried 128x256 and 64x256 (too
    # much shared memory), 64x128_rs (0.374 ms) and 192x128_rs (0.393); cuDNN ran 0.203 ms
    "128x128": {"tile_mn": (128, 128), "mma_pv_is_rs": False, "intra_wg_overlap": True},
    "128x128_rs": {"tile_mn": (128, 128), "mma_pv_is_rs": True, "intra_wg_overlap": True},
    "128x64_rs": {"tile_mn": (128, 64), "mma_pv_is_rs": True, "intra_wg_overlap": True},
}


def _sweep(settings: dict, kv_len: int, reps: int, cudnn: bool = False) -> tuple[dict, str]:
    """One layer's attention (batch 1, 12 heads x 128, 32,760 queries, tokens-major as the model calls
    it) over kv_len keys through FA4 at each setting (and cuDNN's SDPA with cudnn=True): times and
    TFLOP/s; the fastest setting that agrees with the first."""
    _, t, h, w = WAN["latent"]
    n = t * (h // 2) * (w // 2)
    flops = 4 * n * kv_len * WAN["width"]
    q = torch.randn(1, n, WAN["heads"], 128, device="cuda", dtype=torch.bfloat16)
    k, v = (torch.randn(1, kv_len, WAN["heads"], 128, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    fa4, out, ref = fa4_attention._fa4(), {}, None
    for name, kw in settings.items():
        try:
            o = fa4._flash_attn_fwd(q, k, v, **kw)[0]
            ref = o if ref is None else ref
            r = cuda_time(lambda kw=kw: fa4._flash_attn_fwd(q, k, v, **kw), reps=reps)
            r.update(tflops=flops / r["median_s"] / 1e12, rel_err=rel_err(o, ref))
        except Exception as e:  # a tile the kernel cannot build (registers, shared memory)
            r = {"error": repr(e)[:200]}
        out[name] = r
        print(f"FA4 {name} ({kv_len} keys): " + (f"{r['median_s']*1e3:.3f} ms, {r['tflops']:.0f} TFLOP/s"
                                                 if "tflops" in r else r["error"][:80]), flush=True)
    ok = {k: r for k, r in out.items() if "tflops" in r and r["rel_err"] < 1e-2}
    best = max(ok, key=lambda k: ok[k]["tflops"])
    if cudnn:
        qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))
        with sdpa_kernel(BACKENDS["cudnn"]):
            r = cuda_time(lambda: torch.nn.functional.scaled_dot_product_attention(qt, kt, vt), reps=reps)
        out["sdpa_cudnn"] = dict(r, tflops=flops / r["median_s"] / 1e12)
        print(f"SDPA cuDNN ({kv_len} keys): {r['median_s']*1e3:.3f} ms", flush=True)
    return out, best


def fa4_sweep(reps: int) -> dict:
    """Self-attention through FA4 at each FA4_SWEEP setting; sets fa4_attention.SM90_TILES to the fastest."""
    _, t, h, w = WAN["latent"]
    out, best = _sweep(FA4_SWEEP, t * (h // 2) * (w // 2), reps)
    fa4_attention.SM90_TILES = dict(FA4_SWEEP[best])
    return {"settings": out, "best": best}


def cross_sweep(reps: int) -> dict:
    """Cross-attention (512 text keys) through FA4 at each CROSS_SWEEP setting and through cuDNN; sets
    fa4_attention.SM90_SHORT_KV_TILES to the fastest FA4 setting, and says which kernel ("fa4" or
    "sdpa") the model's cross-attention should use."""
    out, best = _sweep(CROSS_SWEEP, WAN["text_len"], reps, cudnn=True)
    fa4_attention.SM90_SHORT_KV_TILES = dict(CROSS_SWEEP[best])
    kernel = "sdpa" if out["sdpa_cudnn"]["median_s"] < out[best]["median_s"] else "fa4"
    print(f"cross-attention kernel: {kernel}", flush=True)
    return {"settings": out, "best": best, "kernel": kernel}


def tail_split_ab(reps: int) -> dict:
    """Self-attention of one layer through the model's op, batch 1 and the CFG batch of 2, with
    fa4_attention.TAIL_SPLIT on and off, timed in turns (the same clocks); the rows the split runs in
    the first launch, and how far its output is from the single launch's. Leaves the flag on."""
    _, t, h, w = WAN["latent"]
    n, heads = t * (h // 2) * (w // 2), WAN["heads"]
    out: dict = {}
    for batch in (1, 2):
        q, k, v = (torch.randn(batch, n, heads, 128, device="cuda", dtype=torch.bfloat16) for _ in range(3))

        def run(split: bool, q=q, k=k, v=v):
            fa4_attention.TAIL_SPLIT = split
            return fa4_attention.fa4_attention(q, k, v)

        turns = interleaved({"split": lambda: run(True), "whole": lambda: run(False)}, reps)
        r = {name: dict(tr, tflops=batch * attention_flops() / tr["median_s"] / 1e12) for name, tr in turns.items()}
        r["split_rows"] = fa4_attention.whole_wave_rows(n, batch * heads, fa4_attention._sm_count(q.device.index),
                                                       fa4_attention.SM90_TILES["tile_mn"][0],
                                                       fa4_attention.SM90_TAIL_TILES["tile_mn"][0])
        r["split_vs_whole"] = r["whole"]["median_s"] / r["split"]["median_s"]
        r["rel_err"] = rel_err(run(True), run(False))
        out[f"b{batch}"] = r
        print(f"FA4 self-attention b{batch}: whole {r['whole']['median_s']*1e3:.3f} ms, tail split at row "
              f"{r['split_rows']} {r['split']['median_s']*1e3:.3f} ms ({r['split_vs_whole']:.3f}x, "
              f"rel err {r['rel_err']:.1e})", flush=True)
    fa4_attention.TAIL_SPLIT = True
    return out
