"""The reference-aware VAE decoder (vae_reference.py): a no-op at init and without a picture, old
weights load, the train flag fits and saves it, and the pipeline / eval paths pass the picture."""

import numpy as np
import pytest
import torch

from generation.dit.checkpoint import load_json, load_sharded, save_json, save_sharded
from generation.dit.vae import VAEConfig, VideoVAE
from generation.dit.vae_reference import PREFIX, add_adapter, build_vae, has_adapter


def _vae(reference: bool) -> VideoVAE:
    torch.manual_seed(0)
    vae = VideoVAE(VAEConfig(reference=reference)).eval()
    for p in vae.parameters():  # a trained-looking decoder, not the all-default one
        p.data += 0.01 * torch.randn_like(p)
    return vae


def test_zero_init_adapter_decodes_bit_identically():
    plain = _vae(False)
    with_adapter = _vae(False)
    add_adapter(with_adapter)
    assert with_adapter.has_reference and not plain.has_reference
    z = torch.randn(1, 8, 8, 16, 16)
    picture = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        want = plain.decode(z)
        assert torch.equal(with_adapter.decode(z), want)  # no picture: the plain path
        assert torch.equal(with_adapter.decode(z, picture), want)  # picture, zero-init output: still exact
        assert torch.equal(plain.decode(z, picture), want)  # a decoder without an adapter ignores it
        for stage in with_adapter.decoder.reference.stages:  # once trained, the picture changes the clip
            stage.out.weight.normal_(0, 0.05)
        assert not torch.equal(with_adapter.decode(z, picture), want)
        assert torch.equal(with_adapter.decode(z), want)


def test_old_weights_load_with_and_without_adapter():
    old = VideoVAE(VAEConfig()).state_dict()
    assert not has_adapter(old)
    vae = build_vae(old, {})
    assert not vae.has_reference
    asked = build_vae(old, {"reference": True})  # config asks, weights lack it: a zero adapter
    assert asked.has_reference
    new = _vae(True).state_dict()
    assert has_adapter(new) and any(k.startswith(PREFIX) for k in new)
    loaded = build_vae(new, {})  # found by its keys
    assert loaded.has_reference
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in new.items())
    with pytest.raises(RuntimeError):
        build_vae({k: v for k, v in old.items() if not k.startswith("decoder.low")}, {})


def test_train_flag_fits_saves_and_reloads_the_adapter(tiny_weights, tmp_path):
    from generation.dit import train

    out = tmp_path / "ref"
    train.main(["--out", str(out), "--vae-from", str(tiny_weights), "--dit-minutes", "0", "--calib-clips", "4",
                "--vae-reference-steps", "2", "--vae-batch", "2", "--sprites", "1000", "--device", "cpu",
                "--vae-reference-eval-clips", "4", "--vae-reference-log-every", "1"])
    log = (out / "train_log.txt").read_text()
    assert "vae reference step 2" in log and "vae reference: 2 steps" in log
    state = load_sharded(out, "vae")
    assert has_adapter(state)
    assert load_json(out / "vae_config.json")["vae"] == {"reference": True, "paste": False}
    vae = build_vae(state)
    assert vae.has_reference
    stage_out = vae.decoder.reference.stages[1].out.weight
    assert stage_out.abs().sum() > 0  # trained away from zero


@pytest.fixture(scope="module")
def adapter_weights(tiny_weights, tmp_path_factory):
    """tiny_weights with a VAE that has a (non-zero) reference adapter."""
    folder = tmp_path_factory.mktemp("ref-weights")
    for f in tiny_weights.glob("dit-*.safetensors"):
        (folder / f.name).write_bytes(f.read_bytes())
    config = load_json(tiny_weights / "config.json")
    config["dit"]["overrides"] = {"reference": True}
    save_json(config, folder / "config.json")
    from generation.dit.model import DiT, make_config

    torch.manual_seed(1)
    dit = DiT(make_config("tiny", reference=True))
    for p in dit.parameters():
        p.data += 0.02 * torch.randn_like(p)
    save_sharded(dit.state_dict(), folder, "dit")
    vae = VideoVAE(VAEConfig(reference=True))
    for stage in vae.decoder.reference.stages:
        stage.out.weight.data.normal_(0, 0.05)
    save_sharded(vae.state_dict(), folder, "vae")
    return folder


