"""Anchor words for PromptNormalizer's MiniLM matching (text.py), kept apart so text.py stays short.

CATEGORIES picks the category of an unknown word (is it a shape, a size, a motion...?). Once a word
reads as a shape, SHAPE_EXEMPLARS picks which one: MiniLM's similarity of a noun to the bare words
"circle", "square", "triangle" is weak (it put "tent", "fang", "card" nearest "circle"), so each shape
is described by its names, a few descriptive phrases and everyday objects of that shape, and the word
goes to the shape with the best sum of its CATEGORIES similarity (nearest shape anchor) and
SHAPE_EXEMPLAR_WEIGHT times the mean similarity of its SHAPE_TOP_K nearest exemplars (top-k rather than
max, so one stray exemplar cannot decide; "plate" is left out: round or square). Tuned on tests/dit/data/shape_words.json, whose words are not anchors
here; the shape nouns of generation/dit/eval.py are held out and appear nowhere in this file.
"""

from __future__ import annotations

# MiniLM categories for open-class words: target (Flatland words) -> anchor phrases, and the templates
# the word and the anchors are compared in (averaged). Relations are closed-class (text.py).
CATEGORIES: dict[str, tuple[dict[str, list[str]], list[str]]] = {
    # "dot" and "pointed": MiniLM puts a dot (a small round mark) next to "pointed" otherwise
    "shape": ({"circle": ["circle", "round", "circular", "dot"], "square": ["square", "rectangle", "rectangular"],
               "triangle": ["triangle", "triangular", "pointed"]}, ["a {} shape", "a {}"]),
    "size": ({"small": ["small"], "big": ["big"]}, ["a {} object"]),
    "motion": ({"moving": ["moving", "travelling"], "moving up": ["going up", "moving upwards"],
                "moving down": ["going down", "moving downwards"], "still": ["still", "not moving"],
                "falling": ["falling", "dropping"], "bouncing": ["bouncing"]}, ["it is {}"]),
    "direction": ({"left": ["left"], "right": ["right"], "up": ["up"], "down": ["down"]}, ["going {}"]),
    "scene": ({"background": ["background"], "wall": ["wall"], "floor": ["floor"]}, ["the {}"]),
}
# Which shape a shape word means (see the module docstring).
SHAPE_EXEMPLARS: dict[str, list[str]] = {
    "circle": ["circle", "round", "circular", "dot", "curved with no corners", "sun", "tire", "cookie", "clock",
               "lens", "pancake", "bowl", "eye", "letter O"],
    "square": ["square", "rectangle", "rectangular", "four corners", "book", "door", "envelope", "napkin", "stamp",
               "screen", "suitcase", "building", "table", "cardboard"],
    "triangle": ["triangle", "triangular", "pointed", "three corners", "sharp tip", "mountain", "roof", "yield sign",
                 "spear", "needle", "claw", "beak", "horn", "christmas tree", "pizza slice"],
}
SHAPE_TEMPLATES = ["a {} shape", "a {}"]
SHAPE_TOP_K, SHAPE_EXEMPLAR_WEIGHT = 5, 2.0
# Calibration: how unusual a word's best similarity is among ordinary English words (z-score).
REFERENCE_WORDS = (
    "house dog run idea table water happy window music paper friend quickly garden money city "
    "yesterday people blood apple tree river computer laugh night chair market story bright slowly "
    "mountain teacher kitchen dance letter sleep travel phone cloud honest bottle ocean tired heavy "
    "science road baby summer happen eat fresh smile quiet build broken leaf empty wood glass stone "
    "train soft loud clean dream cold warm gentle winter finger planet engine bread coffee door island "
    "thunder wild rare").split()
