"""The training spec pool: --kind-weights sets how often each kind of clip is drawn."""

import random
from collections import Counter

import torch

from generation.dit import world
from generation.dit.train_data import SpecPool


def kinds_of(n: int, kind_weights=None) -> Counter:
    rng = random.Random(3)
    return Counter(world.sample_spec(rng, "train", kind_weights=kind_weights).kind for _ in range(n))


def test_default_kind_mix_is_unchanged_and_weights_move_it():
    default = kinds_of(3000)
    assert abs(default["single"] / 3000 - 0.6) < 0.04 and abs(default["pair"] / 3000 - 0.25) < 0.04
    pairs_heavy = kinds_of(3000, (0.2, 0.7, 0.1))
    assert abs(pairs_heavy["pair"] / 3000 - 0.7) < 0.04 and abs(pairs_heavy["wall"] / 3000 - 0.1) < 0.03
    assert kinds_of(200, (0.0, 1.0, 0.0)) == Counter({"pair": 200})


def test_spec_pool_follows_the_kind_weights():
    cpu = torch.device("cpu")
    walls = SpecPool(2000, seed=5, device=cpu, p_uncond=0.0, kind_weights=(0.0, 0.0, 1.0))
    assert bool((walls.tensors["wall"] > 0).all())
    pairs = SpecPool(2000, seed=5, device=cpu, p_uncond=0.0, kind_weights=(0.0, 1.0, 0.0))
    second_present = pairs.tensors["track"][:, 1, 0, 0] > -999  # absent objects sit far off-canvas
    assert bool(second_present.all()) and not bool((pairs.tensors["wall"] > 0).any())
    default = SpecPool(2000, seed=5, device=cpu, p_uncond=0.0)
    assert 0.18 < float((default.tensors["track"][:, 1, 0, 0] > -999).float().mean()) < 0.32
