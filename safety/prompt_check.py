"""The prompt check itself, Django-free: normalise, then policy rules, then the learned classifier.

`prompt_assess(text)` -> PromptVerdict(allowed, category, reason). Used by safety.services (in
`job_create`, before any GPU time), by `manage.py prompt_check`, and by the evaluation in
safety/train_prompt_classifier.py.
"""
from dataclasses import asdict, dataclass

from .classifier import PromptClassifier, embed
from .normalize import prompt_normalize
from .rules import MESSAGES, rules_check

LABELS = {
    "sexual": "sexual content", "minors": "minors", "violence": "graphic violence",
    "hate": "hate or harassment", "self_harm": "self-harm", "public_figure": "a real public figure",
}


@dataclass(frozen=True)
class PromptVerdict:
    allowed: bool
    category: str | None
    reason: str
    source: str = ""  # "rule", "classifier" or "" when allowed
    score: float = 0.0

    def public(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in ("allowed", "category", "reason")}


def _refusal(category: str, source: str, detail: str, score: float = 0.0) -> PromptVerdict:
    return PromptVerdict(False, category, f"{MESSAGES[category]} ({detail})", source, score)


def prompt_assess_many(texts: list[str], *, classifier: PromptClassifier | None = None) -> list[PromptVerdict]:
    normalized = [prompt_normalize(t) for t in texts]
    verdicts: list[PromptVerdict | None] = []
    pending = []
    for i, norm in enumerate(normalized):
        hit = rules_check(norm)
        if hit is not None:
            verdicts.append(_refusal(hit.category, "rule",
                                     f"the prompt mentions \u201c{hit.matched}\u201d"))
        else:
            verdicts.append(None)
            pending.append(i)
    if pending:
        clf = classifier or PromptClassifier.load()
        decisions = clf.decide(embed([normalized[i] for i in pending]))
        for i, (category, score) in zip(pending, decisions):
            if category is None:
                verdicts[i] = PromptVerdict(True, None, "The prompt passed the safety check.", "", score)
            else:
                verdicts[i] = _refusal(category, "classifier",
                                       f"the prompt reads as {LABELS[category]}, confidence {score:.0%}", score)
    return verdicts  # type: ignore[return-value]


def prompt_assess(text: str, *, classifier: PromptClassifier | None = None) -> PromptVerdict:
    return prompt_assess_many([text], classifier=classifier)[0]
