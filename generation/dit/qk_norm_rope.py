"""RMSNorm and 3D RoPE of the self-attention's q and k in one pass over the fused qkv product (CUDA).

Why: at the Wan-1.3B size each block normalizes and rotates 2 x 32,760 tokens x 1536 channels. Left
to torch.compile, that became a looped reduction writing q and k in (B, heads, N, hd) order plus a
copy of v, 16 ms of a 455 ms step (benchmarks/dit/results/step_session9.json, `profile`) against ~3 ms of
memory traffic. This kernel reads q and k once from the (B, N, 3, heads, hd) product, writes them
in the (B, N, heads, hd) order the attention kernels read, and leaves v where it is.

The math is SelfAttention's: RMSNorm over the head dimension (fp32 statistics, rounded to the
input dtype, as torch's rms_norm returns it), then rotation of the pairs (2i, 2i+1) by the token's
angles. Inference only: no autograd. Elsewhere (CPU, training, no Triton) the block keeps its
plain PyTorch ops.
"""

from __future__ import annotations

import functools

import torch

# (token, head) rows of hd channels each program normalizes, and its warps: swept by
# benchmarks/dit/kernel_sweeps.py (qk_norm_rope_alone, run by bench_step.py) at the Wan-1.3B shape on an H200
LAUNCH = {"ROWS": 16, "num_warps": 2}
# whether CUDA inference uses this kernel at all (bench_step.py sets it to what it measured faster)
USE_ON_CUDA = True


@functools.cache
def _kernel():
    try:
        import triton
        import triton.language as tl
    except ImportError:
        return None

    @triton.jit
    def norm_rope_kernel(qkv_ptr, out_ptr, w_ptr, cos_ptr, sin_ptr, part, rows, heads, tokens, eps,
                         HEAD_DIM: tl.constexpr, ROWS: tl.constexpr):
        # program i: rows i*ROWS.. of q (part 0) or k (part 1); a row is one (token, head), hd channels
        r = tl.program_id(0) * ROWS + tl.arange(0, ROWS)  # (ROWS,) over B * N * heads
        live = r < rows
        token = r // heads  # b * N + n
        head = r % heads
        ch = tl.arange(0, HEAD_DIM)
        # int64 offsets: a batch of 16 Wan-size videos holds more than 2^31 qkv elements
        src = token.to(tl.int64) * (3 * heads * HEAD_DIM) + (part * heads + head) * HEAD_DIM
        x = tl.load(qkv_ptr + src[:, None] + ch[None, :], mask=live[:, None], other=0.0).to(tl.float32)
        inv = tl.rsqrt(tl.sum(x * x, axis=1) / HEAD_DIM + eps)  # (ROWS,)
        w = tl.load(w_ptr + ch).to(tl.float32)
        dtype = qkv_ptr.dtype.element_ty
        y = (x * inv[:, None] * w[None, :]).to(dtype).to(tl.float32)  # rounded as rms_norm returns it
        y1, y2 = tl.split(tl.reshape(y, (ROWS, HEAD_DIM // 2, 2)))  # the pairs (2i, 2i+1), (ROWS, hd/2) each
        half = tl.arange(0, HEAD_DIM // 2)
        angle = (token % tokens)[:, None] * (HEAD_DIM // 2) + half[None, :]
        cos = tl.load(cos_ptr + angle, mask=live[:, None], other=0.0)
        sin = tl.load(sin_ptr + angle, mask=live[:, None], other=0.0)
        out = tl.reshape(tl.join(y1 * cos - y2 * sin, y1 * sin + y2 * cos), (ROWS, HEAD_DIM))
        dst = r.to(tl.int64)[:, None] * HEAD_DIM + ch[None, :]
        tl.store(out_ptr + dst, out.to(dtype), mask=live[:, None])

    return norm_rope_kernel


@torch.compiler.assume_constant_result  # traced as its value: no graph break in every block
def triton_installed() -> bool:
    return _kernel() is not None


def head_dim_fits(head_dim: int) -> bool:
    """A head dimension the kernel holds in one block: Triton's ranges are powers of two (16 or more)."""
    return head_dim >= 16 and head_dim & (head_dim - 1) == 0


def available(x: torch.Tensor, head_dim: int) -> bool:
    """The fused path applies: x on a CUDA GPU, Triton importable, no autograd wanted, head_dim fits."""
    return USE_ON_CUDA and head_dim_fits(head_dim) and x.is_cuda and not torch.is_grad_enabled() and triton_installed()


@torch.library.custom_op("spacetime::qk_norm_rope", mutates_args=())
def qk_norm_rope(qkv: torch.Tensor, wq: torch.Tensor, wk: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                 eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """qkv (B, N, 3, heads, hd) contiguous; wq, wk (hd,) RMSNorm weights; cos, sin (N, hd/2) fp32
    -> q, k (B, N, heads, hd), normalized and rotated. A custom op: torch.compile calls it as is."""
    b, n, three, heads, hd = qkv.shape
    assert three == 3 and qkv.is_contiguous() and cos.shape == (n, hd // 2), (qkv.shape, cos.shape)
    rows = b * n * heads
    cos, sin = cos.contiguous(), sin.contiguous()
    q, k = qkv.new_empty(b, n, heads, hd), qkv.new_empty(b, n, heads, hd)
    rows_per_program = LAUNCH["ROWS"]
    for part, (out, w) in enumerate(((q, wq), (k, wk))):
        _kernel()[(-(-rows // rows_per_program),)](qkv, out, w, cos, sin, part, rows, heads, n, eps, HEAD_DIM=hd,
                                                   ROWS=rows_per_program, num_warps=LAUNCH["num_warps"])
    return q, k


@qk_norm_rope.register_fake
def _(qkv, wq, wk, cos, sin, eps):
    b, n, _, heads, hd = qkv.shape
    return qkv.new_empty(b, n, heads, hd), qkv.new_empty(b, n, heads, hd)


def rms_eps(norm: torch.nn.RMSNorm, dtype: torch.dtype) -> float:
    """The epsilon nn.RMSNorm adds for inputs of `dtype` (its default is that dtype's machine epsilon)."""
    return norm.eps if norm.eps is not None else torch.finfo(dtype).eps
