"""Cameo reference conditioning: sprites in the world, the DiT's reference tokens, loading old
weights, the pipeline and CLI, the SSIM used by eval_cameo, and the training option."""
import random

import numpy as np
import pytest
import torch

from generation.dit import captions, eval_cameo, generate, image_metrics, text, world, world_sprites
from generation.dit.checkpoint import load_json, save_json, save_sharded
from generation.dit.model import DiT, make_config
from generation.dit.reference import PREFIX, load_dit_weights, picture_to_reference
from generation.dit.vae import VAEConfig, VideoVAE

CAMEO_PROMPT = "@ana moving right on a green background"


def _still_cameo(picture, size="big", x=32.0, y=32.0, background="blue"):
    a = world.ObjectSpec(world.CAMEO, world.CAMEO, size, "still", np.tile([[x, y]], (world.FRAMES, 1)).astype(np.float32),
                         sprite=picture)
    return world.ClipSpec("single", background, [a])


# --- sprites and the world ----------------------------------------------------------------------


def test_sprites_are_deterministic_varied_and_held_out_by_seed_and_family():
    a, b = world_sprites.make_sprite(5), world_sprites.make_sprite(5)
    assert a.dtype == np.uint8 and a.shape == (32, 32, 3) and np.array_equal(a, b)
    bank = world_sprites.training_sprites(0, 40)
    assert len({x.tobytes() for x in bank}) == 40 and bank.std() > 20
    held = world_sprites.heldout_sprites(len(world_sprites.TRAIN_FAMILIES) + 1)
    assert {f for f, _ in held} == set(world_sprites.TRAIN_FAMILIES) | {"spiral"}
    assert "spiral" not in world_sprites.TRAIN_FAMILIES
    assert not {x.tobytes() for _, x in held} & {x.tobytes() for x in bank}


def test_sprite_is_pasted_at_its_place_and_size():
    picture = np.zeros((32, 32, 3), np.uint8)
    picture[:, :16] = (200, 30, 30)  # left half red, right half green
    picture[:, 16:] = (30, 200, 30)
    clip = world.render_numpy(_still_cameo(picture, "big", x=30.0, y=40.0))
    half = world.CAMEO_HALF["big"]  # square [19, 41] x [29, 51]
    frame = clip[0].astype(int)
    bg = np.array(world.PALETTE["blue"])
    assert (frame[40, 21] == (200, 30, 30)).all() and (frame[40, 39] == (30, 200, 30)).all()
    assert (frame[40, int(30 - half) - 2] == bg).all() and (frame[40, int(30 + half) + 2] == bg).all()
    assert (frame[int(40 - half) - 2, 30] == bg).all() and (frame[int(40 + half) + 2, 30] == bg).all()
    inside = (np.abs(frame - bg).sum(-1) > 0)
    ys, xs = np.nonzero(inside)
    assert abs(xs.mean() + 0.5 - 30) < 0.6 and abs(ys.mean() + 0.5 - 40) < 0.6
    assert abs((xs.max() - xs.min() + 1) - 2 * half) <= 1.5
    small = world.render_numpy(_still_cameo(picture, "small"))[0]
    assert (np.abs(small.astype(int) - bg).sum(-1) > 0).sum() < inside.sum() / 2  # small is smaller


def test_sprite_moves_along_its_track_and_hides_behind_the_wall():
    rng = random.Random(2)
    spec = world.sample_spec(rng, kind="wall", cameo=True)
    spec.subject.sprite = world_sprites.make_sprite(3)
    clip = world.render_numpy(spec).astype(int)
    wall = np.abs(np.arange(64) + 0.5 - spec.wall_x) <= world.WALL_HALF_WIDTH
    assert (clip[:, :, wall] == world.WALL_RGB).all()  # the wall covers the picture in every frame
    masks = world.subject_masks([spec])[0].numpy()
    assert not masks[:, :, wall].any() and masks[0].any() and masks[-1].any()
    xs = [np.nonzero(m)[1].mean() for m in masks if m.any()]
    assert (xs[-1] - xs[0] > 20) == (spec.subject.motion == "right")


def test_cameo_specs_and_captions():
    rng = random.Random(0)
    for kind in world.KINDS:
        spec = world.sample_spec(rng, "heldout", kind=kind, cameo=True)  # cameo specs are never held out by spec
        assert spec.subject.is_cameo and not world.is_held_out(spec)
        caption = captions.training_caption(spec, rng)
        assert "@cameo" in caption and text.tokenize_caption(caption).count(text.TOKEN_ID["@cameo"]) == 1
    assert text.PromptNormalizer().normalize("a big @grace.h falling").words == ["a", "big", "@cameo", "falling"]
    plain = world.sample_spec(rng, "heldout", kind="pair")
    cam = world.cameo_version(plain, rng, world_sprites.make_sprite(1))
    assert cam.relation == plain.relation and cam.objects[1].colour == plain.objects[1].colour
    assert captions.canonical_caption(cam).startswith(f"a {plain.subject.size} @cameo ")


