"""Sequence parallelism for one large video over several GPUs (DeepSpeed-Ulysses style).

Each of P ranks holds N/P of the video tokens for the whole forward: patch embedding, adaLN,
cross-attention to the text and the MLP act on local tokens only. Self-attention needs every token,
so around it two all-to-alls swap the split: tokens-split/heads-whole -> heads-split/tokens-whole
(each rank attends over the full sequence with H/P heads), and back. Per layer each rank sends
3 + 1 activations of size N/P x W, and computes 1/P of every FLOP. Works for any P that divides
the head count and the token count.

    torchrun --nproc-per-node 2 benchmarks/dit/bench_sequence_parallel.py

`sequence_parallel(model, group)` returns a callable with DiT.forward's signature (without
cameo references); every rank passes the same full inputs and gets the same full output.
"""

from __future__ import annotations

import copy

import torch
import torch.distributed as dist

from .model import DiT, Rope3D, SelfAttention, modulate


def _all_to_all(x: torch.Tensor, group) -> torch.Tensor:
    """x: (P, ...) -> (P, ...) where out[j] is rank j's x[rank]."""
    x = x.contiguous()
    out = torch.empty_like(x)  # after contiguous(): empty_like keeps a permuted input's strides
    dist.all_to_all_single(out, x, group=group)
    return out


class UlyssesSelfAttention(SelfAttention):
    """SelfAttention over a rank's tokens, attending across all ranks' tokens (same parameters and
    the same attention kernel as the single-GPU block: SDPA, FA4 or fp8)."""

    group = None

    def forward(self, x: torch.Tensor, rope: Rope3D) -> torch.Tensor:
        b, n_loc, w = x.shape
        p = dist.get_world_size(self.group)
        h, hd = self.heads, w // self.heads
        q, k, v = self.normalized_qkv(x, rope)  # (B, n_loc, h, hd) each
        # each written once into the send buffer, in send order (a stack, then a permuted copy: twice)
        send = q.new_empty(p, 3, b, n_loc, h // p, hd)
        for i, part in enumerate((q, k, v)):
            send[:, i].copy_(part.view(b, n_loc, p, h // p, hd).permute(2, 0, 1, 3, 4))
        qkv = _all_to_all(send, self.group)  # (P, 3, B, n_loc, h/P, hd): [j] = rank j's tokens of my heads
        q, k, v = qkv.permute(1, 2, 0, 3, 4, 5).reshape(3, b, p * n_loc, h // p, hd)  # (B, N, h/P, hd) each
        out = self.attend_heads(q, k, v)  # (B, N, h/P, hd), tokens-major as every kernel takes it
        out = out.reshape(b, p, n_loc, h // p, hd).transpose(0, 1)  # (P, B, n_loc, h/P, hd)
        out = _all_to_all(out, self.group)  # [j] = my tokens of rank j's heads
        out = out.permute(1, 2, 0, 3, 4).reshape(b, n_loc, w)  # (B, n_loc, h*hd) in head order
        return self.proj(out)


def _local_rope(rope: Rope3D, start: int, stop: int) -> Rope3D:
    local = copy.copy(rope)  # shares nothing mutable: buffers are replaced below
    local._buffers = dict(rope._buffers)
    local.cos, local.sin = rope.cos[start:stop], rope.sin[start:stop]
    return local


def sequence_parallel(model: DiT, group=None):
    """Turns `model` (already on this rank's GPU, same weights on every rank) into a sequence-
    parallel forward. The model's attention modules are switched in place."""
    p, rank = dist.get_world_size(group), dist.get_rank(group)
    n = model.cfg.tokens
    if n % p or model.cfg.heads % p:
        raise ValueError(f"{p} ranks must divide the {n} tokens and the {model.cfg.heads} heads")
    n_loc = n // p
    rope = _local_rope(model.rope, rank * n_loc, (rank + 1) * n_loc)
    for block in model.blocks:
        block.attn.__class__ = UlyssesSelfAttention
        block.attn.group = group

    def forward(z_t, t, text, pooled, text_mask=None):
        x = model.patch_embed(model.patchify(z_t)[:, rank * n_loc:(rank + 1) * n_loc])  # (B, n_loc, W)
        c = model.t_embed(t) + model.text_pool(pooled)
        cond6 = model.cond(c).unflatten(1, (6, -1))
        for block in model.blocks:
            x = block(x, cond6, text, text_mask, rope)
        shift, scale = model.final_mod(c).chunk(2, dim=1)
        x = model.final(modulate(model.final_norm(x), shift, scale)).contiguous()  # (B, n_loc, patch_dim)
        parts = [torch.empty_like(x) for _ in range(p)]
        dist.all_gather(parts, x, group=group)
        return model.unpatchify(torch.cat(parts, dim=1))

    return forward