def test_pipeline_decodes_with_the_picture_only_when_the_vae_has_an_adapter(adapter_weights, tiny_pipeline):
    from generation.dit import world
    from generation.dit.pipeline import Pipeline

    pipe = Pipeline.load(adapter_weights, "cpu")
    assert pipe.vae.has_reference and not tiny_pipeline.vae.has_reference
    rng = np.random.default_rng(0)
    picture = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    frames = world.render_numpy(world.sample_spec(__import__("random").Random(0)))
    with_pic, without = pipe.roundtrip(frames, picture), pipe.roundtrip(frames)
    assert with_pic.shape == frames.shape and not np.array_equal(with_pic, without)
    assert tiny_pipeline.decode_reference(picture) is None  # old weights: the plain decoder
    assert np.array_equal(tiny_pipeline.roundtrip(frames, picture), tiny_pipeline.roundtrip(frames))
    a = pipe.generate("@me moving left on a blue background", seed=3, steps=2, cameo_image=picture).frames
    assert a.shape == (16, 64, 64, 3)
    b = pipe.remix("@me moving right on a blue background", frames, strength=0.0, steps=2, cameo_image=picture).frames
    assert np.array_equal(b, with_pic)  # strength 0: the parent through the VAE, decoded with the picture


def test_eval_cameo_roundtrip_passes_the_picture(adapter_weights, tmp_path, monkeypatch):
    from generation.dit import eval_cameo
    from generation.dit.pipeline import Pipeline

    seen = []
    original = Pipeline.roundtrip

    def spy(self, frames, cameo_image=None):
        seen.append(cameo_image is not None)
        return original(self, frames, cameo_image)

    monkeypatch.setattr(Pipeline, "roundtrip", spy)
    items = eval_cameo.item_set
    monkeypatch.setattr(eval_cameo, "item_set", lambda *a, **k: items(*a, **k)[:1])
    report = eval_cameo.main(["--weights", str(adapter_weights), "--device", "cpu", "--vae-roundtrip",
                              "--per-kind", "1", "--no-photos", "--out", str(tmp_path / "r.json")])
    assert seen == [True, False] and report["settings"]["decoder_reference"] is True
    seen.clear()
    report = eval_cameo.main(["--weights", str(adapter_weights), "--device", "cpu", "--vae-roundtrip", "--no-adapter",
                              "--per-kind", "1", "--no-photos", "--out", str(tmp_path / "r2.json")])
    assert seen == [False, False] and report["settings"]["decoder_reference"] is False



def test_swap_pictures_moves_only_the_pictures_of_the_share():
    import torch

    from generation.dit.vae_reference import swap_pictures

    sprite = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 3, 2, 2)
    spec_t = {"sprite": sprite, "track": torch.arange(6)}
    out = swap_pictures(spec_t, 0.5)  # the first 3 clips take their neighbour's picture, cyclically
    assert out["sprite"][:, 0, 0, 0].tolist() == [2, 0, 1, 3, 4, 5]
    assert out["track"] is spec_t["track"] and spec_t["sprite"][:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4, 5]
    assert swap_pictures(spec_t, 0.0) is spec_t


def test_train_swap_fit_reports_the_swapped_round_trip(tiny_weights, tmp_path):
    from generation.dit import train

    out = tmp_path / "ref"
    train.main(["--out", str(out), "--vae-from", str(tiny_weights), "--dit-minutes", "0", "--calib-clips", "4",
                "--vae-reference-steps", "2", "--vae-batch", "4", "--sprites", "1000", "--device", "cpu",
                "--vae-reference-eval-clips", "4", "--vae-reference-log-every", "1", "--vae-reference-swap", "0.5"])
    log = (out / "train_log.txt").read_text()
    assert "'vae_reference_swap': 0.5" in log
    assert "encoded with another picture, decoded with the right one: subject PSNR" in log
    fit = load_json(out / "vae_config.json")["reference_fit"]
    assert fit["swap"] == 0.5 and fit["heldout"]["subject_psnr_swapped"] > 0


def test_train_high_fits_the_last_stage_with_plain_clips_and_reports_their_psnr(tiny_weights, tmp_path):
    from generation.dit import train

    out = tmp_path / "ref"
    train.main(["--out", str(out), "--vae-from", str(tiny_weights), "--dit-minutes", "0", "--calib-clips", "4",
                "--vae-reference-steps", "2", "--vae-batch", "4", "--sprites", "1000", "--device", "cpu",
                "--vae-reference-eval-clips", "4", "--vae-reference-swap", "0.5", "--vae-reference-train-high",
                "--vae-reference-plain-fraction", "0.5"])
    fit = load_json(out / "vae_config.json")["reference_fit"]
    assert fit["train_high"] and fit["plain_fraction"] == 0.5
    assert fit["plain_psnr_before"] > 0 and fit["plain_psnr_after"] > 0
    before = load_sharded(tiny_weights, "vae")
    after = load_sharded(out, "vae")
    changed = {k.split(".")[1] for k in before if k.startswith("decoder.") and not torch.equal(before[k], after[k])}
    assert changed == {"high"}  # the last stage moved; low, mid and the encoder did not
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))


def test_swap_pictures_from_start_leaves_the_plain_clips_alone():
    from generation.dit.vae_reference import swap_pictures

    sprite = torch.arange(6, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 3, 2, 2)
    out = swap_pictures({"sprite": sprite}, 1.0, start=2)
    assert out["sprite"][:, 0, 0, 0].tolist() == [0, 1, 5, 2, 3, 4]