# --- the model ----------------------------------------------------------------------------------


def _perturbed(cfg):
    torch.manual_seed(0)
    dit = DiT(cfg)
    for p in dit.parameters():
        p.data += 0.02 * torch.randn_like(p)
    return dit


def test_without_a_picture_the_reference_model_is_exactly_the_plain_model():
    torch.manual_seed(0)
    plain = DiT(make_config("tiny"))
    torch.manual_seed(0)
    ref = DiT(make_config("tiny", reference=True))
    shared = plain.state_dict()
    assert all(torch.equal(shared[k], v) for k, v in ref.state_dict().items() if not k.startswith(PREFIX))
    plain = _perturbed(make_config("tiny"))
    assert load_dit_weights(ref, plain.state_dict()) == [k for k in ref.state_dict() if k.startswith(PREFIX)]
    assert load_dit_weights(DiT(make_config("tiny", reference=True)), ref.state_dict()) == []
    z, t = torch.randn(2, 8, 8, 16, 16), torch.tensor([0.3, 0.9])
    txt, pooled, mask = plain.encode_text(torch.tensor([text.tokenize(["a", "red", "circle"])] * 2))
    with torch.no_grad():
        want = plain(z, t, txt, pooled, mask)
        assert torch.equal(ref(z, t, txt, pooled, mask), want)
        with_picture = ref(z, t, txt, pooled, mask, reference=torch.rand(2, 3, 32, 32) * 2 - 1)
    assert with_picture.shape == want.shape and not torch.allclose(with_picture, want)
    with pytest.raises(ValueError):
        plain(z, t, txt, pooled, mask, reference=torch.zeros(2, 3, 32, 32))


def test_loading_rejects_anything_but_the_missing_reference_keys():
    ref = DiT(make_config("tiny", reference=True))
    state = _perturbed(make_config("tiny")).state_dict()
    del state["final.bias"]
    with pytest.raises(RuntimeError, match="final.bias"):
        load_dit_weights(ref, state)
    with pytest.raises(RuntimeError, match="unexpected"):
        load_dit_weights(DiT(make_config("tiny")), ref.state_dict())


def test_picture_to_reference_crops_the_centre_square():
    pic = np.zeros((60, 100, 3), np.uint8)
    pic[:, 20:80] = 255  # the centre 60x60 square is white, the sides black
    ref = picture_to_reference(pic)
    assert ref.shape == (1, 3, 32, 32) and torch.allclose(ref, torch.ones_like(ref))
    with pytest.raises(ValueError):
        picture_to_reference(np.zeros((8, 8), np.uint8))


# --- pipeline and CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cameo_weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-cameo-weights")
    save_sharded(_perturbed(make_config("tiny", reference=True)).state_dict(), folder, "dit")
    save_sharded(VideoVAE(VAEConfig()).state_dict(), folder, "vae")
    save_json({"dit": {"name": "tiny", "overrides": {"reference": True}}, "vae": {},
               "sampler": {"steps": 3, "guidance": 2.0, "shift": 3.0}, "version": "tiny-cameo"}, folder / "config.json")
    return folder


@pytest.fixture(scope="module")
def cameo_pipeline(cameo_weights):
    from generation.dit.pipeline import Pipeline

    return Pipeline.load(cameo_weights, "cpu")


def test_pipeline_generates_with_a_cameo(cameo_pipeline):
    pic_a, pic_b = world_sprites.make_sprite(1), np.full((50, 70, 3), 240, np.uint8)
    assert cameo_pipeline.supports_cameo
    a1 = cameo_pipeline.generate(CAMEO_PROMPT, seed=3, steps=2, cameo_image=pic_a)
    a2 = cameo_pipeline.generate(CAMEO_PROMPT, seed=3, steps=2, cameo_image=pic_a)
    b = cameo_pipeline.generate(CAMEO_PROMPT, seed=3, steps=2, cameo_image=pic_b)
    assert a1.frames.shape == (16, 64, 64, 3) and np.array_equal(a1.frames, a2.frames)
    assert not np.array_equal(a1.frames, b.frames)
    assert a1.reading.cameos == ["ana"] and a1.events[-1].prompt_reading.startswith("@cameo")
    remixed = cameo_pipeline.remix(CAMEO_PROMPT, a1.frames, strength=0.5, seed=1, steps=2, cameo_image=pic_b)
    assert remixed.frames.shape == (16, 64, 64, 3)


