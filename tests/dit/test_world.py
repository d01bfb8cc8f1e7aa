import random

import numpy as np

from generation.dit import captions, text, world


def _specs(n, split, seed=0):
    rng = random.Random(seed)
    return [world.sample_spec(rng, split=split, kind=world.KINDS[i % 3]) for i in range(n)]


def test_renders_only_vocabulary_colours():
    specs = _specs(60, "train") + _specs(30, "heldout")
    video = world.render(specs).numpy()
    assert video.shape == (90, world.FRAMES, world.RESOLUTION, world.RESOLUTION, 3) and video.dtype == np.uint8
    allowed = {tuple(c) for c in world.PALETTE.values()} | {world.WALL_RGB}
    for spec, clip in zip(specs, video):
        colours = {tuple(c) for c in np.unique(clip.reshape(-1, 3), axis=0)}
        assert colours <= allowed
        expected = {world.PALETTE[spec.background]} | {world.PALETTE[o.colour] for o in spec.objects}
        if spec.kind == "wall":
            expected.add(world.WALL_RGB)
        assert colours <= expected
        assert world.PALETTE[spec.background] in colours and world.PALETTE[spec.subject.colour] in colours


def test_backgrounds_never_the_object_colour():
    for spec in _specs(300, "train"):
        assert spec.background not in {o.colour for o in spec.objects}


def test_heldout_split_is_disjoint_from_training():
    train, held = _specs(600, "train", 1), _specs(300, "heldout", 2)
    assert not any(world.is_held_out(s) for s in train)
    assert all(world.is_held_out(s) for s in held)

    def key(s):
        a = s.subject
        if s.kind == "pair":
            return ("pair", a.colour, a.shape, s.objects[1].colour, s.objects[1].shape)
        return ("single", a.colour, a.shape, s.background)

    assert not ({key(s) for s in train} & {key(s) for s in held})


def test_training_captions_use_only_the_vocabulary():
    rng = random.Random(3)
    for spec in _specs(200, "train"):
        caption = training_caption = captions.training_caption(spec, rng)
        ids = text.tokenize_caption(training_caption)
        words = [w for w in caption.replace(",", " , ").split()]
        assert all(w in text.TOKEN_ID for w in words), caption
        assert ids[0] == text.BOS
