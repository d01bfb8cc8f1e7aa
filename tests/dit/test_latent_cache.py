"""The training-time latent cache: replayed batches keep the Batches layout, rows stay with their
captions and pictures, and a run with --latent-reuse encodes fewer clips than it trains on."""

import torch

from generation.dit.checkpoint import load_json
from generation.dit.train_data import LatentCache

GROUPS = (5, 1, 2)  # plain, cameo without picture, cameo with picture


def tagged_batch(batch_no: int):
    """x0, ids and references whose every value is a row tag: group * 100 + batch * 10 + row (exact in
    bf16, as the cache keeps latents)."""
    tags = torch.tensor([g * 100 + batch_no * 10 + r for g, n in enumerate(GROUPS) for r in range(n)])
    x0 = tags.float().view(-1, 1, 1, 1, 1).expand(-1, 2, 2, 2, 2).clone()
    ids = tags.view(-1, 1).expand(-1, 3).clone()
    reference = tags[-GROUPS[2]:].float().view(-1, 1, 1, 1).expand(-1, 3, 4, 4).clone()
    return x0, ids, reference


def test_replayed_rows_keep_their_group_caption_and_picture():
    cache = LatentCache(GROUPS, capacity_clips=8 * 4, reuse=2.0, seed=0)  # 4 batches kept
    for b in range(6):  # two more than it holds: the oldest are overwritten
        cache.add(*tagged_batch(b))
    torch.manual_seed(0)
    for _ in range(50):
        x0, ids, reference = cache.sample()
        assert x0.shape == (8, 2, 2, 2, 2) and ids.shape == (8, 3) and reference.shape == (2, 3, 4, 4)
        tags = x0[:, 0, 0, 0, 0].long()
        assert (x0 == tags.float().view(-1, 1, 1, 1, 1)).all() and (ids == tags.view(-1, 1)).all()
        groups = (tags // 100).tolist()
        assert groups == [0] * 5 + [1] + [2, 2]  # the layout is kept
        assert ((tags % 100) // 10 >= 2).all()  # batches 0 and 1 were overwritten
        assert (reference[:, 0, 0, 0].long() == tags[-2:]).all()  # each picture with its own clip


def test_fresh_batches_until_warm_then_one_in_reuse():
    cache = LatentCache((4, 0, 0), capacity_clips=4 * 100, reuse=4.0, seed=1)
    x0 = torch.zeros(4, 1, 1, 1, 1)
    ids = torch.zeros(4, 2, dtype=torch.long)
    for _ in range(8):
        assert cache.want_fresh()
        cache.add(x0, ids, None)
    fresh = sum(cache.want_fresh() for _ in range(4000)) / 4000
    assert 0.22 < fresh < 0.28
    x0_s, ids_s, reference = cache.sample()
    assert x0_s.shape == (4, 1, 1, 1, 1) and ids_s.shape == (4, 2) and reference is None
    assert all(LatentCache((4, 0, 0), 400, reuse=1.0, seed=2).want_fresh() for _ in range(100))


def test_training_with_latent_reuse_encodes_fewer_clips(tiny_weights, tmp_path):
    from generation.dit import train

    out = tmp_path / "run"
    train.main(["--config", "tiny", "--vae-from", str(tiny_weights), "--calib-clips", "4", "--batch", "4",
                "--pool", "2000", "--sprites", "1000", "--cameo-fraction", "0.5", "--device", "cpu",
                "--log-every", "1", "--out", str(out), "--resume", str(tiny_weights), "--dit-minutes", "5",
                "--dit-steps", "12", "--latent-reuse", "3", "--latent-cache-clips", "16"])
    info = load_json(out / "config.json")["training"]
    assert "latent cache: 4 batches" in (out / "train_log.txt").read_text()
    # a step count, not a time budget: a loaded CI machine ran 6 steps in 15 s, too few to be sure of a replay
    assert info["steps"] == 12 and info["clips"] == 4 * info["steps"]
    assert info["clips_encoded"] < info["clips"]  # replayed steps skipped rendering and encoding
