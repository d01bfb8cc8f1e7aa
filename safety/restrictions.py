"""Cameo restrictions in plain language ("never in political videos"), Django-free.

A restriction is read as a topic to keep out: the words that say "never / no / don't put me in"
and "videos / clips" are dropped, and what remains ("political") is matched to a known topic
(politics, religion, alcohol, drugs, violence, romance, advertising, horror, ...) when it names
it ("political", "alcohol"). A prompt breaks the restriction
when it contains one of the topic's keywords (whole words, on the normalised prompt), or when its
MiniLM embedding is close enough to the topic (threshold measured on the labelled prompts of
tests/cameos/test_restrictions.py: every violating prompt there refused, every benign lookalike
such as "a birthday party" or "a bar of soap" allowed). An unknown topic ("never with cats") uses
its own words as keywords and itself as the description.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .normalize import prompt_normalize

# Cosine similarity (all-MiniLM-L6-v2, normalised embeddings) between a prompt (cameo handles read
# as "a person") and a topic's description, at or above which the prompt is in the topic.
SIMILARITY_THRESHOLD = 0.40

_W = r"(?:\w+ )"
TOPICS: dict[str, tuple[str, str]] = {
    # name: (description embedded for similarity, keywords as one regex over the normalised prompt)
    "politics": ("a political video about elections, voting, politicians, political campaigns, protests and government",
                 r"politic\w*|elections?|electoral|campaign(?:s|ing)? (?:rally|ad|speech|poster)\w*|"
                 r"vot(?:e|es|ing|ers?) (?:for|against)|ballots?|senat\w*|congress\w*|parliament\w*|"
                 r"presidential|presidency|vice president|mayors?|governors?|campaign(?:ing|ers?)|politicians?|democrats?|republicans?|protest\w*|rall(?:y|ies)|government|"
                 r"prime minister|candidates?|propaganda|partisan|political part(?:y|ies)|picket\w*|"
                 r"demonstrat(?:ion|ors?)|referend\w*|manifesto"),
    "religion": ("a religious video about god, prayer, church, worship and faith",
                 r"religio\w*|god|gods|pray\w*|church\w*|mosques?|temples?|synagogues?|worship\w*|"
                 r"bibles?|koran|quran|torah|priests?|imams?|rabbis?|monks?|saints?|jesus|allah|"
                 r"sermons?|baptis\w*|holy|sacred|faith"),
    "alcohol": ("drinking alcohol: beer, wine, spirits, getting drunk in a bar or pub",
                r"alcohol\w*|beers?|wines?|vodka|whisk(?:e)?y|rum|gin|tequila|cocktails?|champagne|"
                r"drunk\w*|tipsy|booze|liquor|hangover|pubs?|(?:at|in|to) (?:a |the )?bar|brewer\w*|shots? of"),
    "drugs": ("taking drugs: smoking, cannabis, cocaine, pills, getting high",
              r"drugs?|weed|cannabis|marijuana|cocaine|heroin|meth|ecstasy|mdma|lsd|pills|joints?|"
              r"smok(?:e|es|ing)|cigarettes?|cigars?|vap(?:e|es|ing)|getting high|stoned|dealer"),
    "violence": ("a violent video: fighting, weapons, guns, war, attacks, blood and injuries",
                 r"violen\w*|fight\w*|punch\w*|kick(?:s|ing)? (?:someone|him|her|them|a person)|guns?|"
                 r"rifles?|pistols?|weapons?|knife|knives|swords?|war|wars|battle\w*|shoot(?:s|ing)? "
                 r"(?:at|someone|him|her|them)|attack\w*|blood\w*|wounds?|injur\w*|explosions?|bombs?|"
                 r"kill\w*|murder\w*|stab\w*|assault\w*"),
    "romance": ("a romantic or sexual video: kissing, dating, flirting, lovers, in bed",
                r"romanc\w*|romantic|kiss\w*|dating|on a date|flirt\w*|lovers?|boyfriend|girlfriend|"
                r"sexy|seductive|lingerie|bikini|in bed|cuddl\w*|making out|wedding|married|honeymoon|"
                r"valentine\w*|sex\w*"),
    "advertising": ("an advertisement: promoting a product, a brand or a sponsor, a commercial",
                    r"advert\w*|\bads?\b|commercials?|sponsor\w*|endors\w*|brands?|product placement|"
                    r"promot\w*|marketing|sell(?:s|ing)? (?:a|the|this|my|our)|buy (?:a|the|this|now)|"
                    r"discount|sale|logo"),
    "horror": ("a horror video: scary monsters, zombies, ghosts, demons, gore",
               r"horror|scary|zombies?|ghosts?|demons?|monsters?|haunted|creepy|terrif\w*|vampires?|"
               r"werewol\w*|possessed|gore|gory|nightmare\w*|corpses?|skeletons?"),
    "death": ("death and dying: funerals, graves, dead bodies, accidents",
              r"death|dead|dies|dying|funeral\w*|graves?|graveyard|cemetery|coffin\w*|corpses?|"
              r"accident\w*|crash(?:es|ed)?"),
    "food": ("eating and drinking food: meals, restaurants, cooking",
             r"eat(?:s|ing)?|food|meals?|restaurants?|cook\w*|dinner|lunch|breakfast|snacks?|pizza|"
             r"burgers?|cake"),
    "animals": ("animals and pets: dogs, cats, birds, horses",
                r"animals?|pets?|dogs?|puppy|puppies|cats?|kittens?|birds?|horses?|cows?|pigs?"),
    "children": ("children and kids, babies, school", r"child\w*|kids?|bab(?:y|ies)|toddlers?|school\w*|teen\w*"),
}

# The words that name a topic in a restriction ("political", "alcohol"): a restriction about one
# thing inside a topic ("never with cats") keeps to that thing and does not take the whole topic.
TOPIC_NAMES = {
    "politics": r"politic\w*|elections?", "religion": r"religio\w*|faith\w*|spiritual\w*",
    "alcohol": r"alcohol\w*|drinking|booze|liquor", "drugs": r"drugs?|narcotics?|smoking",
    "violence": r"violen\w*|weapons?|guns?|fight\w*|war", "romance": r"romanc\w*|romantic|sexual\w*|sexy|dating|kiss\w*",
    "advertising": r"ads?|advert\w*|commercials?|sponsor\w*|marketing|brands?|promot\w*",
    "horror": r"horror|scary|spooky", "death": r"death|dying|funerals?", "food": r"food|eating",
    "animals": r"animals?|pets?", "children": r"child\w*|kids?",
}

_NEGATION = re.compile(
    r"^(?:please |i (?:do not|don't) want (?:to be |me )?|(?:do not|don't|never|no|not|nothing|avoid|without|"
    r"keep me out of|stay out of|must not|mustn't|should not|shouldn't|can't|cannot|won't)\b ?)+"
    r"(?:(?:put|use|show|place|include|make|have|depict|feature|appear|be)\w* (?:me |my (?:face|likeness|cameo) )?)?"
    r"(?:(?:in|on|at|with|about|for|doing|near|during|into|as|any|anything|a|an|the)\b ?)*")
_TRAILING = re.compile(r"(?: ?\b(?:videos?|clips?|content|stuff|scenes?|things?|settings?|contexts?|"
                       r"situations?|themes?|related|of any kind|ever|please|at all)\b)+$")
_STOP = {"and", "or", "the", "a", "an", "of", "in", "on", "at", "with", "me", "my", "any", "to", "for", "is",
         "are", "be", "video", "videos", "clip", "clips", "kind", "type", "sort", "like", "things", "thing"}


@dataclass(frozen=True)
class RestrictionTopic:
    text: str  # what the owner wrote
    phrase: str  # the topic words left after dropping "never in ... videos"
    topic: str  # a known topic's name, or "" for the owner's own words
    description: str
    keywords: re.Pattern | None


@dataclass(frozen=True)
class RestrictionHit:
    restriction: str
    matched: str  # the keyword, or "" when the similarity decided
    similarity: float

    def reason(self) -> str:
        why = f"the prompt mentions \u201c{self.matched}\u201d" if self.matched else \
            f"the prompt is about what it rules out (similarity {self.similarity:.2f})"
        return f"\u201c{self.restriction}\u201d ({why})"


def _normalize(text: str) -> str:
    """The prompt normaliser (against evasion), after punctuation that ends a word is dropped: the
    normaliser reads "cats!" as leetspeak ("catsi"), "k!ll" must stay "kill"."""
    return prompt_normalize(re.sub(r"(?<=\w)[!.,;:?\"')]+(?=\s|$)", " ", text))


def restriction_phrase(text: str) -> str:
    """ "Never in political videos" -> "political"; "" when nothing is left to rule out."""
    phrase = _normalize(text)
    phrase = re.sub(r"[^\w' -]+", " ", phrase).strip()
    phrase = _NEGATION.sub("", phrase).strip()
    phrase = _TRAILING.sub("", phrase).strip()
    return re.sub(r"\s+", " ", phrase)


def _embed(texts: list[str]) -> np.ndarray:
    from .classifier import embed

    return embed(texts)


@lru_cache(maxsize=512)
def restriction_topic(text: str) -> RestrictionTopic:
    phrase = restriction_phrase(text)
    if not phrase:
        raise ValueError("Say what to keep the cameo out of, e.g. \u201cnever in political videos\u201d.")
    for name, (description, keywords) in TOPICS.items():
        if re.search(rf"\b(?:{TOPIC_NAMES[name]})\b", phrase):
            return RestrictionTopic(text, phrase, name, description, re.compile(rf"\b(?:{keywords})\b"))
    words = [w for w in re.findall(r"[a-z']{3,}", phrase) if w not in _STOP]
    stems = sorted({w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words})
    keywords = re.compile(r"\b(?:" + "|".join(re.escape(s) + r"(?:s|es)?" for s in stems) + r")\b") if stems else None
    return RestrictionTopic(text, phrase, "", phrase, keywords)


def _prompt_text(prompt: str) -> str:
    """The normalised prompt with cameo handles read as "a person" (a handle is not a topic)."""
    return _normalize(re.sub(r"@[\w.]+", "a person", prompt))


def restrictions_assess(prompt: str, restrictions: list[str]) -> RestrictionHit | None:
    """The first restriction `prompt` breaks, or None."""
    if not restrictions:
        return None
    text = _prompt_text(prompt)
    topics = [restriction_topic(r) for r in restrictions]
    for topic in topics:
        if topic.keywords is not None:
            m = topic.keywords.search(text)
            if m:
                return RestrictionHit(topic.text, m.group(0), 1.0)
    vectors = _embed([text] + [t.description for t in topics])
    sims = vectors[1:] @ vectors[0]
    best = int(np.argmax(sims))
    if sims[best] >= SIMILARITY_THRESHOLD:
        return RestrictionHit(topics[best].text, "", float(sims[best]))
    return None
