"""A residual add and the LayerNorm after it in one pass (CUDA inference): the DiT block's
`x = x + gate * y; h = modulate(LayerNorm(x))` (or an affine LayerNorm instead of the modulation).

Why: at the Wan-1.3B size the hidden state is 32,760 x 1,536 bf16 (100 MB), and each of these
steps reads x and y and writes x and h: 400 MB, ~93 us at the H200's ~4.3 TB/s. torch.compile's
fused kernels for the two of them inside a block took 157 and 132 us (one block on an H200,
benchmarks/dit/results/probe_step_kernels.json): 2.6 and 3.0 TB/s, the second a looped reduction
that reads each row twice. This kernel keeps each 1,536-wide row in registers: one read of x and y,
one write of each output; 96 us a call in the same profile (benchmarks/dit/README.md, session 12).

The math is the block's eager bf16 ops, rounded where they round: gate * y, then the sum, then
LayerNorm (fp32 statistics), then either the affine weight and bias (one rounding, as
F.layer_norm) or x * (1 + scale) + shift (each op rounded). Inference only: no autograd. Elsewhere
(CPU, training, no Triton) the block keeps its plain ops.
"""

from __future__ import annotations

import functools

import torch

# rows a program normalizes and its warps: benchmarks/dit/probe_step_kernels.py sweeps them at the
# Wan-1.3B shape on an H200
LAUNCH = {"ROWS": 2, "num_warps": 8}
# whether CUDA inference uses this kernel at all (benchmarks set it to what they measure faster)
USE_ON_CUDA = True


@functools.cache
def _kernel():
    try:
        import triton
        import triton.language as tl
    except ImportError:
        return None

    @triton.jit
    def residual_norm_kernel(x_ptr, y_ptr, gate_ptr, w_ptr, b_ptr, shift_ptr, scale_ptr, x_out_ptr, h_out_ptr,
                             rows, tokens, width, eps, HAS_GATE: tl.constexpr, AFFINE: tl.constexpr,
                             MODULATE: tl.constexpr, BLOCK: tl.constexpr, ROWS: tl.constexpr):
        r = tl.program_id(0) * ROWS + tl.arange(0, ROWS)  # (ROWS,) over B * N tokens
        ch = tl.arange(0, BLOCK)
        inside = (r < rows)[:, None] & (ch < width)[None, :]
        off = r.to(tl.int64)[:, None] * width + ch[None, :]  # int64: batches past 2^31 elements
        dtype = x_ptr.dtype.element_ty
        x = tl.load(x_ptr + off, mask=inside, other=0.0).to(tl.float32)
        y = tl.load(y_ptr + off, mask=inside, other=0.0).to(tl.float32)
        per_batch = (r // tokens)[:, None] * width + ch[None, :]  # gate, shift, scale: (B, width)
        if HAS_GATE:
            gate = tl.load(gate_ptr + per_batch, mask=inside, other=0.0).to(tl.float32)
            y = (gate * y).to(dtype).to(tl.float32)
        x = (x + y).to(dtype)
        tl.store(x_out_ptr + off, x, mask=inside)
        x = x.to(tl.float32)
        mean = tl.sum(x, axis=1) / width
        centred = tl.where(inside, x - mean[:, None], 0.0)
        rstd = tl.rsqrt(tl.sum(centred * centred, axis=1) / width + eps)
        h = centred * rstd[:, None]
        if AFFINE:
            w = tl.load(w_ptr + ch, mask=ch < width, other=0.0).to(tl.float32)
            b = tl.load(b_ptr + ch, mask=ch < width, other=0.0).to(tl.float32)
            h = h * w[None, :] + b[None, :]
        if MODULATE:
            h = h.to(dtype).to(tl.float32)
            scale = tl.load(scale_ptr + per_batch, mask=inside, other=0.0).to(tl.float32)
            shift = tl.load(shift_ptr + per_batch, mask=inside, other=0.0).to(tl.float32)
            h = (h * (1.0 + scale).to(dtype).to(tl.float32)).to(dtype).to(tl.float32) + shift
        tl.store(h_out_ptr + off, h.to(dtype), mask=inside)

    return residual_norm_kernel


@torch.compiler.assume_constant_result  # traced as its value: no graph break in every block
def triton_installed() -> bool:
    return _kernel() is not None


def available(x: torch.Tensor, *others: torch.Tensor | None) -> bool:
    """The fused path applies: x a bf16/fp16 CUDA tensor and every other tensor given of its dtype
    (the benchmarks' all-bf16 model; under autocast the fp32 modulation table makes the residual
    stream fp32, and that stays on the plain ops), Triton importable, no autograd wanted."""
    return (USE_ON_CUDA and x.is_cuda and x.dtype in (torch.bfloat16, torch.float16)
            and all(t is None or t.dtype == x.dtype for t in others)
            and not torch.is_grad_enabled() and triton_installed())


@torch.library.custom_op("spacetime::residual_norm", mutates_args=())
def residual_norm(x: torch.Tensor, y: torch.Tensor, gate: torch.Tensor | None, weight: torch.Tensor | None,
                  bias: torch.Tensor | None, shift: torch.Tensor | None, scale: torch.Tensor | None,
                  eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """x, y (B, N, W); gate, shift, scale (B, W) or None; weight, bias (W,) or None ->
    (x + gate * y, LayerNorm of that with weight and bias, or modulated by shift and scale).
    A custom op: torch.compile calls it as is."""
    b, n, w = x.shape
    assert y.shape == x.shape and (shift is None) == (scale is None) and (weight is None) == (bias is None)
    assert shift is None or weight is None, "an affine LayerNorm or a modulation, not both"
    x, y = x.contiguous(), y.contiguous()
    per_batch = [None if v is None else v.expand(b, w).to(x.dtype).contiguous() for v in (gate, shift, scale)]
    x_out, h_out = torch.empty_like(x), torch.empty_like(x)
    rows, launch = b * n, LAUNCH
    block = max(16, 1 << (w - 1).bit_length())
    placeholder = x  # a pointer for the inputs a variant does not read
    gate, shift, scale = (placeholder if v is None else v for v in per_batch)
    _kernel()[(-(-rows // launch["ROWS"]),)](
        x, y, gate, placeholder if weight is None else weight, placeholder if bias is None else bias, shift, scale,
        x_out, h_out, rows, n, w, eps, HAS_GATE=per_batch[0] is not None, AFFINE=weight is not None,
        MODULATE=per_batch[1] is not None, BLOCK=block, ROWS=launch["ROWS"], num_warps=launch["num_warps"])
    return x_out, h_out


@residual_norm.register_fake
def _(x, y, gate, weight, bias, shift, scale, eps):
    return torch.empty_like(x), torch.empty_like(x)


def reference(x, y, gate, weight, bias, shift, scale, eps):
    """The same computation in plain PyTorch ops, as the block runs it eagerly."""
    x = x + (y if gate is None else gate.unsqueeze(1) * y)
    h = torch.nn.functional.layer_norm(x, x.shape[-1:], weight, bias, eps)
    if shift is not None:
        h = h * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)
    return x, h