def test_cameo_clips_default_to_the_configured_cameo_guidance(cameo_pipeline):
    pic = world_sprites.make_sprite(1)
    sampler = cameo_pipeline.config.setdefault("sampler", {})
    sampler["cameo_guidance"] = 1.0
    try:
        default = cameo_pipeline.generate(CAMEO_PROMPT, seed=3, steps=2, cameo_image=pic).frames
        plain_default = cameo_pipeline.generate("a red ball", seed=3, steps=2).frames
    finally:
        sampler.pop("cameo_guidance")
    assert np.array_equal(default, cameo_pipeline.generate(CAMEO_PROMPT, seed=3, steps=2, guidance=1.0,
                                                           cameo_image=pic).frames)
    assert not np.array_equal(default, cameo_pipeline.generate(CAMEO_PROMPT, seed=3, steps=2, cameo_image=pic).frames)
    assert np.array_equal(plain_default, cameo_pipeline.generate("a red ball", seed=3, steps=2).frames)


def test_pipeline_cameo_errors(cameo_pipeline, tiny_pipeline):
    pic = world_sprites.make_sprite(1)
    assert not tiny_pipeline.supports_cameo
    with pytest.raises(ValueError, match="no cameo"):
        tiny_pipeline.generate(CAMEO_PROMPT, steps=1, cameo_image=pic)
    for pipe in (tiny_pipeline, cameo_pipeline):
        with pytest.raises(ValueError, match="names @ana but no cameo picture"):
            pipe.generate(CAMEO_PROMPT, steps=1)
    with pytest.raises(ValueError, match="names no @handle"):
        cameo_pipeline.generate("a red circle moving left", steps=1, cameo_image=pic)
    with pytest.raises(ValueError, match="more than one"):
        cameo_pipeline.generate("@ana left of @bo", steps=1, cameo_image=pic)
    with pytest.raises(ValueError, match="RGB uint8"):
        cameo_pipeline.generate(CAMEO_PROMPT, steps=1, cameo_image=np.zeros((8, 8, 3), np.float32))


def _png(path, picture):
    from PIL import Image

    Image.fromarray(picture).save(path)
    return str(path)


def test_cli_with_cameo(cameo_weights, tiny_weights, tmp_path, capsys):
    pic = _png(tmp_path / "me.png", world_sprites.make_sprite(4))
    out = tmp_path / "clip.npy"
    assert generate.main(["--prompt", "@me moving right on a green background", "--cameo", pic, "--steps", "2",
                          "--weights", str(cameo_weights), "--device", "cpu", "--out", str(out)]) == 0
    assert np.load(out).shape == (16, 64, 64, 3)
    assert "understood as: '@cameo moving right" in capsys.readouterr().out
    for argv, message in [
        (["--prompt", "@me waving", "--cameo", pic, "--weights", str(tiny_weights)], "has no cameo"),
        (["--prompt", "@me waving", "--cameo", str(tmp_path / "none.png"), "--weights", str(cameo_weights)], "no such file"),
        (["--prompt", "@me waving", "--weights", str(cameo_weights)], "no cameo picture was given"),
        (["--prompt", "a red circle", "--cameo", pic, "--weights", str(cameo_weights)], "names no @handle"),
    ]:
        with pytest.raises(SystemExit):
            generate.main(argv + ["--steps", "1", "--device", "cpu", "--out", str(out)])
        assert message in capsys.readouterr().err


# --- evaluation ---------------------------------------------------------------------------------


def test_ssim_known_cases():
    rng = np.random.default_rng(0)
    img = rng.uniform(0, 255, (16, 16, 3))
    assert image_metrics.ssim(img, img) == pytest.approx(1.0)
    a, b = np.full((16, 16), 100.0), np.full((16, 16), 150.0)  # flat images: only the luminance term remains
    c1 = (0.01 * 255) ** 2
    assert image_metrics.ssim(a, b) == pytest.approx((2 * 100 * 150 + c1) / (100 ** 2 + 150 ** 2 + c1))
    noisy = [image_metrics.ssim(img, np.clip(img + rng.normal(0, s, img.shape), 0, 255)) for s in (5, 20, 60)]
    assert noisy[0] > noisy[1] > noisy[2] and noisy[2] < 0.85
    assert image_metrics.ssim(img, 255 - img) < 0
    assert image_metrics.psnr(img, img + 1) == pytest.approx(10 * np.log10(255 ** 2))


