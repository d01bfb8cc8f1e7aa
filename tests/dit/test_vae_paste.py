"""The subject paster (vae_paste.py): at the true geometry it draws the picture exactly as the world
does, its losses vanish there, weights with and without it load, plain clips never change, and the
train flag fits and saves it."""

import random

import numpy as np
import pytest
import torch

from generation.dit import world, world_sprites
from generation.dit.checkpoint import load_json, load_sharded
from generation.dit.vae import VAEConfig, VideoVAE
from generation.dit.vae_paste import (
    GROW,
    OPTIONAL_PREFIX,
    PREFIX,
    SubjectPaster,
    add_paster,
    grow_subjects,
    has_paster,
    paste_losses,
)
from generation.dit.vae_reference import build_vae


def _cameo_specs(n: int = 4, kind: str = "single"):
    rng = random.Random(3)
    specs = []
    for i, (_, picture) in enumerate(world_sprites.heldout_sprites(n)):
        spec = world.sample_spec(rng, kind=kind, cameo=True)
        spec.subject.sprite = picture
        specs.append(spec)
    return specs


def _true_geometry(t: dict) -> dict:
    """What a perfect locate() would say for packed spec tensors t."""
    b, frames = t["track"].shape[0], t["track"].shape[2]
    big = torch.where(t["radius"][:, 0] > world.CAMEO_HALF["small"], 30.0, -30.0)
    heat = torch.full((b, frames, 32 * 32), -30.0)
    cell = (t["track"][:, 0] / 2).floor().clamp(0, 31).long()
    heat.scatter_(2, (cell[..., 1] * 32 + cell[..., 0])[..., None], 30.0)
    visible = torch.where(world.subject_masks_from_tensors(t), 30.0, -30.0)
    return {"heat": heat, "centre": t["track"][:, 0].clone(), "big": big, "visible": visible}


def test_compose_at_the_true_geometry_draws_the_subject_as_the_world_does():
    specs = _cameo_specs(4, "single") + _cameo_specs(2, "wall")
    t = world.spec_tensors(specs)
    truth = VideoVAE.to_unit(world.render_tensors(t))
    hidden = {**t, "track": t["track"].clone()}
    hidden["track"][:, 0] = -1000.0  # the same clips without their subject
    background = VideoVAE.to_unit(world.render_tensors(hidden))
    paster = SubjectPaster(64, 32).eval()
    reference = t["sprite"].float() / 127.5 - 1
    h64 = torch.randn(len(specs), 32, world.FRAMES, 64, 64)
    with torch.no_grad():
        video, alpha = paster.compose(background, reference, _true_geometry(t), h64)
    centres = torch.arange(64, dtype=torch.float32) + 0.5
    ys, xs = torch.meshgrid(centres, centres, indexing="ij")
    track = t["track"][:, 0]
    dist = torch.maximum((xs - track[..., 0, None, None]).abs(), (ys - track[..., 1, None, None]).abs())
    half = t["radius"][:, 0, None, None, None]
    shown = world.subject_masks_from_tensors(t)
    inner = shown & (dist <= half - 0.75)  # a quarter pixel from the soft edge and more
    outer = dist >= half + 0.75
    err = (video - truth).abs().amax(1)  # (B, T, H, W)
    assert inner.sum() > 1000 and outer.sum() > 1000
    assert err[inner].max() < 0.02  # the picture, resampled as the world does
    assert err[outer].max() < 0.02  # the frame around it untouched (the cleanup starts as a no-op)
    assert alpha[~shown & outer].max() < 0.01  # the wall hides it


