"""Frame conditioning (extend): the known-frames input starts as a no-op, trains, saves, resumes,
and the pipeline gives a parent's last latent frames to a model that has it."""

import numpy as np
import pytest
import torch

from generation.dit.checkpoint import load_json
from generation.dit.model import DiT, make_config
from generation.dit.reference import load_dit_weights

PROMPT = "a small red circle moving right on a blue background"


def _inputs(dit, b=2):
    cfg = dit.cfg
    torch.manual_seed(1)
    z = torch.randn(b, cfg.latent_channels, *cfg.latent_size)
    t = torch.rand(b)
    ids = torch.randint(3, 20, (b, cfg.text_tokens))
    text, pooled, mask = dit.encode_text(ids)
    return z, t, text, pooled, mask


def test_fresh_frame_conditioning_is_exactly_the_plain_model():
    torch.manual_seed(0)
    plain = DiT(make_config("tiny"))
    torch.manual_seed(0)
    framed = DiT(make_config("tiny", frame_condition=True))
    assert load_dit_weights(framed, plain.state_dict()) == ["frame_embed.proj.weight", "frame_embed.proj.bias"]
    with torch.no_grad():
        for p in plain.parameters():  # adaLN-Zero: make the output depend on the input
            p.add_(0.02 * torch.randn_like(p))
        load_dit_weights(framed, plain.state_dict())
        z, t, text, pooled, mask = _inputs(plain)
        known = torch.randn_like(z)
        known_mask = torch.zeros_like(z[:, :1])
        known_mask[:, :, :3] = 1
        out = plain(z, t, text, pooled, mask)
        assert torch.equal(framed(z, t, text, pooled, mask), out)
        assert torch.equal(framed(z, t, text, pooled, mask, known=known, known_mask=known_mask), out)
        framed.frame_embed.proj.weight.normal_(0, 0.02)  # once trained, the known frames matter
        assert not torch.allclose(framed(z, t, text, pooled, mask, known=known, known_mask=known_mask), out)
        with pytest.raises(ValueError, match="frame conditioning"):
            plain(z, t, text, pooled, mask, known=known, known_mask=known_mask)


def test_known_prefix_marks_whole_leading_frames_of_the_first_clips():
    from generation.dit.train import known_prefix

    x0 = torch.randn(6, 4, 8, 4, 4)
    known, mask = known_prefix(x0, 4)
    assert mask.shape == (6, 1, 8, 4, 4) and torch.equal(known, x0)
    per_frame = mask[:, 0, :, 0, 0]  # (B, T)
    assert torch.equal(per_frame, mask[:, 0].amax(dim=(2, 3)))  # whole frames
    counts = per_frame.sum(1)
    assert (counts[:4] >= 1).all() and (counts[:4] <= 7).all() and (counts[4:] == 0).all()
    for row in per_frame[:4]:  # a prefix: known frames first
        k = int(row.sum())
        assert row[:k].eq(1).all() and row[k:].eq(0).all()


def test_training_with_extend_saves_and_resumes(tiny_weights, tmp_path):
    from generation.dit import train
    from generation.dit.pipeline import Pipeline

    out = tmp_path / "run"
    common = ["--config", "tiny", "--vae-from", str(tiny_weights), "--calib-clips", "4", "--batch", "4",
              "--pool", "2000", "--device", "cpu", "--log-every", "1"]
    train.main(common + ["--out", str(out), "--resume", str(tiny_weights), "--dit-minutes", "0.03",
                         "--extend-fraction", "0.5"])
    log = (out / "train_log.txt").read_text()
    assert "new, initialised: frame_embed." in log
    config = load_json(out / "config.json")
    assert config["dit"]["overrides"] == {"frame_condition": True} and config["training"]["extend_fraction"] == 0.5
    assert Pipeline.load(out, "cpu").dit.frame_embed is not None
    # resuming without --extend-fraction keeps the trained conditioning rather than dropping it
    again = tmp_path / "again"
    train.main(common + ["--out", str(again), "--resume", str(out), "--dit-minutes", "0.02"])
    assert load_json(again / "config.json")["dit"]["overrides"] == {"frame_condition": True}


@pytest.fixture(scope="module")
def framed_pipeline(tiny_weights, tmp_path_factory):
    from generation.dit.checkpoint import save_json, save_sharded
    from generation.dit.pipeline import Pipeline

    folder = tmp_path_factory.mktemp("framed")
    pipe = Pipeline.load(tiny_weights, "cpu")
    dit = DiT(make_config("tiny", frame_condition=True))
    load_dit_weights(dit, pipe.dit.state_dict())
    with torch.no_grad():
        dit.frame_embed.proj.weight.normal_(0, 0.05)
    save_sharded(dit.state_dict(), folder, "dit")
    save_sharded(pipe.vae.state_dict(), folder, "vae")
    config = dict(pipe.config, dit={"name": "tiny", "overrides": {"frame_condition": True}})
    save_json(config, folder / "config.json")
    return Pipeline.load(folder, "cpu")


def test_pipeline_extend_gives_the_known_frames_to_the_model(framed_pipeline):
    pipe = framed_pipeline
    rng = np.random.default_rng(0)
    parent = rng.integers(0, 255, (16, 64, 64, 3), dtype=np.uint8)
    seen = []
    real = pipe.dit.forward

    def spy(*args, **kwargs):
        seen.append((kwargs.get("known"), kwargs.get("known_mask")))
        return real(*args, **kwargs)

    pipe.dit.forward = spy
    try:
        r = pipe.extend(PROMPT, parent, new_frames=8, seed=3, steps=2)
    finally:
        del pipe.dit.forward
    assert r.frames.shape == (24, 64, 64, 3) and np.array_equal(r.frames[:16], parent)
    known = pipe.encode_frames(pipe.fit_frames(parent, keep="last"))[:, :, 4:]
    assert seen and all(k is not None for k, _ in seen)
    k, m = seen[0]
    assert m[:, :, :4].eq(1).all() and m[:, :, 4:].eq(0).all()
    torch.testing.assert_close(k[:1, :, :4], known)
    # plain generation gives it nothing
    seen.clear()
    pipe.dit.forward = spy
    try:
        pipe.generate(PROMPT, seed=3, steps=2)
    finally:
        del pipe.dit.forward
    assert all(k is None for k, _ in seen)
