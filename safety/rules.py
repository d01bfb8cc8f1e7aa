"""Policy rules: precise patterns over the normalised prompt, one list per category.

Rules catch the unambiguous cases with a specific reason; the learned classifier (classifier.py)
catches paraphrases. Patterns run on the normalised text (letters stretched three times or more are
already cut to two there), and allow for a missing double letter where it matters (`kil+`).
"""
import re
from dataclasses import dataclass

CATEGORIES = ("sexual", "minors", "violence", "hate", "self_harm", "public_figure")

MESSAGES = {
    "sexual": "Sexual or nude content is not allowed on Spacetime.",
    "minors": "Content that sexualises or endangers minors is never allowed.",
    "violence": "Graphic violence, gore, or content that promotes attacks on people or animals is not allowed.",
    "hate": "Hateful or harassing content that targets people or groups is not allowed.",
    "self_harm": ("Content depicting or encouraging suicide or self-harm is not allowed. If you are "
                  "struggling, please reach out to someone you trust or a local crisis line."),
    "public_figure": ("Videos of real public figures need that person's own cameo and consent; "
                      "name a cameo with @handle instead."),
}

_MINOR = (r"(?:child|children|kids?|little (?:girl|boy)s?|girls? under|boys? under|minors?|underage|"
          r"pre-?teens?|toddlers?|bab(?:y|ies)|infants?|schoolgirls?|schoolboys?|young (?:girl|boy)s?|"
          r"(?:[1-9]|1[0-7])[ -]?(?:years?|yrs?)[ -]?old|(?:middle|elementary|primary) school\w*|"
          r"teens?|teenagers?|teenage|boy scouts?|(?:she|he) is 1[0-7]|under 1[0-8])")
_SEXUAL = (r"(?:sex|sexual\w*|sexy|seductive\w*|nude|naked|nudity|porn\w*|erotic\w*|lingerie|"
           r"strip\w*|undress\w*|topless|genitals?|intercourse|molest\w*|grope\w*|abus\w*|"
           r"touched inappropriately|no clothes|spreading (?:her|his) legs|kissing sexually|bikini)")
_GROUPS = (r"(?:jews?|jewish people|muslims?|arabs?|blacks?|black people|whites?|white people|"
           r"gays?|gay (?:men|people)|lesbians?|trans(?: people)?|transgender\w*|immigrants?|"
           r"refugees?|mexicans?|asians?|chinese(?: people)?|indians?|hindus?|christians?|"
           r"catholics?|gypsies|roma|africans?|women|disabled(?: people)?|autistic \w+|retards?)")

