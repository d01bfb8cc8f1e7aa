"""First-block caching across denoising steps (generation/dit/step_cache.py)."""

import torch

from generation.dit.model import DiT, make_config
from generation.dit.step_cache import FirstBlockCache


def _dit():
    torch.manual_seed(0)
    dit = DiT(make_config("tiny", depth=3, external_text=True, text_width=32)).eval()
    for p in dit.parameters():  # adaLN-Zero would make every block the identity
        p.data.normal_(0, 0.1)
    return dit


def _inputs(seed=1):
    g = torch.Generator().manual_seed(seed)
    text = torch.randn(2, 5, 32, generator=g)
    return torch.randn(2, 8, 8, 16, 16, generator=g), torch.tensor([0.5, 0.5]), text, text.mean(1)


@torch.no_grad()
def test_threshold_zero_is_exactly_the_model():
    dit, (z, t, text, pooled) = _dit(), _inputs()
    cache = FirstBlockCache(dit, 0.0)
    for _ in range(2):
        assert torch.equal(cache(z, t, text, pooled), dit(z, t, text, pooled))
    assert (cache.calls, cache.full_calls) == (2, 2)


@torch.no_grad()
def test_a_near_step_reuses_the_deep_blocks_and_a_far_one_recomputes():
    dit, (z, t, text, pooled) = _dit(), _inputs()
    cache = FirstBlockCache(dit, 0.05)
    first = cache(z, t, text, pooled)
    near = cache(z + 1e-4 * torch.randn_like(z), t, text, pooled)
    assert (cache.calls, cache.full_calls) == (2, 1)  # skipped blocks 1..: close to, not equal to, the model
    assert 0 < float((near - first).abs().max()) < 1e-2
    far_z = _inputs(seed=9)[0]
    assert torch.equal(cache(far_z, t, text, pooled), dit(far_z, t, text, pooled))
    assert cache.full_calls == 2
    cache.reset()
    assert torch.equal(cache(z, t, text, pooled), first) and cache.full_calls == 1  # a new video starts afresh


@torch.no_grad()
def test_a_plan_decides_which_calls_run_every_block():
    dit, (z, t, text, pooled) = _dit(), _inputs()
    far_z = _inputs(seed=9)[0]
    cache = FirstBlockCache(dit, 0.0, plan=[False, False, True])  # call 1 has nothing to reuse: it runs in full
    assert torch.equal(cache(z, t, text, pooled), dit(z, t, text, pooled))
    reused = cache(far_z, t, text, pooled)  # reused however far it moved: the plan, not the threshold, decides
    assert not torch.equal(reused, dit(far_z, t, text, pooled))
    assert torch.equal(cache(far_z, t, text, pooled), dit(far_z, t, text, pooled))
    assert torch.equal(cache(z, t, text, pooled), dit(z, t, text, pooled))  # past the plan's end: in full
    assert cache.full_at == [True, False, True, True] and cache.full_calls == 3


@torch.no_grad()
def test_the_decisions_are_recorded_as_a_plan_that_replays_them():
    dit, (z, t, text, pooled) = _dit(), _inputs()
    far_z = _inputs(seed=9)[0]
    inputs = [z, z + 1e-4 * torch.randn_like(z), far_z, far_z + 1e-4 * torch.randn_like(z)]
    cache = FirstBlockCache(dit, 0.05)
    by_threshold = [cache(x, t, text, pooled) for x in inputs]
    replay = FirstBlockCache(dit, 0.0, plan=cache.full_at)
    assert [torch.equal(a, replay(x, t, text, pooled)) for a, x in zip(by_threshold, inputs)] == [True] * 4
    assert cache.full_at == replay.full_at == [True, False, True, False]
