"""torch.compile (inductor) settings for DiT inference on GPUs (issue 9).

Inductor keeps a row reduction in registers (a "persistent" reduction: load the row once, reduce,
normalize, store) only for rows of up to 1,024 elements. A wider row, such as the LayerNorms over the
1,536-wide hidden state of the Wan-size DiT, becomes a looped reduction: one loop over the row for
the mean and variance, a second that loads it again to normalize. Every block has three of those
kernels (each also adds the previous residual and applies the modulation), and in session 10's
profile they ran at ~2.7 TB/s against ~4.8 the H200's memory moves.

`WideRowReductions` keeps inner reductions of up to `max_row` elements persistent; the rest of
inductor's choices are its defaults. benchmarks/dit/bench_step.py --wide-rows ab compiles the model
both ways in one run: on an H200 the element-wise kernels took 17.4 ms a step against 18.4 (session
11, run 1); two of the six LayerNorm kernels stayed looped even so.
"""

from __future__ import annotations

import sympy
from torch._inductor import config as inductor_config
from torch._inductor.choices import InductorChoices
from torch._inductor.runtime.hints import ReductionHint
from torch._inductor.virtualized import V


class WideRowReductions(InductorChoices):
    """Inductor's heuristics, except that inner (row) reductions up to `max_row` wide stay persistent."""

    def __init__(self, max_row: int = 2048):
        super().__init__()
        self.max_row = max_row

    def should_use_persistent_reduction(self, features, cooperative_reduction: bool) -> bool:
        if InductorChoices.should_use_persistent_reduction(features, cooperative_reduction):
            return True
        if cooperative_reduction or not inductor_config.triton.persistent_reductions:
            return False
        if features.get_reduction_hint() != ReductionHint.INNER:
            return False
        numel = sympy.sympify(features.reduction_numel)
        return bool(numel.is_number) and int(numel) <= self.max_row


def use_wide_row_reductions(enabled: bool = True, max_row: int = 2048) -> None:
    """From now on (in this thread), graphs inductor compiles keep rows up to `max_row` persistent;
    enabled=False restores inductor's defaults. Read when a graph is compiled, not when it runs:
    set it before a model's first call under torch.compile."""
    V.set_choices_handler(WideRowReductions(max_row) if enabled else InductorChoices())


__all__ = ["WideRowReductions", "use_wide_row_reductions"]
