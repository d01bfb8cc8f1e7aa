"""fp8 (e4m3) matrix products for the DiT's large linears at inference (issue 9).

Hopper's tensor cores multiply fp8 at twice the bf16 rate. Each weight is quantized once, with one
scale per output channel; each activation row (token) is quantized on the fly with its own scale,
so one outlier token or channel does not flatten the rest (e4m3 keeps 3 mantissa bits: ~3% error
per value). The product runs through torch._scaled_mm with both scale vectors (rowwise scaling)
and the bias in its epilogue, and returns bf16. Only the wide products are converted: small ones
(patch embedding, the output layer, the text keys and values over 512 tokens) gain nothing and stay
bf16.

Where the time goes (benchmarks/dit/results/fp8_linears.json, H200, 65,520 rows): the fp8 products
run at 1.0-1.4 PFLOP/s against bf16's 0.71-0.76, but a bias added after the product (a pass over
its bf16 output) and torch.compile's row quantization (~1 TB/s; 1.8 ms for the MLP's 8,960-wide
input, more than the product it feeds saves) ate all of it. So on CUDA the rows are quantized by
one Triton kernel (a row in registers: one read, one write), which also applies the MLP's GELU to
the second product's input, and the bias rides in _scaled_mm.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

E4M3_MAX = 448.0  # largest finite float8_e4m3fn


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, K) -> fp8 values (M, K) and the fp32 scale of each row (M, 1): x ~ q * scale."""
    scale = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=1e-12) / E4M3_MAX
    return (x.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn), scale


@functools.cache
def _quantize_kernel():
    try:
        import triton
        import triton.language as tl
    except ImportError:
        return None

    @triton.jit
    def quantize_rows_kernel(x_ptr, q_ptr, scale_ptr, rows, width, GELU: tl.constexpr, BLOCK: tl.constexpr,
                             ROWS: tl.constexpr):
        r = tl.program_id(0) * ROWS + tl.arange(0, ROWS)  # (ROWS,)
        ch = tl.arange(0, BLOCK)
        inside = (r < rows)[:, None] & (ch < width)[None, :]
        off = r.to(tl.int64)[:, None] * width + ch[None, :]
        x = tl.load(x_ptr + off, mask=inside, other=0.0).to(tl.float32)
        if GELU:  # tanh-GELU as nn.GELU("tanh"), rounded to the input dtype as the bf16 block's output is
            inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
            x = 0.5 * x * (2.0 * tl.sigmoid(2.0 * inner))  # 1 + tanh(u) = 2 sigmoid(2u)
            x = x.to(x_ptr.dtype.element_ty).to(tl.float32)
        scale = tl.maximum(tl.max(tl.abs(x), axis=1), 1e-12) / 448.0  # (ROWS,)
        q = tl.minimum(tl.maximum(x / scale[:, None], -448.0), 448.0)
        tl.store(q_ptr + off, q.to(tl.float8e4nv), mask=inside)
        tl.store(scale_ptr + r, scale, mask=r < rows)

    return quantize_rows_kernel


@torch.compiler.assume_constant_result  # traced as its value: no graph break in every block
def triton_installed() -> bool:
    return _quantize_kernel() is not None


@torch.library.custom_op("spacetime::fp8_quantize_rows", mutates_args=())
def quantize_rows_fused(x: torch.Tensor, gelu: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """quantize_rows(gelu(x) if gelu else x) for a (M, K) bf16/fp16 CUDA tensor, in one pass."""
    x = x.contiguous()
    rows, width = x.shape
    q = torch.empty(rows, width, device=x.device, dtype=torch.float8_e4m3fn)
    scale = torch.empty(rows, 1, device=x.device, dtype=torch.float32)
    block = max(16, 1 << (width - 1).bit_length())
    per_program = max(1, 4096 // block)  # rows a program holds: ~4k values, 16-32 per thread
    _quantize_kernel()[(-(-rows // per_program),)](x, q, scale, rows, width, GELU=gelu, BLOCK=block,
                                                   ROWS=per_program, num_warps=min(16, max(4, block * per_program // 512)))
    return q, scale


@quantize_rows_fused.register_fake
def _(x, gelu):
    return (torch.empty(x.shape, device=x.device, dtype=torch.float8_e4m3fn),
            torch.empty(x.shape[0], 1, device=x.device, dtype=torch.float32))


def quantize_input(x: torch.Tensor, gelu: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, K) -> quantize_rows of x (or of its tanh-GELU): the Triton kernel on CUDA inference, the
    plain ops elsewhere (CPU, autograd, fp32, no Triton)."""
    if (x.is_cuda and x.dtype in (torch.bfloat16, torch.float16) and not torch.is_grad_enabled()
            and triton_installed()):
        return quantize_rows_fused(x, gelu)
    if gelu:
        x = F.gelu(x, approximate="tanh")
    return quantize_rows(x)


class Fp8Linear(nn.Module):
    """A frozen nn.Linear whose product runs in fp8 (weights per output channel, inputs per row)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        q, scale = quantize_rows(linear.weight.detach())  # (N, K), (N, 1)
        self.register_buffer("weight", q)
        self.register_buffer("weight_scale", scale.t().contiguous())  # (1, N)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())
        self.out_features = linear.out_features

    def forward(self, x: torch.Tensor, gelu: bool = False) -> torch.Tensor:
        """x (..., K) -> (..., N); gelu: the product of tanh-GELU(x) instead (the MLP's second linear
        takes its input before the activation, which is applied while quantizing)."""
        lead = x.shape[:-1]
        a, a_scale = quantize_input(x.reshape(-1, x.shape[-1]), gelu)  # (M, K), (M, 1)
        # cuBLASLt takes a bias in the epilogue only with bf16 output (and the CPU kernel takes any)
        fused_bias = self.bias is not None and (x.dtype == torch.bfloat16 or not x.is_cuda)
        bias = self.bias.to(x.dtype) if fused_bias else None
        # weight.t() is the (K, N) column-major operand _scaled_mm takes, without a copy
        y = torch._scaled_mm(a, self.weight.t(), scale_a=a_scale, scale_b=self.weight_scale, bias=bias,
                             out_dtype=x.dtype)
        if self.bias is not None and not fused_bias:
            y = y + self.bias.to(y.dtype)
        return y.view(*lead, self.out_features)


def fp8_linears(model: nn.Module, names: tuple[str, ...] = ("attn.qkv", "attn.proj", "cross.q", "cross.proj",
                                                              "mlp.0", "mlp.2")) -> int:
    """Replaces, in every block of a DiT, the linears whose names end with one of `names` by
    Fp8Linear (in place; for inference only). Returns how many were replaced."""
    count = 0
    for block in model.blocks:
        for name, module in list(block.named_modules()):
            if isinstance(module, nn.Linear) and name.endswith(names):
                parent_name, _, attr = name.rpartition(".")
                setattr(block.get_submodule(parent_name) if parent_name else block, attr, Fp8Linear(module))
                count += 1
    return count
