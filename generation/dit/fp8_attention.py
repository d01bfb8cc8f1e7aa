"""Self-attention in fp8 (e4m3) through FlashInfer's SM90 FlashAttention-3 kernel (issue 9).

Why: self-attention is ~70% of a Wan-size step's FLOPs and Hopper's tensor cores multiply fp8 at
twice the bf16 rate. FA4's fp8 path is for Blackwell only and torch's SDPA has none; FlashInfer's
"fa3" backend (its port of FlashAttention-3) runs q, k and v in e4m3 with one scale per head and
returns bf16. The model asks for it with `DiTConfig(attention="fp8")` (self-attention only: the
cross-attention onto 512 text tokens is <1% of the FLOPs and stays on FA4 or SDPA); elsewhere (no
FlashInfer, not an SM90 GPU, training, not bf16) the block runs the bf16 kernels, the same math.
Install with `pip install -e ".[cuda]"`; FlashInfer builds the kernel with the machine's CUDA toolkit
(nvcc) on its first call for a head size (75 s on the H200) and caches it under ~/.cache/flashinfer.

Scales, so that no pass over q and k is spent finding them: q and k come out of an RMSNorm over the
head dimension (weight w) and RoPE (a rotation of channel pairs), so every element is at most
sqrt(head_dim) * max|w| in size. That bound divided by e4m3's 448 is their scale; e4m3 is a float,
so values far below the bound keep their 3 mantissa bits. v has no bound: one scale per (video,
head) from its absolute maximum. The kernel quantizes P itself (scaled to 448 before the cast).

v is centred before the kernel and its mean added back after (each row of softmax weights sums to
1, so that is exact). Hopper's fp8 tensor cores accumulate with fewer bits than fp32 and FA3 keeps
the output in that accumulator over all keys, so the kernel's error against its own fp32 reference
grows with the keys: 1.0% at 1,024, 1.8% at 4,096, 7.7% at 16,384, 14.3% at 32,760 on a Wan-size
block's q, k, v, whose outputs are 90% v's mean (the part every token shares). Centred, the
accumulator holds only the part that differs: 1.2% against exact attention (cuDNN bf16: 0.17%), at
1.47x cuDNN's speed with the quantization (benchmarks/dit/results/fp8_attention.json).
"""

from __future__ import annotations

import functools
import math

import torch

E4M3_MAX = 448.0  # largest finite float8_e4m3fn
FP8 = torch.float8_e4m3fn
# whether CUDA inference uses the kernel when asked (benchmarks switch it off to time the rest)
USE_ON_CUDA = True


@functools.cache
def _flashinfer():
    try:
        import flashinfer
    except ImportError:
        return None
    return flashinfer


@torch.compiler.assume_constant_result  # traced as its value: no graph break in every block
def _runs_on_gpu(index: int) -> bool:
    if _flashinfer() is None:
        return False
    return torch.cuda.get_device_capability(None if index < 0 else index)[0] == 9  # the kernel is sm90a only


def available(q: torch.Tensor) -> bool:
    """The fp8 kernel applies to q: bf16 on a Hopper GPU with FlashInfer installed, no autograd wanted."""
    if not (USE_ON_CUDA and q.is_cuda and q.dtype == torch.bfloat16 and not torch.is_grad_enabled()):
        return False
    return _runs_on_gpu(-1 if q.device.index is None else q.device.index)


def norm_rope_scale(norm_weight: torch.Tensor, head_dim: int) -> torch.Tensor:
    """The fp32 scale (a 0-dim tensor) that maps every possible RMSNorm(w) + RoPE output into e4m3:
    |x_i| / rms(x) <= sqrt(head_dim), and a rotation of pairs does not grow the largest pair."""
    return norm_weight.detach().abs().max().float() * math.sqrt(head_dim) / E4M3_MAX


def amax_scale(x: torch.Tensor) -> torch.Tensor:
    """x (B, N, H, D) -> the fp32 scale (B, H) of each (video, head): its absolute maximum over 448."""
    return x.abs().amax(dim=(1, 3)).float().clamp(min=1e-12) / E4M3_MAX


def quantize(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (B, N, H, D) and a scale broadcastable to (B, H) -> e4m3 values with x ~ values * scale."""
    if scale.dim() == 2:
        scale = scale[:, None, :, None]
    return (x.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(FP8)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_norm_weight: torch.Tensor,
           k_norm_weight: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(D)) v in fp8 for q, k (B, N, H, D) out of RMSNorm + RoPE and v (B, N, H, D)
    -> (B, N, H, D) bf16. Quantization is plain torch, so torch.compile fuses it with its neighbours."""
    b, _, h, d = q.shape
    scale_q = norm_rope_scale(q_norm_weight, d).expand(b, h).contiguous()
    scale_k = norm_rope_scale(k_norm_weight, d).expand(b, h).contiguous()
    v_mean = v.mean(dim=1, keepdim=True, dtype=torch.float32)  # (B, 1, H, D)
    centred = v.float() - v_mean
    scale_v = amax_scale(centred)
    out = fp8_attention(quantize(q, scale_q), quantize(k, scale_k), quantize(centred, scale_v), scale_q, scale_k,
                        scale_v)
    return (out.float() + v_mean).to(out.dtype)


@torch.library.custom_op("spacetime::fp8_attention", mutates_args=())
def fp8_attention(q8: torch.Tensor, k8: torch.Tensor, v8: torch.Tensor, scale_q: torch.Tensor,
                  scale_k: torch.Tensor, scale_v: torch.Tensor) -> torch.Tensor:
    """e4m3 q8, k8, v8 (B, N, H, D) and their fp32 scales (B, H) -> attention (B, N, H, D) bf16.
    FlashInfer's single-request kernel, once per video (a CFG batch is two long sequences)."""
    fi = _flashinfer()
    outs = [fi.single_prefill_with_kv_cache(q8[i], k8[i], v8[i], scale_q=scale_q[i], scale_k=scale_k[i],
                                            scale_v=scale_v[i], o_dtype=torch.bfloat16, kv_layout="NHD",
                                            causal=False, backend="fa3")
            for i in range(q8.shape[0])]
    return outs[0].unsqueeze(0) if len(outs) == 1 else torch.stack(outs)


@fp8_attention.register_fake
def _(q8, k8, v8, scale_q, scale_k, scale_v):
    return q8.new_empty(q8.shape, dtype=torch.bfloat16)


def reference(q8, k8, v8, scale_q, scale_k, scale_v) -> torch.Tensor:
    """What the kernel computes, in fp32 torch on any device (tests): dequantize, then exact attention."""
    def deq(x8, s):
        return (x8.float() * s[:, None, :, None]).transpose(1, 2)  # (B, H, N, D)
    out = torch.nn.functional.scaled_dot_product_attention(deq(q8, scale_q), deq(k8, scale_k), deq(v8, scale_v))
    return out.transpose(1, 2).to(torch.bfloat16)
