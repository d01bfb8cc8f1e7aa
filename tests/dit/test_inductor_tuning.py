"""Inductor settings for GPU inference: which row reductions stay persistent, and that installing them
leaves what torch.compile computes unchanged (on the CPU, where inductor emits C++ instead of Triton)."""

from __future__ import annotations

import sympy
import torch
from torch._inductor.choices import InductorChoices
from torch._inductor.runtime.hints import ReductionHint
from torch._inductor.virtualized import V

from generation.dit.inductor_tuning import WideRowReductions, use_wide_row_reductions


class Features:
    """The two things the heuristic reads of a kernel's features."""

    def __init__(self, hint: ReductionHint, numel):
        self.hint, self.reduction_numel = hint, numel

    def get_reduction_hint(self) -> ReductionHint:
        return self.hint


def test_rows_up_to_max_row_stay_persistent(monkeypatch):
    # inductor's own answer (it needs a graph being compiled) is "no" here: only the override decides
    monkeypatch.setattr(InductorChoices, "should_use_persistent_reduction", staticmethod(lambda f, c: False))
    choices = WideRowReductions(max_row=2048)
    assert choices.should_use_persistent_reduction(Features(ReductionHint.INNER, 1536), False)
    assert choices.should_use_persistent_reduction(Features(ReductionHint.INNER, sympy.Integer(2048)), False)
    assert not choices.should_use_persistent_reduction(Features(ReductionHint.INNER, 2049), False)
    # not a row (reductions across rows), cooperative splits and unknown sizes keep inductor's answer
    assert not choices.should_use_persistent_reduction(Features(ReductionHint.OUTER, 1536), False)
    assert not choices.should_use_persistent_reduction(Features(ReductionHint.INNER, 1536), True)
    assert not choices.should_use_persistent_reduction(Features(ReductionHint.INNER, sympy.Symbol("s0")), False)


def test_inductors_yes_is_kept(monkeypatch):
    monkeypatch.setattr(InductorChoices, "should_use_persistent_reduction", staticmethod(lambda f, c: True))
    assert WideRowReductions(max_row=16).should_use_persistent_reduction(Features(ReductionHint.OUTER, 512), False)


def test_installed_and_removed_compiles_the_same_function():
    def layer_norm_residual(x, y, w):
        return torch.nn.functional.layer_norm(x + 0.5 * y, (x.shape[-1],), w)

    x, y, w = torch.randn(4, 1536), torch.randn(4, 1536), torch.randn(1536)
    try:
        use_wide_row_reductions(True)
        assert isinstance(V.choices, WideRowReductions)
        torch._dynamo.reset()
        out = torch.compile(layer_norm_residual)(x, y, w)
    finally:
        use_wide_row_reductions(False)
        torch._dynamo.reset()
    assert type(V.choices) is InductorChoices
    torch.testing.assert_close(out, layer_norm_residual(x, y, w), rtol=1e-5, atol=1e-5)
