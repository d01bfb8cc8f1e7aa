"""The likeness check on generated frames, and cameo restrictions in the prompt check."""
import random

import numpy as np
import pytest

from cameos.services import cameos_found_in_frames
from generation.dit import world
from safety.restrictions import SIMILARITY_THRESHOLD, restriction_phrase, restrictions_assess
from tests.cameos.restriction_cases import CASES


def _clip_with(sprite: np.ndarray, background=(50, 90, 220), side=22) -> np.ndarray:
    """16 frames of 64x64: the picture, `side` pixels square, moving right over a plain background."""
    from PIL import Image

    small = np.asarray(Image.fromarray(sprite).resize((side, side), Image.BILINEAR))
    frames = np.zeros((16, 64, 64, 3), np.uint8)
    frames[:] = background
    for t in range(16):
        x = 4 + 2 * t
        frames[t, 20:20 + side, x:x + side] = small
    return frames


@pytest.mark.django_db
def test_a_registered_cameo_shown_without_consent_is_found_and_an_allowed_one_is_not(alice, bob, make_cameo):
    ana = make_cameo(alice, "ana_cam", image=None, kind="photo", seed=41)
    make_cameo(bob, "bob_cam", kind="face", seed=42)
    from cameos.services import cameo_image_array

    clip = _clip_with(cameo_image_array(ana))
    assert [c.handle for c in cameos_found_in_frames(clip, [])] == ["ana_cam"]
    assert cameos_found_in_frames(clip, [ana.pk]) == []


@pytest.mark.django_db
def test_ordinary_flatland_clips_show_no_cameo(alice, make_cameo):
    for i, kind in enumerate(["face", "photo", "shapes", "texture"]):
        make_cameo(alice, f"cam_{kind}", kind=kind, seed=50 + i)
    rng = random.Random(3)
    for _ in range(12):
        assert cameos_found_in_frames(world.render_numpy(world.sample_spec(rng)), []) == []


@pytest.mark.parametrize("text, phrase", [
    ("Never in political videos", "political"), ("no alcohol please", "alcohol"),
    ("don't put me in anything violent", "violent"), ("Never with cats!", "cats"),
])
def test_a_restriction_is_read_as_the_topic_it_rules_out(text, phrase):
    assert restriction_phrase(text) == phrase


def test_restrictions_refuse_their_topic_and_allow_benign_lookalikes():
    refused, allowed = [], []
    for restriction, violating, benign in CASES:
        refused += [p for p in violating if restrictions_assess(p, [restriction]) is None]
        allowed += [(p, restrictions_assess(p, [restriction])) for p in benign
                    if restrictions_assess(p, [restriction]) is not None]
    assert refused == [] and allowed == []
    assert 0.3 < SIMILARITY_THRESHOLD < 0.6


@pytest.mark.django_db
def test_job_create_refuses_a_prompt_that_breaks_the_cameos_restriction(alice, bob, make_cameo, client_for):
    cameo = make_cameo(alice, "ana_cam", permission="everyone")
    from cameos.services import restriction_add

    restriction_add(cameo=cameo, user=alice, text="never in political videos")
    r = client_for(bob).post("/api/generations", {"prompt": "@ana_cam giving a speech at an election rally"},
                             format="json")
    assert r.status_code == 400 and "never in political videos" in r.json()["prompt"][0]
    assert "election" in r.json()["prompt"][0]
    ok = client_for(bob).post("/api/generations", {"prompt": "@ana_cam at a birthday party"}, format="json")
    assert ok.status_code == 201
    # the owner is not limited by their own restrictions
    own = client_for(alice).post("/api/generations", {"prompt": "@ana_cam giving a speech at an election rally"},
                                 format="json")
    assert own.status_code == 201
    bad = client_for(alice).post("/api/cameos/ana_cam/restrictions", {"text": "never"}, format="json")
    assert bad.status_code == 400 and "text" in bad.json()


@pytest.mark.django_db
@pytest.mark.parametrize("prompt, status, words", [
    ("@ana_cam and @bob_cam dancing", 400, "at most one cameo"),
    ("write to me@example.com", 400, "not a cameo handle"),
    ("@nobody_here waving", 403, "no cameo @nobody_here"),
    ("@ana_cam waving", 201, ""),
])
def test_prompt_mentions(alice, bob, make_cameo, client_for, prompt, status, words):
    make_cameo(alice, "ana_cam", permission="everyone")
    make_cameo(bob, "bob_cam", permission="everyone", kind="photo")
    r = client_for(bob).post("/api/generations", {"prompt": prompt}, format="json")
    assert r.status_code == status, r.json()
    if words:
        assert words in r.json()["prompt"][0]


@pytest.mark.django_db
def test_a_cameo_clip_gets_the_cameo_guidance_unless_one_is_asked_for(alice, bob, make_cameo, client_for):
    from generation.services.jobs import DEFAULT_CAMEO_GUIDANCE

    make_cameo(alice, "ana_cam", permission="everyone")
    client = client_for(bob)
    cameo = client.post("/api/generations", {"prompt": "@ana_cam waving"}, format="json").json()
    asked = client.post("/api/generations", {"prompt": "@ana_cam waving", "guidance": 3.0}, format="json").json()
    plain = client.post("/api/generations", {"prompt": "a red ball bouncing"}, format="json").json()
    assert (cameo["guidance"], asked["guidance"], plain["guidance"]) == (DEFAULT_CAMEO_GUIDANCE, 3.0, 2.0)
