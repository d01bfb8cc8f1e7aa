"""Captions for Flatland clips, in many phrasings.

Training captions vary word order, verbs and optional attributes so the text encoder learns the
attributes rather than one sentence shape. `canonical_caption` is the one plain phrasing the
evaluation's template prompts use. Paraphrases with words no template uses live in `eval.py`, so
that the held-out test of free text stays honest.
"""

from __future__ import annotations

import random

from .world import ClipSpec, ObjectSpec

MOTION_PHRASES = {
    "left": ["moving left", "moves left", "moving to the left", "going left", "travels to the left"],
    "right": ["moving right", "moves right", "moving to the right", "going right", "travels to the right"],
    "up": ["moving up", "moves up", "going up", "moving upwards", "travels up"],
    "down": ["moving down", "moves down", "going down", "moving downwards", "travels down"],
    "still": ["still", "standing still", "not moving", "at rest", "staying still"],
    "falling": ["falling", "falls and bounces", "falling and bouncing", "dropped and bouncing on the floor",
                "falling down and bouncing"],
}
RELATION_PHRASES = {
    "left of": ["to the left of", "left of", "on the left of"],
    "right of": ["to the right of", "right of", "on the right of"],
    "above": ["above", "over", "on top of"],
    "below": ["below", "under", "beneath"],
}
BACKGROUND_PHRASES = ["on a {} background", "against a {} background", "with a {} background",
                      "over a {} background", "in front of a {} background"]
WALL_PHRASES = ["behind a gray wall", "passing behind a gray wall", "going behind a gray wall"]


def _object_words(rng: random.Random, o: ObjectSpec, p_size: float) -> str:
    words = [o.shape] if o.is_cameo else [o.colour, o.shape]  # a cameo is named by its token alone
    if rng.random() < p_size:
        words.insert(0, o.size)
    return " ".join(words)


def _article(rng: random.Random) -> str:
    return rng.choice(["a ", "a ", "one ", ""])


def training_caption(spec: ClipSpec, rng: random.Random, p_size: float = 0.75, p_background: float = 0.85) -> str:
    """A random phrasing; size and background are sometimes left out (then they are unspecified)."""
    a = spec.subject
    subject = _article(rng) + _object_words(rng, a, p_size)
    if spec.kind == "pair":
        other = "a " + _object_words(rng, spec.objects[1], p_size)
        relation = rng.choice(RELATION_PHRASES[spec.relation])
        body = f"{subject} {relation} {other}"
    elif spec.kind == "wall":
        body = f"{subject} {rng.choice(MOTION_PHRASES[a.motion])} {rng.choice(WALL_PHRASES)}"
    else:
        body = f"{subject} {rng.choice(MOTION_PHRASES[a.motion])}"
    if rng.random() >= p_background:
        return body
    background = rng.choice(BACKGROUND_PHRASES).format(spec.background)
    if rng.random() < 0.25:
        return f"{background}, {body}"
    return f"{body} {background}"


def canonical_caption(spec: ClipSpec) -> str:
    """The plain template phrasing, every attribute named (used by the evaluation)."""
    a = spec.subject
    subject = f"a {a.size} {a.shape}" if a.is_cameo else f"a {a.size} {a.colour} {a.shape}"
    background = f"on a {spec.background} background"
    if spec.kind == "pair":
        b = spec.objects[1]
        return f"{subject} {RELATION_PHRASES[spec.relation][0]} a {b.size} {b.colour} {b.shape} {background}"
    if spec.kind == "wall":
        return f"{subject} {MOTION_PHRASES[a.motion][0]} behind a gray wall {background}"
    return f"{subject} {MOTION_PHRASES[a.motion][0]} {background}"
