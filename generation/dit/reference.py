"""Cameo reference conditioning: a picture -> in-context tokens for the DiT's self-attention.

Design (as VACE / Phantom condition video DiTs on reference images): the reference picture
(3 x 32 x 32 in [-1, 1]) is cut into 4x4 patches, embedded by a small MLP with a learned position
embedding (64 tokens), and appended after the video tokens. Every block then processes them with
the video tokens (self-attention, cross-attention to text, MLP, the same timestep modulation), so
any video token can look up the picture's content where it needs it; the model drops them before
its output layer. The reference tokens get no rotary rotation (RoPE identity), so the video tokens'
positions, and with no reference the whole forward pass, are exactly those of the plain model.

Why in-context rather than cross-attention or channel concatenation: the subject moves and
changes size, so the picture cannot be concatenated in place; cross-attention would add a new
projection per block that the trained model has never used, while the self-attention is already
trained to copy content between tokens.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REFERENCE_SIZE = 32
REFERENCE_PATCH = 4
PREFIX = "reference."  # the state-dict keys this module adds to a DiT
OPTIONAL_PREFIXES = (PREFIX, "frame_embed.")  # modules a newer config adds, absent from older weights


class ReferenceEmbedder(nn.Module):
    """(B, 3, S, S) in [-1, 1] -> (B, (S/p)^2, width) reference tokens."""

    def __init__(self, width: int, size: int = REFERENCE_SIZE, patch: int = REFERENCE_PATCH):
        super().__init__()
        self.patch, self.grid = patch, size // patch
        self.mlp = nn.Sequential(nn.Linear(3 * patch * patch, width), nn.GELU(approximate="tanh"), nn.Linear(width, width))
        self.pos = nn.Parameter(torch.randn(1, self.grid * self.grid, width) * 0.02)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, ref: torch.Tensor) -> torch.Tensor:
        b, c, g, p = ref.shape[0], ref.shape[1], self.grid, self.patch
        x = ref.reshape(b, c, g, p, g, p).permute(0, 2, 4, 1, 3, 5).reshape(b, g * g, c * p * p)
        return self.mlp(x.to(self.pos.dtype)) + self.pos


def load_dit_weights(dit: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Loads a state dict into a DiT; weights saved without reference or frame conditioning load
    into a model with them (strict except for exactly those keys, which keep their initial values).
    Returns the keys left at their initial values."""
    missing, unexpected = dit.load_state_dict(state, strict=False)
    other = [k for k in missing if not k.startswith(OPTIONAL_PREFIXES)]
    if other or unexpected:
        raise RuntimeError(f"DiT weights do not match the config: missing {other}, unexpected {list(unexpected)}")
    return list(missing)


def picture_to_reference(picture: np.ndarray | torch.Tensor, size: int = REFERENCE_SIZE) -> torch.Tensor:
    """Any RGB uint8 picture (H, W, 3) -> the model's reference (1, 3, size, size) in [-1, 1]:
    centre-cropped to a square and resized (bilinear, antialiased) with torch, no Pillow."""
    x = torch.from_numpy(np.array(picture)) if isinstance(picture, np.ndarray) else torch.as_tensor(picture)
    if x.dim() == 3 and x.shape[-1] == 4:  # RGBA: drop alpha
        x = x[..., :3]
    if x.dim() != 3 or x.shape[-1] != 3 or x.dtype != torch.uint8 or min(x.shape[:2]) < 1:
        raise ValueError(f"a cameo picture must be RGB uint8 (H, W, 3), got {tuple(x.shape)} {x.dtype}")
    h, w = x.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[top:top + side, left:left + side].permute(2, 0, 1)[None].float()
    if side != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255) / 127.5 - 1.0
