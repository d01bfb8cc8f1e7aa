"""First-block caching across denoising steps (generation/dit/step_cache.py)."""

import numpy as np
import pytest
import torch

from generation.dit.image_metrics import psnr
from generation.dit.model import DiT, make_config
from generation.dit.pipeline import WEIGHTS_DIR, Pipeline
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


@torch.no_grad()
def test_extrapolation_moves_the_reused_residual_along_its_last_change():
    dit, (z, _, text, pooled) = _dit(), _inputs()
    ts = [torch.tensor([0.8, 0.8]), torch.tensor([0.6, 0.6]), torch.tensor([0.5, 0.5])]
    zs = [z, 0.9 * z, 0.8 * z]
    held = FirstBlockCache(dit, 0.0, plan=[True, True, False])
    moved = FirstBlockCache(dit, 0.0, plan=[True, True, False], extrapolate=0.5)
    outs = [[cache(zz, tt, text, pooled) for zz, tt in zip(zs, ts)] for cache in (held, moved)]
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])  # full calls: the model
    assert held.history == []  # nothing kept when not extrapolating
    (_, r0), (_, r1) = moved.history
    expected = r1 + 0.5 * (0.5 - 0.6) / (0.6 - 0.8) * (r1 - r0)  # a quarter of the last change further on
    torch.testing.assert_close(moved._forecast(ts[2]), expected)
    x, c, cond6, n = dit.embed(zs[2], ts[2], pooled)
    after_first = dit.blocks[0](x, cond6, text, None, dit.rope)
    torch.testing.assert_close(outs[1][2], dit.output(after_first + expected, c, n))
    assert not torch.allclose(outs[1][2], outs[0][2])
    moved.reset()
    assert moved.history == [] and torch.equal(moved(z, ts[0], text, pooled), outs[1][0])


# --- in the product's pipeline (SPACETIME_STEP_CACHE) ---------------------------------------------

PROMPT = "a red circle moving left on a blue background"


def test_the_pipelines_threshold_is_checked():
    from generation.dit.pipeline import check_step_cache

    assert check_step_cache("0.1") == 0.1 and check_step_cache(0) == 0.0
    for bad in ("fast", None, -0.1, 1.0, "nan"):
        with pytest.raises(ValueError, match="step cache threshold"):
            check_step_cache(bad)


def _deep_calls(pipe):
    """Counts the calls that reach the DiT's second block (the ones the cache did not skip)."""
    calls = []
    return calls, pipe.dit.blocks[1].register_forward_hook(lambda *_: calls.append(1))


@pytest.mark.skipif(not (WEIGHTS_DIR / "config.json").exists(), reason="no shipped weights yet")
def test_the_shipped_model_skips_calls_and_keeps_its_video():
    pipe = Pipeline.load(WEIGHTS_DIR, "cpu")
    calls, hook = _deep_calls(pipe)
    exact = pipe.generate(PROMPT, seed=3).frames
    full = len(calls)
    pipe.step_cache = 0.1
    calls.clear()
    cached = pipe.generate(PROMPT, seed=3).frames
    hook.remove()
    assert full == 20 and 0 < len(calls) <= 16  # benchmarks/dit/results/step_levers.json: 14 of 20
    assert 35 < psnr(cached, exact) < 99  # close to, not the same as, the exact video
    assert np.array_equal(cached, pipe.generate(PROMPT, seed=3).frames)  # a fresh cache every job


@pytest.mark.skipif(not (WEIGHTS_DIR / "config.json").exists(), reason="no shipped weights yet")
def test_extending_a_clip_through_the_cache_keeps_the_known_frames():
    pipe = Pipeline.load(WEIGHTS_DIR, "cpu", step_cache=0.1)
    parent = pipe.generate(PROMPT, seed=4).frames
    calls, hook = _deep_calls(pipe)
    extended = pipe.extend("a red circle moving right on a blue background", parent, new_frames=8, seed=5).frames
    hook.remove()
    assert extended.shape == (24, 64, 64, 3) and np.array_equal(extended[:16], parent) and len(calls) < 20
