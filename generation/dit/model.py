"""The Diffusion Transformer over spacetime patches of a video latent.

Built bottom-up in the manner of facebookresearch/DiT's models.py: patch embedding, 3D rotary
positions, blocks of self-attention + cross-attention to text + MLP, each modulated by the noise
level through adaLN-Zero, and a final modulated linear layer back to patches.

Conditioning: the timestep (and the pooled prompt) produce one shared modulation vector
(PixArt-alpha's "adaLN-single"), to which every block adds its own learned table; gates start at
zero so each block starts as the identity. Text tokens enter through cross-attention. With
`reference=True`, a cameo picture enters as in-context tokens (reference.py); without a picture the
forward pass is exactly the plain model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import fa4_attention, fp8, fp8_attention, qk_norm_rope, residual_norm
from .reference import ReferenceEmbedder
from .text import MAX_TOKENS, TextEncoder


@dataclass
class DiTConfig:
    latent_channels: int = 8
    latent_size: tuple[int, int, int] = (8, 16, 16)  # (T, H, W) of the latent video
    patch: tuple[int, int, int] = (2, 2, 2)
    width: int = 384
    depth: int = 8
    heads: int = 6
    mlp_ratio: float = 4.0
    mlp_hidden: int | None = None  # overrides mlp_ratio (e.g. Wan's 8960)
    text_width: int = 256
    text_depth: int = 2
    text_tokens: int = MAX_TOKENS
    external_text: bool = False  # True: the caller passes text tokens (benchmarks), no TextEncoder
    rope_split: tuple[int, int, int] | None = None  # head-dim channels for (t, h, w); None: auto
    reference: bool = False  # cameo picture as in-context tokens (reference.py)
    frame_condition: bool = False  # known latent frames as an extra input (extend; see FrameConditioner)
    # attention kernel: "sdpa" (torch's), "fa4" (fa4_attention.py; Hopper+) or "fp8" (fp8_attention.py:
    # self-attention in e4m3 on Hopper, cross-attention as "fa4")
    attention: str = "sdpa"

    @property
    def grid(self) -> tuple[int, int, int]:
        return tuple(s // p for s, p in zip(self.latent_size, self.patch))

    @property
    def tokens(self) -> int:
        return math.prod(self.grid)

    @property
    def patch_dim(self) -> int:
        return self.latent_channels * math.prod(self.patch)


CONFIGS: dict[str, dict] = {
    "tiny": dict(width=64, depth=2, heads=2, text_width=64, text_depth=1),  # tests
    "flatland-s": dict(width=384, depth=8, heads=6),  # the shipped default
    "flatland-b": dict(width=768, depth=12, heads=12, text_width=384),
    # Wan2.1-1.3B-like: 480p 81 frames -> 16x21x60x104 latent, 1x2x2 patches (~32.8k tokens)
    "wan-1.3b": dict(latent_channels=16, latent_size=(21, 60, 104), patch=(1, 2, 2), width=1536, depth=30,
                     heads=12, mlp_hidden=8960, text_width=4096, text_tokens=512, external_text=True),
}


def make_config(name: str, **overrides) -> DiTConfig:
    return DiTConfig(**{**CONFIGS[name], **overrides})


# ------------------------------------------------------------------------------------------------
# Positions and conditioning


class Rope3D(nn.Module):
    """Rotary embedding over (t, h, w): each axis rotates its own slice of the head dimension."""

    def __init__(self, head_dim: int, grid: tuple[int, int, int], split: tuple[int, int, int] | None):
        super().__init__()
        if split is None:
            hw = (head_dim // 3) // 2 * 2
            split = (head_dim - 2 * hw, hw, hw)
        assert sum(split) == head_dim and all(s % 2 == 0 for s in split), split
        t, h, w = torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in grid], indexing="ij")
        angles = []
        for pos, dim in zip((t, h, w), split):
            freqs = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))  # (dim/2,)
            angles.append(pos.reshape(-1, 1) * freqs)  # (N, dim/2)
        angles = torch.cat(angles, dim=1)  # (N, head_dim/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, N, heads, head_dim), pairs (2i, 2i+1) rotate together
        n = self.cos.shape[0]
        if x.shape[1] > n:  # reference tokens, after the video's: RoPE identity (no rotation)
            return torch.cat([self(x[:, :n]), x[:, n:]], dim=1)
        x1, x2 = x.float().unflatten(-1, (-1, 2)).unbind(-1)  # (B, N, h, hd/2) each
        cos, sin = self.cos[:, None], self.sin[:, None]  # (N, 1, hd/2)
        out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
        return out.type_as(x)


class TimestepEmbedder(nn.Module):
    """Scalar noise level t in [0, 1] -> (B, width) through sinusoidal features and an MLP."""

    def __init__(self, width: int, freq_dim: int = 256):
        super().__init__()
        self.freq_dim = freq_dim
        self.mlp = nn.Sequential(nn.Linear(freq_dim, width), nn.SiLU(), nn.Linear(width, width))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.freq_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
        args = (t.float() * 1000.0)[:, None] * freqs[None]  # (B, half)
        return self.mlp(torch.cat([args.cos(), args.sin()], dim=-1).to(self.mlp[0].weight.dtype))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


# On CUDA, the MLP's first linear and its GELU(tanh) run as one cuBLASLt product with a GELU
# epilogue (aten._addmm_activation, which torch.compile keeps as one call) instead of a product
# and a separate pass over the (B, N, hidden) activations. benchmarks/dit/bench_step.py measures
# both and sets this to the faster before compiling.
FUSED_GELU_ON_CUDA = True


def mlp_forward(mlp: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """mlp = Sequential(Linear, GELU(tanh), Linear) applied to x (..., W)."""
    fc1, act, fc2 = mlp
    # inference only (training keeps the plain ops and their autograd); never on CPU, whose
    # _addmm_activation uses the exact GELU, not tanh
    # (and only for a plain bf16 nn.Linear: fp8.py's Fp8Linear keeps its own e4m3 product)
    if isinstance(fc2, fp8.Fp8Linear) and getattr(act, "approximate", None) == "tanh":
        return fc2(fc1(x), gelu=True)  # the GELU rides in fc2's input quantization (fp8.py)
    if FUSED_GELU_ON_CUDA and type(fc1) is nn.Linear and x.is_cuda and not torch.is_grad_enabled():
        h = torch._addmm_activation(fc1.bias, x.reshape(-1, x.shape[-1]), fc1.weight.t(), use_gelu=True)
        return fc2(h.view(*x.shape[:-1], -1))
    return fc2(act(fc1(x)))


# ------------------------------------------------------------------------------------------------
# Block


ATTENTION_KERNELS = ("sdpa", "fa4", "fp8")


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kernel: str = "sdpa",
           mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q k^T / sqrt(hd)) v over (B, N, heads, hd) inputs (any strides with the last dim
    contiguous) -> (B, N, heads, hd). Tokens-major throughout: the layout the fused qkv product
    gives and FA4 reads, so no head transposes are copied. mask: (B, 1, 1, L) True = attend (SDPA)."""
    if kernel in ("fa4", "fp8") and mask is None and fa4_attention.available(q.device):
        return fa4_attention.fa4_attention(q, k, v)
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask)
    return out.transpose(1, 2)  # (B, h, N, hd) -> (B, N, h, hd)


class SelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, kernel: str = "sdpa"):
        super().__init__()
        if kernel not in ATTENTION_KERNELS:
            raise ValueError(f"unknown attention kernel {kernel!r}: expected one of {ATTENTION_KERNELS}")
        self.heads = heads
        self.kernel = kernel
        self.qkv = nn.Linear(width, 3 * width)  # fused q, k, v
        self.q_norm = nn.RMSNorm(width // heads)
        self.k_norm = nn.RMSNorm(width // heads)
        self.proj = nn.Linear(width, width)

    def normalized_qkv(self, x: torch.Tensor, rope: Rope3D) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x (B, N, W) -> q, k (RMSNorm + RoPE) and v, each (B, N, heads, hd)."""
        b, n, w = x.shape
        qkv = self.qkv(x).view(b, n, 3, self.heads, w // self.heads)  # (B, N, 3, h, hd)
        if n == rope.cos.shape[0] and qk_norm_rope.available(x, w // self.heads):  # CUDA inference: one pass
            q, k = qk_norm_rope.qk_norm_rope(qkv, self.q_norm.weight, self.k_norm.weight, rope.cos, rope.sin,
                                             qk_norm_rope.rms_eps(self.q_norm, x.dtype))
        else:
            q, k = rope(self.q_norm(qkv[:, :, 0])), rope(self.k_norm(qkv[:, :, 1]))
        return q, k, qkv[:, :, 2]

    def attend_heads(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """This layer's kernel over normalized q, k and v (B, N, heads, hd) -> (B, N, heads, hd)."""
        if self.kernel == "fp8" and fp8_attention.available(q):
            return fp8_attention.attend(q, k, v, self.q_norm.weight, self.k_norm.weight)
        return attend(q, k, v, self.kernel)

    def forward(self, x: torch.Tensor, rope: Rope3D) -> torch.Tensor:
        b, n, w = x.shape
        return self.proj(self.attend_heads(*self.normalized_qkv(x, rope)).reshape(b, n, w))


class CrossAttention(nn.Module):
    def __init__(self, width: int, text_width: int, heads: int, kernel: str = "sdpa"):
        super().__init__()
        self.heads = heads
        self.kernel = kernel
        self.q = nn.Linear(width, width)
        self.kv = nn.Linear(text_width, 2 * width)
        self.q_norm = nn.RMSNorm(width // heads)
        self.k_norm = nn.RMSNorm(width // heads)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, text: torch.Tensor, text_mask: torch.Tensor | None) -> torch.Tensor:
        b, n, w = x.shape
        hd = w // self.heads
        q = self.q_norm(self.q(x).view(b, n, self.heads, hd))  # (B, N, h, hd)
        k, v = self.kv(text).view(b, text.shape[1], 2, self.heads, hd).unbind(2)  # (B, L, h, hd) each
        mask = None if text_mask is None else text_mask[:, None, None, :]  # (B, 1, 1, L), True = attend
        return self.proj(attend(q, self.k_norm(k), v, self.kernel, mask).reshape(b, n, w))


class DiTBlock(nn.Module):
    """adaLN-Zero block: x += gate * f(modulate(norm(x))) for self-attention and MLP; cross-attention between."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        w = cfg.width
        self.norm1 = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.attn = SelfAttention(w, cfg.heads, cfg.attention)
        self.norm_cross = nn.LayerNorm(w, eps=1e-6)
        self.cross = CrossAttention(w, cfg.text_width, cfg.heads, cfg.attention)
        self.norm2 = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        hidden = cfg.mlp_hidden or int(w * cfg.mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(w, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, w))
        self.modulation = nn.Parameter(torch.zeros(6, w))  # per-block table added to the shared vector

    def forward(self, x, cond6, text, text_mask, rope):
        # x: (B, N, W); cond6: (B, 6, W)
        shift1, scale1, gate1, shift2, scale2, gate2 = (cond6 + self.modulation).unbind(1)
        attended = self.attn(modulate(self.norm1(x), shift1, scale1), rope)
        nc, n2 = self.norm_cross, self.norm2
        if residual_norm.available(x, attended, gate1, nc.weight):  # CUDA inference, bf16: fused residual + norm
            x, h = residual_norm.residual_norm(x, attended, gate1, nc.weight, nc.bias, None, None, nc.eps)
            x, h = residual_norm.residual_norm(x, self.cross(h, text, text_mask), None, None, None, shift2, scale2,
                                               n2.eps)
        else:
            x = x + gate1.unsqueeze(1) * attended
            x = x + self.cross(nc(x), text, text_mask)
            h = modulate(n2(x), shift2, scale2)
        return x + gate2.unsqueeze(1) * mlp_forward(self.mlp, h)


class FrameConditioner(nn.Module):
    """Known frames -> an addition to the patch embedding (as Wan's image-to-video concatenates the
    condition latent and its mask to the input). The projection starts at zero, so weights trained
    without it load unchanged and the model starts as exactly the plain one."""

    def __init__(self, channels: int, patch: tuple[int, int, int], width: int):
        super().__init__()
        self.proj = nn.Linear((channels + 1) * math.prod(patch), width)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, patchify, z_t, known, known_mask) -> torch.Tensor:
        if known is None:  # nothing known: zeros in, the learned bias out
            known = torch.zeros_like(z_t)
            known_mask = torch.zeros_like(z_t[:, :1])
        cond = torch.cat([known * known_mask, known_mask], dim=1)  # (B, C + 1, T, H, W)
        return self.proj(patchify(cond.to(self.proj.weight.dtype)))  # (B, N, W)


# ------------------------------------------------------------------------------------------------
# The network


class DiT(nn.Module):
    def __init__(self, cfg: DiTConfig):
        super().__init__()
        self.cfg = cfg
        w = cfg.width
        self.patch_embed = nn.Linear(cfg.patch_dim, w)
        self.t_embed = TimestepEmbedder(w)
        self.text = None if cfg.external_text else TextEncoder(cfg.text_width, cfg.text_depth, max_tokens=cfg.text_tokens)
        self.text_pool = nn.Linear(cfg.text_width, w)
        self.cond = nn.Sequential(nn.SiLU(), nn.Linear(w, 6 * w))
        self.rope = Rope3D(w // cfg.heads, cfg.grid, cfg.rope_split)
        self.blocks = nn.ModuleList(DiTBlock(cfg) for _ in range(cfg.depth))
        self.final_norm = nn.LayerNorm(w, elementwise_affine=False, eps=1e-6)
        self.final_mod = nn.Sequential(nn.SiLU(), nn.Linear(w, 2 * w))
        self.final = nn.Linear(w, cfg.patch_dim)
        self._init_weights()
        self.reference = self.frame_embed = None
        with torch.random.fork_rng(devices=[]):  # own RNG draws: other weights match a plain model's
            if cfg.reference:
                self.reference = ReferenceEmbedder(w)
            if cfg.frame_condition:
                self.frame_embed = FrameConditioner(cfg.latent_channels, cfg.patch, w)

    def _init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        # adaLN-Zero: gates and the output start at zero, so the network starts as a no-op
        for lin in (self.cond[-1], self.final_mod[-1], self.final):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def patchify(self, z: torch.Tensor) -> torch.Tensor:
        # z: (B, C, T, H, W) -> (B, N, C*pt*ph*pw)
        b, c = z.shape[:2]
        (gt, gh, gw), (pt, ph, pw) = self.cfg.grid, self.cfg.patch
        z = z.reshape(b, c, gt, pt, gh, ph, gw, pw).permute(0, 2, 4, 6, 1, 3, 5, 7)
        return z.reshape(b, gt * gh * gw, -1)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, N, C*pt*ph*pw) -> (B, C, T, H, W)
        b = x.shape[0]
        (gt, gh, gw), (pt, ph, pw) = self.cfg.grid, self.cfg.patch
        x = x.reshape(b, gt, gh, gw, self.cfg.latent_channels, pt, ph, pw).permute(0, 4, 1, 5, 2, 6, 3, 7)
        return x.reshape(b, self.cfg.latent_channels, gt * pt, gh * ph, gw * pw)

    def encode_text(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Token ids (B, L) -> text tokens (B, L, text_width), pooled (B, text_width), mask (B, L)."""
        tokens, pooled = self.text(ids)
        return tokens, pooled, ids != 0

    def forward(self, z_t: torch.Tensor, t: torch.Tensor, text: torch.Tensor, pooled: torch.Tensor,
                text_mask: torch.Tensor | None = None, reference: torch.Tensor | None = None,
                known: torch.Tensor | None = None, known_mask: torch.Tensor | None = None) -> torch.Tensor:
        """z_t: (B, C, T, H, W) noisy latent at noise level t (B,) -> predicted clean latent, same shape.
        reference: (B, 3, 32, 32) cameo pictures in [-1, 1], or None (the plain model).
        known: (B, C, T, H, W) clean latent frames given as context where known_mask (B, 1, T, H, W) is 1
        (a model with frame_condition; None: nothing known)."""
        x, c, cond6, n = self.embed(z_t, t, pooled, reference, known, known_mask)
        for block in self.blocks:
            x = block(x, cond6, text, text_mask, self.rope)
        return self.output(x, c, n)

    # The forward in three parts, so that inference accelerators (step_cache.py) can run the blocks
    # themselves; forward() above is exactly embed -> blocks -> output.
    def embed(self, z_t, t, pooled, reference=None, known=None, known_mask=None):
        """-> tokens x (B, N [+ 64 reference], W), conditioning c (B, W), cond6 (B, 6, W), video tokens n."""
        x = self.patch_embed(self.patchify(z_t))  # (B, N, W)
        if self.frame_embed is not None:
            x = x + self.frame_embed(self.patchify, z_t, known, known_mask).to(x.dtype)
        elif known is not None:
            raise ValueError("this DiT has no frame conditioning (config frame_condition=False)")
        n = x.shape[1]
        if reference is not None:
            if self.reference is None:
                raise ValueError("this DiT has no reference conditioning (config reference=False)")
            x = torch.cat([x, self.reference(reference).to(x.dtype)], dim=1)  # (B, N + 64, W)
        c = self.t_embed(t) + self.text_pool(pooled)  # (B, W)
        cond6 = self.cond(c).unflatten(1, (6, -1))  # (B, 6, W)
        return x, c, cond6, n

    def output(self, x: torch.Tensor, c: torch.Tensor, n: int) -> torch.Tensor:
        """Tokens after the last block -> predicted clean latent (B, C, T, H, W)."""
        x = x[:, :n]  # reference tokens dropped
        shift, scale = self.final_mod(c).chunk(2, dim=1)
        x = self.final(modulate(self.final_norm(x), shift, scale))  # (B, N, patch_dim)
        return self.unpatchify(x)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["DiT", "DiTConfig", "CONFIGS", "make_config", "count_params"]