RULES: dict[str, list[str]] = {
    "minors": [
        rf"\b{_MINOR}\b.*\b{_SEXUAL}\b",
        rf"\b{_SEXUAL}\b.*\b{_MINOR}\b",
        r"\b(?:child|kiddie|kid) ?porn\w*", r"\bcp (?:video|pics?|content)", r"\bloli\w*\b",
        r"\bshota\w*\b", r"\bp(?:a|ae)?edo(?:phil\w*)?\b", r"\bgroom\w* (?:a |the )?(?:child|kid|minor|girl|boy)",
    ],
    "sexual": [
        r"\bporn\w*", r"\bnsfw\b", r"\bxxx\b", r"\bsex\b", r"\bsex ?tape", r"\bsexual (?:intercourse|act)",
        r"\bintercourse\b", r"\bmasturbat\w*", r"\bgenitals?\b", r"\bpenis\b", r"\bvagina\w*",
        r"\bblow ?jobs?\b", r"\borg(?:y|ies)\b", r"\bhentai\b", r"\berotic\w*", r"\bfuck\w*",
        r"\bonlyfans\b", r"\bnipples?\b", r"\btopless\b", r"\bnudity\b", r"\boral sex\b",
        r"\bnaked\b(?! eye)", r"\bnude\b(?! (?:colou?r\w*|lipstick|tone|shade|heels?|beige))",
        r"\b(?:strip\w*|undress\w*|take[sn]? off (?:all )?(?:her|his|their) clothes)\b.*\b(?:naked|nude|bare)\b",
        r"\bmaking love\b", r"\bbreasts?\b.*\b(?:show|bare|naked|expos)\w*", r"\bstripp?er\b",
        r"\bhav(?:e|ing) sex\b", r"\bfetish\w*",
    ],
    "violence": [
        r"\bbehead\w*", r"\bdecapitat\w*", r"\bdismember\w*", r"\bdisembowel\w*", r"\bgore\b",
        r"\bgory\b", r"\bmassacre\w*", r"\bmass (?:shooting|murder|killing)", r"\bschool shoot\w*",
        r"\bopen(?:s|ing)? fire on\b", r"\btortur\w*", r"\bslit\w* (?:his|her|their|a|the)\b.*\bthroat",
        r"\bthroat (?:being |is )?slit", r"\bburn\w* (?:\w+ ){0,2}alive\b", r"\bhead (?:cut|chopped|hacked|sawn) off\b", r"\brap(?:e|ed|ing)\b",
        r"\bpipe ?bomb", r"\bcar ?bomb", r"\bbomb\w* (?:a |the )?(?:market|bus|school|crowd|church)",
        r"\b(?:skin|skinned|cook\w*) alive\b", r"\bcannibal\w*", r"\bhuman flesh\b",
        r"\b(?:kil+|murder|slaughter|shoot|stab|behead|execute|strangle|butcher)\w* (?:all |every )?(?:the |my |his |her |a |an |that |those |these )?"
        r"(?:people|person|man|men|woman|women|child|children|kids?|family|neighbou?rs?|hostages?|"
        r"teacher|police\w*|officers?|students?|crowd|baby|babies|victims?|prisoners?|wife|husband|mom|dad)\b",
        r"\bbeat\w* (?:\w+ ){0,3}(?:to death|until (?:he|she|they) stops? moving)",
        r"\b(?:kicked|stabbed|beaten|tortured|burned|hacked) to death\b",
        r"\bbrains? (?:splatter|blown|spill)\w*", r"\bguts (?:out|spill)\w*", r"\bintestines\b",
        r"\bbody parts\b", r"\bexposed organs\b", r"\bbleeding stumps?\b", r"\bgoug\w* out\b",
        r"\bshot in the head\b", r"\bblood (?:spray|everywhere|splatter)\w*",
    ],
    "hate": [
        rf"\b(?:exterminat\w*|gas|gassed|gassing|kil+|deport\w*|wipe out|euthani[sz]\w*|shoot|burn|"
        rf"lynch\w*|eradicat\w*) (?:all )?(?:the |of the )?{_GROUPS}\b",
        rf"\b{_GROUPS} (?:are|is) (?:\w+ )?(?:animals|vermin|subhuman|terrorists|rapists|criminals|"
        rf"thieves|a virus|disgusting|inferior|filthy|pedophiles|freaks|mentally il+|dirty dogs?|parasites|"
        rf"cockroaches|apes|monkeys)",
        rf"\b{_GROUPS} (?:should|must|deserve to|need to) (?:all )?(?:die|be (?:killed|gassed|shot|burned|"
        rf"deported|euthani[sz]ed|exterminated)|go back)",
        r"\bheil hitler\b", r"\blynch\w*", r"\bethnic cleansing\b", r"\bwhite power\b", r"\bracial purity\b", r"\bkkk\b",
        r"\bdeath to (?:the |all )?\w+", r"\bholocaust never happened\b", r"\bwill not replace us\b",
        r"\binferior race\b", r"\bsubhuman\b", r"\bdeath threats?\b", r"\bhome address\b",
        r"\b(?:she|he|you) should kil+ (?:her|him|your)self\b", r"\bretard(?:ed|s)?\b",
    ],
    "self_harm": [
        r"\bsuicid(?:e|es|al|ality)?\b(?! squad)", r"\bkil+(?:ing)? (?:my|your|her|him|them)sel(?:f|ves)\b",
        r"\b(?:cut|cutting|slit|slitting|carv\w*|burn\w*|hurt\w*|harm\w*) (?:\w+ ){0,2}(?:my|her|his|their) ?(?:own )?"
        r"(?:wrists?|arms?|thighs?|skin|throat|self|selves)\b", r"\bhang\w* (?:my|him|her|them)sel(?:f|ves)\b",
        r"\bend(?:ing)? (?:my|his|her|their) (?:own )?life\b", r"\btak\w* (?:my|his|her|their) own life\b",
        r"\bend(?:ing)? it all\b", r"\boverdos\w*", r"\bpro-? ?an(?:a|orexi\w*)\b", r"\bthinspiration\b",
        r"\bself[- ]?(?:harm\w*|inflicted|injur\w*)", r"\bi want to die\b", r"\bnoose\b",
        r"\bshoot\w* (?:my|him|her|them)sel(?:f|ves)\b", r"\b(?:cutting|cut) mysel(?:f)\b",
        r"\bslit wrists\b", r"\bsuffocate (?:my|him|her|them)sel(?:f|ves)\b", r"\bstarv\w* mysel(?:f)\b",
    ],
}

