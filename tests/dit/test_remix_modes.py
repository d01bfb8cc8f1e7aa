"""Remix modes of the pipeline: video to video (SDEdit) and extend (latent in-painting), and the CLI."""
import numpy as np
import pytest
import torch

from generation.dit import generate, world
from generation.dit.video_io import read_video, write_mp4

PROMPT = "a red circle moving left on a blue background"
EDIT = "a green circle moving left on a blue background"


def _parent_clip(seed: int = 3) -> np.ndarray:
    import random

    rng = random.Random(seed)
    while True:
        spec = world.sample_spec(rng, split="heldout", kind="single")
        if spec.subject.motion in ("left", "right"):
            return world.render_numpy(spec)


def test_iter_generate_is_unchanged_by_the_remix_modes(tiny_pipeline):
    """iter_generate's events match a plain sampler run written out here."""
    from generation.dit import sampling
    from generation.dit.text import tokenize

    got = list(tiny_pipeline.iter_generate(PROMPT, seed=4, steps=3))
    pipe = tiny_pipeline
    reading = pipe.read_prompt(PROMPT)
    ids = torch.tensor([tokenize(reading.words), tokenize([])])
    with torch.no_grad():
        text, pooled, mask = pipe.dit.encode_text(ids)

    def model_x0(z, t, both):
        sel = slice(0, 2) if both else slice(0, 1)
        tx, pl, mk = text[sel], pooled[sel], mask[sel]
        if both:
            tx, pl, mk = (x.repeat_interleave(z.shape[0] // 2, 0) for x in (tx, pl, mk))
        return pipe.dit(z, t, tx, pl, mk).float()

    cfg = pipe.dit.cfg
    noise = torch.randn(1, cfg.latent_channels, *cfg.latent_size, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        steps = list(sampling.sample_iter(sampling.guided(model_x0, 2.0), noise, 3, 3.0))
        want = pipe._decode(steps[-1].z)
    assert np.array_equal(got[-1].frames, want)


def test_remix_shapes_events_and_determinism(tiny_pipeline):
    parent = _parent_clip()
    r1 = tiny_pipeline.remix(EDIT, parent, strength=0.7, seed=5, steps=6)
    assert r1.frames.dtype == np.uint8 and r1.frames.shape == (16, 64, 64, 3)
    # only the schedule's steps below t = 0.7 run
    from generation.dit import sampling

    ts = sampling.schedule(6, 3.0)
    n = int((ts <= 0.7 + 1e-6).sum()) - 1
    assert 0 < n < 6 and [e.step for e in r1.events] == list(range(1, n + 1))
    assert all(e.steps == n for e in r1.events) and all(e.frames is None for e in r1.events[:-1])
    r2 = tiny_pipeline.remix(EDIT, parent, strength=0.7, seed=5, steps=6)
    assert np.array_equal(r1.frames, r2.frames)
    assert not np.array_equal(r1.frames, tiny_pipeline.remix(EDIT, parent, strength=0.7, seed=6, steps=6).frames)
    # strength 1 is generation from noise with the same seed
    full = tiny_pipeline.remix(EDIT, parent, strength=1.0, seed=5, steps=6)
    assert np.array_equal(full.frames, tiny_pipeline.generate(EDIT, seed=5, steps=6).frames)


def test_remix_accepts_any_clip_size_and_rejects_bad_arguments(tiny_pipeline):
    odd = np.random.default_rng(0).integers(0, 255, (7, 40, 50, 3), dtype=np.uint8)
    assert tiny_pipeline.remix(EDIT, odd, strength=0.5, seed=1, steps=3).frames.shape == (16, 64, 64, 3)
    with pytest.raises(ValueError, match="strength"):
        tiny_pipeline.remix(EDIT, odd, strength=1.5, steps=3)
    with pytest.raises(ValueError, match="parent frames"):
        tiny_pipeline.remix(EDIT, odd[0], strength=0.5, steps=3)


def test_extend_keeps_the_parent_and_adds_frames(tiny_pipeline):
    parent = _parent_clip()
    r = tiny_pipeline.extend(PROMPT, parent, new_frames=8, seed=2, steps=3)
    assert r.frames.shape == (24, 64, 64, 3) and [e.step for e in r.events] == [1, 2, 3]
    assert np.array_equal(r.frames[:16], parent)
    assert np.array_equal(r.frames, tiny_pipeline.extend(PROMPT, parent, new_frames=8, seed=2, steps=3).frames)
    assert tiny_pipeline.extend(PROMPT, parent, new_frames=4, seed=2, steps=2).frames.shape == (20, 64, 64, 3)
    for bad in (0, 3, 16, True):
        with pytest.raises(ValueError, match="new_frames"):
            tiny_pipeline.extend(PROMPT, parent, new_frames=bad, steps=2)


def test_extend_holds_the_known_latent_frames_on_the_parents_path(tiny_pipeline):
    """Latent in-painting: every intermediate latent's known frames are the parent's latent noised to
    that step's t with the run's noise, and the final ones are the parent's latent itself."""
    pipe = tiny_pipeline
    parent = _parent_clip()
    known = pipe.encode_frames(pipe.fit_frames(parent, keep="last"))[:, :, 4:]  # new_frames 8 -> 4 known
    noise = pipe._noise(9)
    from generation.dit import sampling

    captured = []
    real = sampling.sample_iter

    def spy(*args, **kwargs):
        for step in real(*args, **kwargs):
            captured.append((step.t, step.z.clone()))
            yield step

    sampling.sample_iter = spy
    try:
        list(pipe.iter_extend(PROMPT, parent, new_frames=8, seed=9, steps=4))
    finally:
        sampling.sample_iter = real
    assert len(captured) == 4
    for t, z in captured:
        torch.testing.assert_close(z[:, :, :4], (1 - t) * known + t * noise[:, :, :4], atol=1e-4, rtol=1e-4)
    assert torch.equal(captured[-1][1][:, :, :4], known)


def test_real_weights_strength_zero_returns_the_parent_and_low_strength_stays_close(pipeline):
    parent = _parent_clip()
    zero = pipeline.remix(EDIT, parent, strength=0.0, seed=1, steps=20)
    assert len(zero.events) == 1 and zero.frames.shape == parent.shape
    err0 = np.abs(zero.frames.astype(int) - parent.astype(int)).mean()
    assert err0 < 4, err0  # the parent through the autoencoder
    low = pipeline.remix(EDIT, parent, strength=0.2, seed=1, steps=20).frames
    high = pipeline.remix(EDIT, parent, strength=1.0, seed=1, steps=20).frames
    err_low = np.abs(low.astype(int) - parent.astype(int)).mean()
    err_high = np.abs(high.astype(int) - parent.astype(int)).mean()
    assert err_low < 8 < err_high, (err_low, err_high)


def test_cli_remix_and_extend(tiny_weights, tmp_path, capsys):
    parent = _parent_clip()
    src = tmp_path / "parent.mp4"
    write_mp4(parent, src)
    out = tmp_path / "remix.npy"
    args = ["--weights", str(tiny_weights), "--device", "cpu", "--steps", "3", "--seed", "1"]
    assert generate.main(["--mode", "remix", "--parent", str(src), "--strength", "0.6", "--prompt", EDIT,
                          "--out", str(out), *args]) == 0
    assert read_video(out).shape == (16, 64, 64, 3)
    np.save(tmp_path / "parent.npy", parent)
    ext = tmp_path / "ext.mp4"
    assert generate.main(["--mode", "extend", "--parent", str(tmp_path / "parent.npy"), "--prompt", PROMPT,
                          "--out", str(ext), *args]) == 0
    assert read_video(ext).shape == (24, 64, 64, 3)
    assert "remix, seed 1" in capsys.readouterr().out
    for bad in (["--mode", "remix", "--prompt", EDIT, "--out", str(out)],  # no parent
                ["--mode", "remix", "--parent", str(tmp_path / "nope.npy"), "--prompt", EDIT, "--out", str(out)],
                ["--mode", "remix", "--parent", str(src), "--strength", "2", "--prompt", EDIT, "--out", str(out)],
                ["--parent", str(src), "--prompt", EDIT, "--out", str(out)],
                ["--mode", "extend", "--parent", str(src), "--strength", "0.5", "--prompt", EDIT, "--out", str(out)],
                ["--mode", "extend", "--parent", str(src), "--new-frames", "3", "--prompt", EDIT, "--out", str(out),
                 *args]):
        with pytest.raises(SystemExit) as exc:
            generate.main(bad)
        assert exc.value.code == 2


def test_eval_remix_reports_both_modes_and_the_in_frame_subset(tiny_weights, tmp_path):
    from generation.dit import eval_remix

    report = eval_remix.main(["--n", "4", "--steps", "2", "--strength", "0.7", "--weights", str(tiny_weights),
                              "--device", "cpu", "--out", str(tmp_path / "r.json")])
    assert set(report["remix"]["0.7"]["rates"]) == {"edit_applied", "direction_kept", "track_r_ok"}
    rows = report["extend"]["rows"]
    assert len(rows) == 4 and all(isinstance(r["stays_in_frame"], bool) for r in rows)
    specs = eval_remix.held_out_specs(4)
    for spec, row in zip(specs, rows):  # the flag is the true motion's centre after the 8 new frames
        track = spec.subject.track
        end = track[-1] + 8 * (track[-1] - track[-2])
        assert row["stays_in_frame"] == bool(((end >= 0) & (end <= 63)).all())
    for subset in ("stays_in_frame", "truth_direction_readable"):
        kept = report["extend"][subset]
        assert kept is None or kept["n"] == sum(r[subset] for r in rows)


def test_true_continuation_carries_the_parents_velocity_and_stops_at_the_edge():
    from generation.dit import detector, eval_remix, world

    for spec in eval_remix.held_out_specs(8):
        track = spec.subject.track
        truth = eval_remix.true_continuation(spec, 8)
        assert truth.shape == (8, world.RESOLUTION, world.RESOLUTION, 3) and truth.dtype == np.uint8
        first = track[-1] + (track[-1] - track[-2])
        obj = detector.analyze(truth, n_objects=1).objects[0]
        visible = np.all((first >= 9) & (first <= world.RESOLUTION - 10))
        if visible and spec.subject.shape != "triangle":  # a triangle's mask centroid sits below its centre
            assert np.hypot(*(obj.centroids[0] - first)) < 1.0
        lo, hi = world.track_bounds(spec.subject.half_size)
        end = track[-1] + 8 * (track[-1] - track[-2])
        if np.all((end >= lo) & (end <= hi)):  # never reaches the edge: the direction reads true
            assert obj.motion == spec.subject.motion
        if np.all((first < lo) | (first > hi)):  # already at the edge: the world keeps it there, still
            assert obj.motion == "still"