def test_eval_cameo_ground_truth_is_faithful_and_finds_attributes(tmp_path):
    report = eval_cameo.main(["--ground-truth", "--per-kind", "1", "--no-photos", "--out", str(tmp_path / "r.json")])
    assert report["fidelity"]["ssim"] > 0.85 and report["fidelity"]["stability"] > 0.95
    assert report["accuracy"]["plain"]["all_correct"] == 1.0
    assert all(v == 1.0 for k, v in report["accuracy"]["cameo"].items() if v is not None)
    assert load_json(tmp_path / "r.json")["settings"]["mode"] == "ground_truth"
    # a wrong picture in the right place scores low
    item = eval_cameo.item_set(per_kind=1, with_photos=False)[0]
    frames = world.render_numpy(item["cameo"])
    other = np.ascontiguousarray(np.rot90(item["reference"], 1))
    assert eval_cameo.fidelity(frames, item["cameo"], other)["ssim"] < eval_cameo.fidelity(
        frames, item["cameo"], item["reference"])["ssim"] - 0.3


def test_eval_cameo_sheet_shows_the_picture_then_the_clip(tmp_path):
    from PIL import Image

    out = tmp_path / "sheet.png"
    report = eval_cameo.main(["--ground-truth", "--per-kind", "1", "--no-photos", "--sheet", str(out)])
    img = np.asarray(Image.open(out).convert("RGB"))
    items = eval_cameo.item_set(per_kind=1, with_photos=False)
    assert report["settings"]["items"] == len(items)
    scale, gap, label_width = 2, 4, 300  # contact_sheet.sheet's layout
    assert img.shape[0] == len(items) * (64 * scale + gap) + gap
    # row 1, tile 1: the 32-px picture blown up 2x (frame px) and 2x (sheet scale)
    tile = img[gap:gap + 64 * scale, label_width + gap:label_width + gap + 64 * scale]
    assert np.array_equal(tile[::4, ::4], items[0]["reference"])
    # tile 2: the clip's first frame
    first = world.render_numpy(items[0]["cameo"])[0]
    x = label_width + gap + (64 * scale + gap)
    assert np.array_equal(img[gap:gap + 64 * scale:2, x:x + 64 * scale:2], first)


# --- training -----------------------------------------------------------------------------------


def test_training_with_cameos_saves_and_resumes(tiny_weights, tmp_path):
    from generation.dit import train
    from generation.dit.pipeline import Pipeline

    out = tmp_path / "run"
    common = ["--config", "tiny", "--vae-from", str(tiny_weights), "--calib-clips", "4", "--batch", "4",
              "--pool", "2000", "--sprites", "1000", "--cameo-fraction", "0.5", "--device", "cpu", "--log-every", "1"]
    # from plain weights (the reference keys start fresh), with a short decoder fine-tune
    train.main(common + ["--out", str(out), "--resume", str(tiny_weights), "--dit-minutes", "0.04",
                         "--vae-decoder-minutes", "0.02", "--vae-batch", "2"])
    log = (out / "train_log.txt").read_text()
    assert "new, initialised: reference." in log and "cameo clips" in log and "vae decoder:" in log
    config = load_json(out / "config.json")
    assert config["dit"]["overrides"] == {"reference": True} and config["training"]["steps"] >= 1
    resumed = DiT(make_config("tiny", reference=True))
    assert load_dit_weights(resumed, Pipeline.load(out, "cpu").dit.state_dict()) == []  # what --resume out does


def test_training_batches_put_pictures_last_and_drop_some():
    from types import SimpleNamespace

    from generation.dit import train

    args = SimpleNamespace(cameo_fraction=0.5, p_ref_drop=0.25, sprites=1000)
    batches = train.Batches(args, torch.device("cpu"), 0, 2000, 0.0, 16)
    spec_t, ids, reference = batches()
    assert (batches.n_ref, batches.n_noref) == (6, 2) and reference.shape == (6, 3, 32, 32)
    assert spec_t["cameo"].tolist() == [False] * 8 + [True] * 8
    assert (ids[8:] == text.TOKEN_ID["@cameo"]).any(1).all() and not (ids[:8] == text.TOKEN_ID["@cameo"]).any()
    assert reference.min() >= -1 and reference.max() <= 1
    pictures = ((reference + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(pictures, spec_t["sprite"][10:])
    video = world.render_tensors(spec_t)
    assert video.shape == (16, 16, 64, 64, 3)
