"""Shared pieces of the GPU benchmarks: the Wan-1.3B-like config, random weights and inputs,
FLOP counts, CUDA-event timing and the measured matmul ceiling."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere in the repo

from generation.dit.model import DiT, make_config  # noqa: E402

WAN = dict(layers=30, width=1536, heads=12, ffn=8960, latent=(16, 21, 60, 104), patch=(1, 2, 2), text_len=512,
           text_dim=4096)
if os.environ.get("BENCH_SMALL"):  # a seconds-long dry run of the same code paths
    WAN.update(layers=2, latent=(16, 3, 8, 16), text_len=16)


def wan_config(**overrides):
    return make_config("wan-1.3b", depth=WAN["layers"], latent_size=WAN["latent"][1:], text_tokens=WAN["text_len"],
                       **overrides)


def randomize_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere (adaLN-Zero would otherwise zero the gates and the output, and a
    model that outputs zeros times fast and compares equal to anything)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.fill_(1.0)
            elif p.dim() >= 2:
                fan_in = p.shape[-1]
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    return model


def ours(device="cuda", seed: int = 0) -> DiT:
    return randomize_(DiT(wan_config()), seed).to(device=device, dtype=torch.bfloat16).eval()


def inputs(batch: int = 1, device="cuda", seed: int = 1):
    g = torch.Generator(device=device).manual_seed(seed)
    c, t, h, w = WAN["latent"]
    z = torch.randn(batch, c, t, h, w, device=device, generator=g, dtype=torch.bfloat16)
    text = torch.randn(batch, WAN["text_len"], WAN["text_dim"], device=device, generator=g, dtype=torch.bfloat16)
    tt = torch.full((batch,), 0.7, device=device)
    return z, tt, text


def video_inputs(seed: int = 7):
    """The whole-video benchmarks' start: noise (1, C, T, H, W), cond and uncond text (1, L, D),
    and the CFG batch of 2's text and pooled text, all bf16 on the GPU."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    c, t, h, w = WAN["latent"]
    noise = torch.randn(1, c, t, h, w, device="cuda", generator=g, dtype=torch.bfloat16)
    cond = torch.randn(1, WAN["text_len"], WAN["text_dim"], device="cuda", generator=g, dtype=torch.bfloat16)
    uncond = torch.randn_like(cond) * 0.1
    text2 = torch.cat([cond, uncond])
    return noise, cond, uncond, text2, text2.mean(1)


def peer_video(peer, noise, cond, uncond, steps: int, guidance: float) -> torch.Tensor:
    """diffusers' transformer through a whole video as WanPipeline runs it: cond and uncond as two
    forwards a step, Euler on the velocity over timesteps 1000 -> 0."""
    tl = torch.linspace(1000, 0, steps + 1, device=noise.device)
    z = noise.clone()
    for i in range(steps):
        vc = peer(z, tl[i:i + 1], cond, return_dict=False)[0]
        vu = peer(z, tl[i:i + 1], uncond, return_dict=False)[0]
        v = vu + guidance * (vc - vu)
        z = (z.float() + (tl[i + 1] - tl[i]) / 1000 * v.float()).to(torch.bfloat16)
    return z


def step_flops(batch: int = 1) -> float:
    """Matmul FLOPs of one forward (2 per multiply-add), the same ideal count for both models."""
    c, t, h, w = WAN["latent"]
    n = t * (h // 2) * (w // 2)
    d, f, L, tl, td = WAN["width"], WAN["ffn"], WAN["layers"], WAN["text_len"], WAN["text_dim"]
    per_layer = (2 * n * d * 3 * d  # qkv
                 + 4 * n * n * d  # QK^T and PV
                 + 2 * n * d * d  # out proj
                 + 2 * n * d * d + 2 * tl * td * 2 * d + 4 * n * tl * d + 2 * n * d * d  # cross-attention
                 + 2 * 2 * n * d * f)  # MLP
    return batch * (L * per_layer + 2 * n * (c * 4) * d * 2)


def attention_flops(batch: int = 1) -> float:
    """Self-attention FLOPs of ONE layer (QK^T and PV)."""
    c, t, h, w = WAN["latent"]
    n = t * (h // 2) * (w // 2)
    return batch * 4 * n * n * WAN["width"]


def cuda_time(fn, warmup: int = 3, reps: int = 10) -> dict:
    """Median (and spread) in seconds of `fn()` timed with CUDA events after warm-up."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b) / 1000)
    return dict(median_s=statistics.median(times), min_s=min(times), max_s=max(times), reps=reps)


def matmul_ceiling(n: int = 8192) -> float:
    """bf16 TFLOP/s of an n^3 product on random data, rotating 3 input sets (METHOD.md)."""
    sets = [(torch.randn(n, n, device="cuda", dtype=torch.bfloat16), torch.randn(n, n, device="cuda", dtype=torch.bfloat16))
            for _ in range(3)]
    i = [0]

    def mm():
        a, b = sets[i[0] % 3]
        i[0] += 1
        return a @ b

    r = cuda_time(mm, warmup=5, reps=30)
    return 2 * n ** 3 / r["median_s"] / 1e12


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm())


def psnr(a: torch.Tensor, ref: torch.Tensor) -> float:
    """PSNR over the reference's range (peak-to-peak)."""
    a, ref = a.double(), ref.double()
    mse = float(((a - ref) ** 2).mean())
    peak = float(ref.max() - ref.min())
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(peak ** 2 / mse)).item()


def interleaved(fns: dict, reps: int) -> dict:
    """Median seconds of each callable, timed in turns (a, b, a, b, ...) with CUDA events after a
    warm-up of each: both see the same clocks and temperatures, which drift over a run."""
    for fn in fns.values():
        fn()
    times: dict = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            torch.cuda.synchronize()
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            times[name].append(a.elapsed_time(b) / 1000)
    return {name: {"median_s": statistics.median(t), "min_s": min(t), "max_s": max(t), "reps": reps}
            for name, t in times.items()}