def test_losses_vanish_at_the_true_geometry_and_grow_away_from_it():
    specs = _cameo_specs(4, "pair")
    t = world.spec_tensors(specs)
    loc = _true_geometry(t)
    mask = world.subject_masks_from_tensors(t).float()
    parts = paste_losses(loc, mask.clamp(1e-4, 1 - 1e-4), t)
    assert parts["centre"] < 1e-5 and parts["heat"] < 1e-5 and parts["size"] < 1e-5 and parts["alpha"] < 1e-3
    moved = {**loc, "centre": loc["centre"] + 2.0, "big": -loc["big"]}
    worse = paste_losses(moved, mask.clamp(1e-4, 1 - 1e-4), t)
    assert worse["centre"] == pytest.approx(4.0, abs=1e-4)  # 2 px in x and in y
    assert worse["size"] > 10


def test_weights_with_a_paster_load_it_and_plain_clips_never_change():
    torch.manual_seed(0)
    vae = VideoVAE(VAEConfig(reference=True, paste=True)).eval()
    for p in vae.parameters():
        p.data += 0.01 * torch.randn_like(p)
    state = vae.state_dict()
    assert has_paster(state) and any(k.startswith(OPTIONAL_PREFIX) for k in state)
    loaded = build_vae(state, {"reference": True})
    assert loaded.decoder.paste is not None
    older = build_vae({k: v for k, v in state.items() if not k.startswith(OPTIONAL_PREFIX)}, {})
    assert older.decoder.paste is not None  # saved before the cleanup existed: it loads, as a no-op
    assert older.decoder.paste.cleanup.net[-1].weight.abs().sum() == 0
    no_paste = build_vae({k: v for k, v in state.items() if not k.startswith(PREFIX)}, {"paste": True})
    assert no_paste.decoder.paste is None  # never an untrained paster
    z = torch.randn(1, 8, 8, 16, 16)
    picture = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded.decode(z), no_paste.decode(z))  # plain clips: the plain decoder, bit for bit
        assert not torch.equal(loaded.decode(z, picture), no_paste.decode(z, picture))


def test_grow_subjects_enlarges_the_share_within_each_size_range():
    specs = _cameo_specs(40)
    t = world.spec_tensors(specs)
    torch.manual_seed(0)
    grown = grow_subjects(t, 1.0)
    ratio = grown["radius"][:, 0] / t["radius"][:, 0]
    big = t["radius"][:, 0] > world.CAMEO_HALF["small"]
    assert big.any() and (~big).any()
    assert ((ratio >= GROW["small"][0]) & (ratio <= GROW["small"][1]))[~big].all()
    assert ((ratio >= GROW["big"][0]) & (ratio <= GROW["big"][1]))[big].all()
    assert (ratio > 1.01).float().mean() > 0.9
    assert torch.equal(grown["radius"][:, 1], t["radius"][:, 1]) and torch.equal(grown["sprite"], t["sprite"])
    assert torch.equal(grow_subjects(t, 0.0)["radius"], t["radius"])


def test_train_flag_fits_saves_and_reloads_the_paster(tiny_weights, tmp_path):
    from generation.dit import train

    out = tmp_path / "paste"
    train.main(["--out", str(out), "--vae-from", str(tiny_weights), "--dit-minutes", "0", "--calib-clips", "4",
                "--vae-paste-steps", "2", "--vae-batch", "2", "--sprites", "1000", "--device", "cpu",
                "--vae-paste-grow", "0.5", "--vae-reference-log-every", "1"])
    log = (out / "train_log.txt").read_text()
    assert "vae paste step 2" in log and "vae paste: 2 steps" in log
    saved = load_json(out / "vae_config.json")
    assert saved["vae"] == {"reference": True, "paste": True} and saved["paste_fit"]["grow"] == 0.5
    vae = build_vae(load_sharded(out, "vae"), saved["vae"])
    assert vae.decoder.paste is not None
    assert np.isfinite(vae.decoder.paste.cleanup.net[-1].weight.abs().sum().item())
    assert vae.decoder.paste.cleanup.net[-1].weight.abs().sum() > 0  # trained away from zero


def test_add_paster_also_adds_the_adapter_it_reads():
    vae = VideoVAE(VAEConfig())
    add_paster(vae)
    assert vae.has_reference and vae.decoder.paste is not None
