"""fp8 (e4m3) matrix products for the DiT's large linears at inference (issue 9).

Hopper's tensor cores multiply fp8 at twice the bf16 rate. Each weight is quantized once, with one
scale per output channel; each activation row (token) is quantized on the fly with its own scale,
so one outlier token or channel does not flatten the rest (e4m3 keeps 3 mantissa bits: ~3% error
per value). The product runs through torch._scaled_mm with both scale vectors (rowwise scaling)
and returns bf16. Only the wide products are converted: small ones (patch embedding, the output
layer, the text keys and values over 512 tokens) gain nothing and stay bf16.
"""

from __future__ import annotations

import torch
from torch import nn

E4M3_MAX = 448.0  # largest finite float8_e4m3fn


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(M, K) -> fp8 values (M, K) and the fp32 scale of each row (M, 1): x ~ q * scale."""
    scale = x.abs().amax(dim=-1, keepdim=True).float().clamp(min=1e-12) / E4M3_MAX
    return (x.float() / scale).clamp(-E4M3_MAX, E4M3_MAX).to(torch.float8_e4m3fn), scale


class Fp8Linear(nn.Module):
    """A frozen nn.Linear whose product runs in fp8 (weights per output channel, inputs per row)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        q, scale = quantize_rows(linear.weight.detach())  # (N, K), (N, 1)
        self.register_buffer("weight", q)
        self.register_buffer("weight_scale", scale.t().contiguous())  # (1, N)
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())
        self.out_features = linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        a, a_scale = quantize_rows(x.reshape(-1, x.shape[-1]))  # (M, K), (M, 1)
        # weight.t() is the (K, N) column-major operand _scaled_mm takes, without a copy
        y = torch._scaled_mm(a, self.weight.t(), scale_a=a_scale, scale_b=self.weight_scale, out_dtype=x.dtype)
        if self.bias is not None:
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
