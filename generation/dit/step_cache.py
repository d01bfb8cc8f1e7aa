"""First-block caching across denoising steps (issue 9): skip the deep blocks when the input barely moved.

Between two nearby steps a DiT's output changes slowly, and the change of its first block's
residual predicts the change of the rest (FBCache, as in ParaAttention; TeaCache uses the
modulated input). Each call runs the embedding and the first block; when that block's residual
differs from the one at the last full call by less than `threshold` (mean absolute difference over
the mean absolute value), the other blocks are skipped and their residual from the last full call
is added instead. The output layer always runs. Keep one cache per video (`reset()` between).

A fixed `plan` (one bool a call: True runs every block) replaces the threshold where the decisions
are known beforehand: a benchmark replays a trained model's decisions at another size, and no
host sync is needed to decide.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .model import DiT


def run_block(block, x, cond6, text, text_mask, rope):
    """One block: a plain function, so one torch.compile of it serves every block (their weights
    are inputs to the compiled graph, not constants)."""
    return block(x, cond6, text, text_mask, rope)


class FirstBlockCache:
    """Calls like the DiT (z_t, t, text, pooled[, text_mask, reference, known, known_mask]) -> x0,
    skipping blocks 1.. when it can."""

    def __init__(self, dit: DiT, threshold: float, block_fn: Callable = run_block, plan: Sequence[bool] | None = None):
        self.dit, self.threshold, self.block_fn = dit, threshold, block_fn
        self.plan = None if plan is None else [bool(x) for x in plan]
        self.reset()

    def reset(self) -> None:
        self.first_residual = self.rest_residual = None
        self.full_at: list[bool] = []  # per call: whether it ran every block (a plan for another run)

    @property
    def calls(self) -> int:
        return len(self.full_at)

    @property
    def full_calls(self) -> int:
        return sum(self.full_at)

    def _reusable(self, residual: torch.Tensor) -> bool:
        """Whether this call (number len(full_at), from 0) may reuse the last full call's residual."""
        prev = self.first_residual
        if self.plan is not None:  # past its end every call runs in full
            i = self.calls
            return prev is not None and prev.shape == residual.shape and i < len(self.plan) and not self.plan[i]
        if self.threshold <= 0 or prev is None or prev.shape != residual.shape:
            return False
        change = (residual - prev).abs().float().mean() / prev.abs().float().mean().clamp(min=1e-12)
        return change.item() < self.threshold  # one host sync a step: the branch decides what runs

    def __call__(self, z_t, t, text, pooled, text_mask=None, **embed_inputs):
        dit = self.dit
        x, c, cond6, n = dit.embed(z_t, t, pooled, **embed_inputs)  # reference, known frames
        after_first = self.block_fn(dit.blocks[0], x, cond6, text, text_mask, dit.rope)
        residual = after_first - x
        reuse = self._reusable(residual)
        self.full_at.append(not reuse)
        if reuse:
            x = after_first + self.rest_residual
        else:
            x = after_first
            for block in dit.blocks[1:]:
                x = self.block_fn(block, x, cond6, text, text_mask, dit.rope)
            self.first_residual, self.rest_residual = residual, x - after_first
        return dit.output(x, c, n)
