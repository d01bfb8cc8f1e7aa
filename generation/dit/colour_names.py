"""Colour words -> Flatland palette colours (used by text.PromptNormalizer).

Names come from matplotlib's CSS4/X11 table, then the xkcd colour survey for names CSS does not have
(CSS first: its "ivory" is the near-white of everyday English, xkcd's is a pale yellow). Multi-word
names are matched with their spaces removed ("sky blue", "sky-blue", "skyblue"). An RGB becomes a
palette colour in CIELAB: nearly grey or very light and pale -> white/gray/black by lightness,
otherwise the palette colour of nearest HLS hue. A compound ending in a basic colour word names a
shade of it ("olive green" is a green, "light yellow" a yellow). matplotlib is imported on first use only.
"""

from __future__ import annotations

import colorsys
import functools
import math

from . import world

# Everyday colour nouns that neither table has: materials named for being black or white.
MATERIALS = {"ebony": "black", "onyx": "black", "jet": "black", "obsidian": "black", "coal": "black", "soot": "black",
             "ink": "black", "pitch": "black", "raven": "black", "sable": "black",
             "pearl": "white", "alabaster": "white", "chalk": "white", "milk": "white", "bone": "white"}
# Words that shade a colour without changing its hue ("pale yellow", "deep purple"); dropped when the
# table has no name for the pair.
MODIFIERS = {"light", "dark", "pale", "deep", "bright", "pure", "pastel", "vivid", "dull", "dusty", "muted", "soft",
             "rich", "neon", "hot", "warm", "cool", "faded", "brilliant", "intense", "darkish", "lightish", "medium"}
def _lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """sRGB (0-255) -> CIELAB (D65)."""
    lin = [((c / 255 + 0.055) / 1.055) ** 2.4 if c / 255 > 0.04045 else c / 255 / 12.92 for c in rgb]
    xyz = [sum(m * v for m, v in zip(row, lin)) for row in
           ((0.4124 / 0.95047, 0.3576 / 0.95047, 0.1805 / 0.95047), (0.2126, 0.7152, 0.0722),
            (0.0193 / 1.08883, 0.1192 / 1.08883, 0.9505 / 1.08883))]
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _hue(rgb: tuple[int, int, int]) -> float:
    return colorsys.rgb_to_hls(*(c / 255 for c in rgb))[0] * 360


@functools.lru_cache(maxsize=1)
def _palette_hues() -> dict[str, float]:
    return {name: _hue(rgb) for name, rgb in world.PALETTE.items() if name not in ("white", "black")}


def palette_colour_for(rgb: tuple[int, int, int]) -> str:
    """The palette colour (or "gray") an RGB reads as."""
    light, a, b = _lab(rgb)
    chroma = math.hypot(a, b)
    if chroma < 12 or (light > 96 and chroma < 35) or (light < 12 and chroma < 25):
        return "white" if light >= 80 else ("black" if light <= 30 else "gray")
    h = _hue(rgb)
    return min(_palette_hues().items(), key=lambda kv: min(abs(h - kv[1]), 360 - abs(h - kv[1])))[0]


@functools.lru_cache(maxsize=1)
def named_colours() -> dict[str, tuple[int, int, int]]:
    """~1,100 colour names (spaces removed) with their RGB: CSS4/X11 first, then xkcd."""
    from matplotlib import colors

    table = {}
    for name, hex_rgb in {**colors.XKCD_COLORS, **colors.CSS4_COLORS}.items():
        key = name.removeprefix("xkcd:").replace(" ", "").replace("-", "")
        if key.isalpha() and (key not in table or not name.startswith("xkcd:")):
            table[key] = tuple(int(round(c * 255)) for c in colors.to_rgb(hex_rgb))
    return table


def _single(word: str) -> str | None:
    if word in MATERIALS:
        return MATERIALS[word]
    table = named_colours()
    if word in table:
        return palette_colour_for(table[word])
    # colour adjectives: golden, reddish, bluish, greyish, orangey, snowy, inky, silvery
    for suffix, adds in (("ish", ("", "e")), ("ey", ("", "e")), ("en", ("",)), ("y", ("", "e"))):
        stem = word.removesuffix(suffix)
        if stem == word or len(stem) < 3:
            continue
        for s in (stem, stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else None):
            for add in adds:
                if s and s + add in table | MATERIALS.keys():
                    return MATERIALS.get(s + add) or palette_colour_for(table[s + add])
    return None


def colour_at(words: list[str], i: int) -> tuple[str, int] | None:
    """(palette colour, words used) for a colour name starting at words[i], longest name first."""
    for n in (3, 2):
        key = "".join(words[i:i + n]).replace("-", "")
        if i + n <= len(words) and key.isalpha() and key in named_colours():
            head = words[i + n - 1]
            return (head if head in world.PALETTE else palette_colour_for(named_colours()[key])), n
    if words[i] in MODIFIERS and i + 1 < len(words):
        nxt = colour_at(words, i + 1)
        return (nxt[0], nxt[1] + 1) if nxt else None
    c = _single(words[i].replace("-", ""))
    return (c, 1) if c else None