# Real people most often put into fake videos. A name counts only as a whole phrase.
PUBLIC_FIGURES = [
    "taylor swift", "joe biden", "president biden", "donald trump", "president trump", "elon musk",
    "barack obama", "michelle obama", "the pope", "pope francis", "pope leo", "vladimir putin",
    "kim jong un", "kim jong-un", "beyonce", "emmanuel macron", "mark zuckerberg", "king charles",
    "prince william", "prince harry", "meghan markle", "kate middleton", "oprah", "oprah winfrey",
    "kamala harris", "tom cruise", "tom hanks", "narendra modi", "angela merkel", "xi jinping",
    "lionel messi", "cristiano ronaldo", "jeff bezos", "bill gates", "rishi sunak", "keir starmer",
    "justin trudeau", "scarlett johansson", "zelensky", "volodymyr zelensky", "zelenskyy",
    "kanye west", "greta thunberg", "keanu reeves", "queen of england", "queen elizabeth",
    "lebron james", "ariana grande", "emma watson", "benjamin netanyahu", "netanyahu",
    "rihanna", "kim kardashian", "selena gomez", "justin bieber", "billie eilish", "drake",
    "lady gaga", "dwayne johnson", "the rock", "leonardo dicaprio", "brad pitt", "angelina jolie",
    "jennifer lawrence", "margot robbie", "zendaya", "sam altman", "tim cook", "sundar pichai",
    "jd vance", "hillary clinton", "bill clinton", "george bush", "nancy pelosi", "boris johnson",
    "marine le pen", "giorgia meloni", "recep erdogan", "erdogan", "ali khamenei", "mbs",
    "mohammed bin salman", "greta", "trump", "biden", "obama", "putin", "macron", "musk",
]
_FIGURES_RE = re.compile(r"(?<![@\w])(?:" + "|".join(
    re.escape(name) for name in sorted(PUBLIC_FIGURES, key=len, reverse=True)) + r")\b")
# Words that make a bare surname something else: "a swift bird", "musk ox", "the rock pool".
_FIGURE_EXCEPTIONS = re.compile(r"\b(?:musk ox\w*|musk deer|the rock (?:pool|face|wall|garden|band|climb\w*)|"
                                r"drake (?:duck|bird)|a drake\b)")

_COMPILED = {cat: [re.compile(p) for p in pats] for cat, pats in RULES.items()}


@dataclass(frozen=True)
class RuleHit:
    category: str
    matched: str


def rules_check(normalized: str) -> RuleHit | None:
    """The first rule that the normalised prompt breaks (minors first: most severe), or None."""
    forms = (normalized,)
    for category in ("minors", "sexual", "self_harm", "violence", "hate"):
        for pattern in _COMPILED[category]:
            for form in forms:
                m = pattern.search(form)
                if m:
                    return RuleHit(category, m.group(0))
    cleaned = _FIGURE_EXCEPTIONS.sub(" ", normalized)
    m = _FIGURES_RE.search(cleaned)
    if m:
        return RuleHit("public_figure", m.group(0))
    return None
