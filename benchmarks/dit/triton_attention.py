"""A FlashAttention forward kernel in Triton for Hopper GPUs: an experiment bench_attention.py measures.

Non-causal, no mask, bf16/fp16 in, fp32 softmax statistics, output in the (B, N, H, D) memory
order the block's output projection reads, so that `out.transpose(1, 2).reshape(B, N, H*D)` is free.
Loads go through tensor-memory descriptors (the TMA engine) with 4-D boxes, so a partial last
block reads zeros past the sequence instead of the next head's rows, and stores are clipped there.

Why it is here: a step of the Wan-size DiT is ~70% self-attention FLOPs, and torch's best SDPA
backend on Hopper (cuDNN) runs it at ~73% of the bf16 matmul ceiling. This plain online-softmax
kernel (TMA loads, wgmma through tl.dot) only matched cuDNN (563 vs 575 TFLOP/s on an H200), so the
model uses FlashAttention-4's kernels instead (generation/dit/fa4_attention.py); the kernel stays as
the measured baseline of what straightforward Triton reaches here.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl
from triton.tools.tensor_descriptor import TensorDescriptor

LOG2E = 1.4426950408889634


@triton.jit
def _online_softmax_step(q, k, v, acc, m_i, l_i, qk_scale, n0, seq_len,
                         MASK_TAIL: tl.constexpr, BLOCK_N: tl.constexpr):
    # q: (BM, D); k, v: (BN, D); acc: (BM, D) fp32; m_i, l_i: (BM,) fp32, base-2 logits
    qk = tl.dot(q, k.T) * qk_scale  # (BM, BN) fp32, already times log2(e)
    if MASK_TAIL:
        cols = n0 + tl.arange(0, BLOCK_N)
        qk = tl.where(cols[None, :] < seq_len, qk, -float("inf"))
    m_new = tl.maximum(m_i, tl.max(qk, 1))
    p = tl.math.exp2(qk - m_new[:, None])
    alpha = tl.math.exp2(m_i - m_new)  # 0 on the first block (m_i = -inf)
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
    return acc, m_new, l_i

@triton.jit
def _flash_fwd_tma(desc_q, desc_k, desc_v, desc_o, seq_len, qk_scale,
                   H: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
                   WARP_SPECIALIZE: tl.constexpr):
    m0 = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    b, h = bh // H, bh % H
    q = desc_q.load([b, h, m0, 0]).reshape(BLOCK_M, HEAD_DIM)
    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    full_end = (seq_len // BLOCK_N) * BLOCK_N
    for n0 in tl.range(0, full_end, BLOCK_N, warp_specialize=WARP_SPECIALIZE):
        k = desc_k.load([b, h, n0, 0]).reshape(BLOCK_N, HEAD_DIM)
        v = desc_v.load([b, h, n0, 0]).reshape(BLOCK_N, HEAD_DIM)
        acc, m_i, l_i = _online_softmax_step(q, k, v, acc, m_i, l_i, qk_scale, n0, seq_len, False, BLOCK_N)
    if full_end < seq_len:  # the partial last block: TMA reads zeros past the end, masked to -inf
        k = desc_k.load([b, h, full_end, 0]).reshape(BLOCK_N, HEAD_DIM)
        v = desc_v.load([b, h, full_end, 0]).reshape(BLOCK_N, HEAD_DIM)
        acc, m_i, l_i = _online_softmax_step(q, k, v, acc, m_i, l_i, qk_scale, full_end, seq_len, True, BLOCK_N)
    out = (acc / l_i[:, None]).to(q.dtype)
    desc_o.store([b, m0, h, 0], out.reshape(1, BLOCK_M, 1, HEAD_DIM))  # rows past seq_len are clipped

@triton.jit
def _flash_fwd_ptr(q_ptr, k_ptr, v_ptr, o_ptr, seq_len, qk_scale,
                   sqb, sqh, sqn, skb, skh, skn, svb, svh, svn, sob, son, soh,
                   H: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr):
    # The same math with plain pointer loads: for GPUs or Triton builds without descriptors,
    # and for a check on CPU under TRITON_INTERPRET=1 (both kernels matched SDPA there to 2.4e-4, fp16).
    m0 = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    b, h = bh // H, bh % H
    rows = m0 + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    q = tl.load(q_ptr + b * sqb + h * sqh + rows[:, None] * sqn + dims[None, :], mask=rows[:, None] < seq_len,
                other=0.0)
    m_i = tl.full([BLOCK_M], -float("inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    for n0 in tl.range(0, seq_len, BLOCK_N):
        cols = n0 + tl.arange(0, BLOCK_N)
        inside = cols[:, None] < seq_len
        k = tl.load(k_ptr + b * skb + h * skh + cols[:, None] * skn + dims[None, :], mask=inside, other=0.0)
        v = tl.load(v_ptr + b * svb + h * svh + cols[:, None] * svn + dims[None, :], mask=inside, other=0.0)
        acc, m_i, l_i = _online_softmax_step(q, k, v, acc, m_i, l_i, qk_scale, n0, seq_len, True, BLOCK_N)
    out = (acc / l_i[:, None]).to(q.dtype)
    tl.store(o_ptr + b * sob + rows[:, None] * son + h * soh + dims[None, :], out, mask=rows[:, None] < seq_len)


def _tma_ready(t: torch.Tensor) -> bool:
    # TMA wants a 16-byte aligned base and 16-byte multiples for every stride but the last
    return t.data_ptr() % 16 == 0 and all(s * t.element_size() % 16 == 0 for s in t.stride()[:-1])


def flash_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, block_m: int = 128, block_n: int = 128,
                    num_warps: int = 8, num_stages: int = 3, warp_specialize: bool = False,
                    use_tma: bool = True) -> torch.Tensor:
    """softmax(q k^T / sqrt(D)) v for q, k, v of shape (B, H, N, D) (any strides, last dim contiguous).

    Returns (B, N, H, D), contiguous: the layout the output projection reads."""
    b, h, n, d = q.shape
    assert k.shape == v.shape == q.shape, "self-attention only: q, k and v of one shape"
    assert d in (64, 128, 256) and q.dtype in (torch.bfloat16, torch.float16)
    q, k, v = (t if t.stride(-1) == 1 else t.contiguous() for t in (q, k, v))
    use_tma = use_tma and all(_tma_ready(t) for t in (q, k, v))
    out = torch.empty(b, n, h, d, device=q.device, dtype=q.dtype)
    qk_scale = LOG2E / math.sqrt(d)
    grid = (triton.cdiv(n, block_m), b * h)
    if use_tma:
        desc = [TensorDescriptor(t, list(t.shape), list(t.stride()), [1, 1, bs, d])
                for t, bs in ((q, block_m), (k, block_n), (v, block_n))]
        desc_o = TensorDescriptor(out, list(out.shape), list(out.stride()), [1, block_m, 1, d])
        _flash_fwd_tma[grid](*desc, desc_o, n, qk_scale, H=h, BLOCK_M=block_m, BLOCK_N=block_n, HEAD_DIM=d,
                             WARP_SPECIALIZE=warp_specialize, num_warps=num_warps, num_stages=num_stages)
    else:
        _flash_fwd_ptr[grid](q, k, v, out, n, qk_scale, q.stride(0), q.stride(1), q.stride(2), k.stride(0),
                             k.stride(1), k.stride(2), v.stride(0), v.stride(1), v.stride(2), out.stride(0),
                             out.stride(1), out.stride(2), H=h, BLOCK_M=block_m, BLOCK_N=block_n, HEAD_DIM=d,
                             num_warps=num_warps, num_stages=num_stages)
    return out
