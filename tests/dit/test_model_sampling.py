import torch

from generation.dit import sampling, text
from generation.dit.model import DiT, make_config


def test_schedule_properties():
    for steps in (1, 4, 20):
        for shift in (1.0, 3.0):
            ts = sampling.schedule(steps, shift)
            assert ts.shape == (steps + 1,)
            assert ts[0] == 1.0 and ts[-1] == 0.0
            assert (ts[1:] < ts[:-1]).all()
    plain, shifted = sampling.schedule(10, 1.0), sampling.schedule(10, 3.0)
    assert (shifted >= plain - 1e-6).all() and (shifted[1:-1] > plain[1:-1]).all()  # more time at high noise


def test_sampler_reaches_a_perfect_denoiser_and_yields_every_step():
    target = torch.randn(1, 4, 2, 3, 3)
    steps = list(sampling.sample_iter(lambda z, t: target.expand_as(z), torch.randn_like(target), steps=6, shift=3.0))
    assert [s.index for s in steps] == list(range(1, 7)) and all(s.steps == 6 for s in steps)
    assert torch.allclose(steps[-1].z, target) and steps[-1].t == 0.0
    heun = list(sampling.sample_iter(lambda z, t: target.expand_as(z), torch.randn_like(target), 6, 3.0, "heun"))
    assert torch.allclose(heun[-1].z, target, atol=1e-5)


def test_guidance_combines_cond_and_uncond():
    calls = []

    def model_x0(z, t, with_uncond):
        calls.append(with_uncond)
        if not with_uncond:
            return torch.ones_like(z)
        cond, uncond = torch.ones_like(z[: len(z) // 2]), torch.zeros_like(z[: len(z) // 2])
        return torch.cat([cond, uncond])

    z, t = torch.zeros(2, 3), torch.ones(2)
    assert torch.allclose(sampling.guided(model_x0, 3.0)(z, t), torch.full_like(z, 3.0))
    assert torch.allclose(sampling.guided(model_x0, 1.0)(z, t), torch.ones_like(z))
    assert calls == [True, False]


def test_tiny_dit_forward_shape():
    torch.manual_seed(0)
    cfg = make_config("tiny")
    dit = DiT(cfg)
    ids = torch.tensor([text.tokenize(["a", "red", "circle"]), text.tokenize([])])
    tokens, pooled, mask = dit.encode_text(ids)
    assert tokens.shape == (2, text.MAX_TOKENS, cfg.text_width) and pooled.shape == (2, cfg.text_width)
    z = torch.randn(2, cfg.latent_channels, *cfg.latent_size)
    out = dit(z, torch.tensor([0.3, 0.9]), tokens, pooled, mask)
    assert out.shape == z.shape
    assert torch.count_nonzero(out) == 0  # adaLN-Zero: the network starts as a no-op
    assert torch.equal(dit.unpatchify(dit.patchify(z)), z)
