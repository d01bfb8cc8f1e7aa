"""The feature space of For You: the Flatland attributes of a prompt, as a 30-bit set.

Why attributes and not MiniLM embeddings for "similar prompts" and steering:

- Every video on this site is made by a model that only understands the Flatland vocabulary (eight
  colours, backgrounds, three shapes, two sizes, six motions, pairs, walls, cameos; DESIGN.md).
  `generation.dit.text.PromptNormalizer` already reads any free-text prompt onto those words, so
  the attributes ARE what the video shows, as the generator understood the prompt. A 384-d MiniLM
  vector of the raw prompt would also encode wording the video does not show.
- One BIGINT per video (8 bytes, written once at creation) versus 1.5 KB of float32; candidates
  are read in SQL with a bitwise AND on both SQLite and PostgreSQL (no pgvector needed), and
  similarity is a popcount-weighted dot product in Python.
- The same keys are the steering chips ("more bouncing balls, less purple" -> motion:falling +1,
  shape:circle +1, colour:purple -1) and the words of the explanations ("you liked purple
  circles"): one space for ranking, steering and "why am I seeing this".
- Cheap and deterministic: prompts in the vocabulary never load a model; the rare unknown word
  costs one cached MiniLM lookup in the normalizer, so seeding 100k prompts takes seconds, where
  embedding them with MiniLM on CPU would take ~20 minutes.

Bit positions are a stored contract: append new attributes at the end, never reorder.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

COLOURS = ["red", "orange", "yellow", "green", "blue", "purple", "white", "black"]
SHAPES = ["circle", "square", "triangle"]
SIZES = ["small", "big"]
MOTIONS = ["left", "right", "up", "down", "still", "falling"]

_LABELS: dict[str, str] = {}
for _c in COLOURS:
    _LABELS[f"colour:{_c}"] = _c
for _c in COLOURS:
    _LABELS[f"background:{_c}"] = f"{_c} backgrounds"
for _s in SHAPES:
    _LABELS[f"shape:{_s}"] = f"{_s}s"
_LABELS.update({"size:small": "small things", "size:big": "big things"})
_LABELS.update({"motion:left": "moving left", "motion:right": "moving right", "motion:up": "moving up",
                "motion:down": "moving down", "motion:still": "standing still", "motion:falling": "bouncing"})
_LABELS.update({"scene:pair": "two objects", "scene:wall": "behind a wall", "cameo": "cameos"})

ATTRIBUTES: list[str] = list(_LABELS)  # bit i <-> ATTRIBUTES[i]
BIT = {name: 1 << i for i, name in enumerate(ATTRIBUTES)}
assert len(ATTRIBUTES) <= 62  # a signed BIGINT, sign bit unused


def label(attribute: str) -> str:
    """Words for people: "colour:purple" -> "purple", "motion:falling" -> "bouncing"."""
    return _LABELS[attribute]


def mask_of(attributes) -> int:
    bits = 0
    for name in attributes:
        bits |= BIT[name]
    return bits


@functools.lru_cache(maxsize=65536)
def attributes_of(mask: int) -> tuple[str, ...]:
    """The attribute names of a bit set (cached: a site has a few thousand distinct sets)."""
    return tuple(name for name in ATTRIBUTES if mask & BIT[name])


@functools.lru_cache(maxsize=1)
def _normalizer():
    from generation.dit.text import PromptNormalizer

    return PromptNormalizer()


FALLING_WORDS = {"falling", "falls", "fall", "bouncing", "bounces", "bounce", "dropped", "drop"}
DIRECTION_WORDS = {"left": "left", "right": "right", "up": "up", "upwards": "up", "down": "down", "downwards": "down"}
STILL_WORDS = {"still", "rest", "resting", "standing"}
SHAPE_WORDS = set(SHAPES)


def tags_for_words(words: list[str]) -> set[str]:
    """Attributes of a normalized Flatland word sequence (the normalizer's output)."""
    tags: set[str] = set()
    shapes = 0
    for i, word in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if word in COLOURS:
            tags.add(f"background:{word}" if nxt in ("background", "backgrounds") else f"colour:{word}")
        elif word in SHAPE_WORDS:
            tags.add(f"shape:{word}")
            shapes += 1
        elif word in SIZES:
            tags.add(f"size:{word}")
        elif word in FALLING_WORDS:
            tags.add("motion:falling")
        elif word in STILL_WORDS or (word == "not" and nxt == "moving"):
            tags.add("motion:still")
        elif word in DIRECTION_WORDS and nxt != "of":  # "left of" is a relation, not a motion
            tags.add(f"motion:{DIRECTION_WORDS[word]}")
        elif word == "wall":
            tags.add("scene:wall")
        elif word == "@cameo":
            tags.add("cameo")
    if shapes >= 2:
        tags.add("scene:pair")
    if "motion:falling" in tags:  # "falling down and bouncing": down is part of the fall
        tags -= {"motion:down", "motion:up"}
    return tags


def prompt_tags(prompt: str) -> int:
    """The attribute bit set of a prompt, read the way the generator reads it."""
    return mask_of(tags_for_words(_normalizer().normalize(prompt or "").words))


# --- steering text -> weighted chips -------------------------------------------------------------

MORE_CUES = {"more", "lots", "plenty", "extra", "love", "like", "want", "show", "give", "add", "prefer",
             "keep", "again", "plus", "yes"}
LESS_CUES = {"less", "fewer", "no", "not", "without", "stop", "hide", "avoid", "hate", "dont", "don't",
             "never", "none", "remove", "skip", "minus", "enough", "fewer"}
STRONG_CUES = {"no", "never", "without", "none", "stop", "hate", "much", "way", "lots", "tons", "loads",
               "really", "so", "love", "only"}
FILLER = {"of", "please", "videos", "video", "clips", "clip", "stuff", "things", "thing", "ones", "one",
          "content", "i", "me", "my", "see", "the", "a", "an", "some", "with", "any", "feed", "in", "to",
          "than", "about", "them", "those", "these", "that", "all", "just", "too", "many", "lot", "also",
          "would", "should", "let", "us", "mine", "you", "your"}
CLAUSE_SPLIT = re.compile(r"[,;.!?\n]+|\band\b|\bbut\b|&|\s+(?=[+-])")
DEFAULT_STEP = 1.0
WEIGHT_MIN, WEIGHT_MAX = -3.0, 3.0


def _singular(word: str) -> str:
    """English plural -> singular, enough for Flatland nouns ("balls", "boxes", "triangles")."""
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


@dataclass
class SteeringRead:
    """What a steering sentence was read as: attribute -> weight, with the words behind each."""

    weights: dict[str, float] = field(default_factory=dict)
    phrases: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def parse_steering(text: str) -> SteeringRead:
    """Plain language -> attribute weights. Clauses split on commas and "and"/"but"; a clause's
    direction is its cue ("more", "less", "no", a leading + or -), or the previous clause's when it
    has none ("more red and blue"); strong cues ("no", "lots of") weigh 2. The remaining words go
    through the prompt normalizer, so synonyms work ("crimson balls" -> red, circle)."""
    out = SteeringRead()
    sign, strength = 1.0, DEFAULT_STEP
    for clause in CLAUSE_SPLIT.split(text.lower()):
        clause = clause.strip()
        if not clause:
            continue
        if clause[0] in "+-":
            sign, strength = (1.0 if clause[0] == "+" else -1.0), DEFAULT_STEP
            clause = clause.lstrip("+- ")
        words = ["@cameo" if w.lstrip("@") in ("cameo", "cameos") else w for w in re.findall(r"@?[a-z']+", clause)]
        cues = [w for w in words if w in MORE_CUES or w in LESS_CUES]
        if cues:
            sign = -1.0 if any(w in LESS_CUES for w in cues) else 1.0
            strength = 2.0 if any(w in STRONG_CUES for w in words) else DEFAULT_STEP
        content = [_singular(w) for w in words if w not in MORE_CUES and w not in LESS_CUES
                   and w not in STRONG_CUES and w not in FILLER]
        if not content:
            continue
        normalized = _normalizer().normalize(" ".join(content))
        tags = tags_for_words(normalized.words)
        for attribute in tags:
            out.weights[attribute] = sign * strength
            out.phrases[attribute] = clause
        if not tags:
            out.ignored.extend(content)
        else:
            out.ignored.extend(normalized.dropped)
    return out
