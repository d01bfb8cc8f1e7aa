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

`extrapolate` > 0 moves the reused residual along its last change instead of holding it: with
r0, r1 the residual at the last two full calls (noise levels t0, t1), a skipped call at t adds
r1 + extrapolate * (t - t1) / (t1 - t0) * (r1 - r0), a damped linear step (as TaylorSeer and
FasterCache forecast features). On the shipped model at the same calls skipped it raised the worst
prompt's frames from 41.0 to 44.4 dB at threshold 0.1 and 35.5 to 37.2 at 0.2 with 0.5 (1.0, the
undamped line, overshoots: 41.6 and 34.3; benchmarks/dit/results/step_levers_extrapolate.json).
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

    def __init__(self, dit: DiT, threshold: float, block_fn: Callable = run_block, plan: Sequence[bool] | None = None,
                 extrapolate: float = 0.0):
        self.dit, self.threshold, self.block_fn, self.extrapolate = dit, threshold, block_fn, extrapolate
        self.plan = None if plan is None else [bool(x) for x in plan]
        self.reset()

    def reset(self) -> None:
        self.first_residual = self.rest_residual = None
        self.full_at: list[bool] = []  # per call: whether it ran every block (a plan for another run)
        self.history: list[tuple[torch.Tensor, torch.Tensor]] = []  # (t, deep residual) of the last two full calls

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
            x = after_first + self._forecast(t)
        else:
            x = after_first
            for block in dit.blocks[1:]:
                x = self.block_fn(block, x, cond6, text, text_mask, dit.rope)
            self.first_residual, self.rest_residual = residual, x - after_first
            if self.extrapolate > 0:
                self.history = [*self.history[-1:], (t.detach().clone(), self.rest_residual)]
        return dit.output(x, c, n)

    def _forecast(self, t: torch.Tensor) -> torch.Tensor:
        """The deep blocks' residual at noise level t (B,): the last full call's, moved along the line
        through the last two when extrapolating. On the device: no host sync."""
        r1 = self.rest_residual
        if self.extrapolate <= 0 or len(self.history) < 2 or self.history[0][1].shape != r1.shape:
            return r1
        (t0, r0), (t1, _) = self.history
        gap = (t1 - t0).float()
        step = torch.where(gap != 0, (t.float() - t1.float()) / torch.where(gap != 0, gap, 1.0), 0.0)
        scale = (self.extrapolate * step).to(r1.dtype).view(-1, *[1] * (r1.dim() - 1))  # (B, 1, 1)
        return r1 + scale * (r1 - r0)
