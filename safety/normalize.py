"""Text normalisation against evasion, before any rule or classifier looks at a prompt.

`prompt_normalize(text)` undoes the usual tricks: Unicode compatibility forms (fullwidth,
mathematical alphabets, ligatures) through NFKC, look-alike letters from other scripts (Cyrillic,
Greek) through a confusable map, invisible characters (zero-width spaces and joiners, soft hyphens,
bidi controls), accents, case, leetspeak inside words ("k1ll", "n@ked", "$uicide"), letters spaced
or dotted apart ("k i l l", "n.u.d.e") and stretched letters ("nuuuude").
"""
import re
import unicodedata

# Letters from other scripts that render like Latin ones (a subset of Unicode's confusables.txt,
# the ones that survive NFKC and matter for English words).
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k",
    "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t",
    "у": "y", "х": "x", "ԝ": "w", "ь": "b", "ё": "e", "ї": "i", "ɡ": "g", "ո": "n", "ս": "u",
    "А": "a", "В": "b", "С": "c", "Е": "e", "Н": "h", "І": "i", "Ј": "j", "К": "k", "М": "m",
    "О": "o", "Р": "p", "Ѕ": "s", "Т": "t", "Х": "x", "У": "y",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "Α": "a", "Β": "b", "Ε": "e", "Η": "h", "Ι": "i",
    "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "Ζ": "z",
    # Latin look-alikes that NFKC keeps
    "ı": "i", "ȷ": "j", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ß": "ss", "æ": "ae",
    "œ": "oe", "ʀ": "r", "ɴ": "n", "ᴀ": "a", "ᴇ": "e", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ᴏ": "o",
    "ᴘ": "p", "ᴛ": "t", "ᴜ": "u", "ᴅ": "d", "ɪ": "i", "ꜱ": "s", "ᴄ": "c", "ᴡ": "w", "ᴢ": "z",
}
_CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)

# Characters that render as nothing (or nearly) and are used to split words apart.
INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
        "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}
_LEET_CHARS = re.escape("".join(LEET))
# A token that mixes letters with leet symbols: "k1ll", "n@k3d", "$uicide", "h4ng". "@handle" at
# the start of a word is a cameo reference and stays as it is.
_LEET_TOKEN = re.compile(rf"(?<![\w@])(?!@)[\w{_LEET_CHARS}]*[a-z][\w{_LEET_CHARS}]*")
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*·/]{1,3}){2,}[a-z]\b")
_STRETCH = re.compile(r"([a-z])\1{2,}")


def _deleet(match: re.Match) -> str:
    token = match.group(0)
    if not any(c in LEET for c in token) or token.isdigit():
        return token
    letters = sum(c.isalpha() for c in token)
    if letters == 0 or (letters < 2 and len(token) < 3):
        return token
    return "".join(LEET.get(c, c) for c in token)


def _unspace(match: re.Match) -> str:
    return re.sub(r"[ .\-_*·/]", "", match.group(0))


def prompt_normalize(text: str) -> str:
    """The canonical form rules and the classifier see (lowercase ASCII-ish words, single spaces)."""
    text = unicodedata.normalize("NFKC", text)
    text = INVISIBLE.sub("", text)
    text = text.translate(_CONFUSABLE_TABLE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold().translate(_CONFUSABLE_TABLE)
    text = _LEET_TOKEN.sub(_deleet, text)
    text = _SPACED.sub(_unspace, text)
    text = _STRETCH.sub(r"\1\1", text)
    return re.sub(r"\s+", " ", text).strip()


def squeeze(text: str) -> str:
    """Every run of one letter to one letter ("kill" -> "kil", "nuude" -> "nude"): the form keyword
    rules match against, so that stretched letters cannot slip past them."""
    return re.sub(r"([a-z])\1+", r"\1", text)
