"""Train the prompt classifier and evaluate the whole prompt check on a held-out split.

    python -m safety.train_prompt_classifier            # writes safety/data/prompt_classifier.npz
                                                        # and safety/data/prompt_eval.json

The labelled set (safety/data/prompt_set.tsv) is split per category, 70% train / 30% held out
(fixed seed). The classifier is fit on the normalised training prompts only; the shipped weights are
exactly the ones evaluated. The evaluation runs the full check (normalise + rules + classifier) on
the held-out prompts as written and under five obfuscations (leetspeak, zero-width characters,
Cyrillic look-alikes, fullwidth capitals, spaced-out letters), and reports per category the recall
on violations and the false-positive rate on the benign look-alikes, plus the time per check.
"""
import json
import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from .classifier import WEIGHTS, PromptClassifier, embed, fit_softmax
from .normalize import prompt_normalize
from .prompt_check import prompt_assess_many
from .rules import CATEGORIES

DATA = Path(__file__).resolve().parent / "data"
CLASSES = ["benign", *CATEGORIES]
SEED = 0
HOLDOUT = 0.3


def load_set(path: Path = DATA / "prompt_set.tsv") -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, prompt = line.split("\t", 1)
        assert category in CLASSES, category
        rows.append((category, prompt.strip()))
    return rows


def split(rows, *, seed: int = SEED, holdout: float = HOLDOUT):
    by_cat = defaultdict(list)
    for row in rows:
        by_cat[row[0]].append(row)
    rng = random.Random(seed)
    train, test = [], []
    for cat in CLASSES:
        items = by_cat[cat][:]
        rng.shuffle(items)
        k = round(len(items) * holdout)
        test += items[:k]
        train += items[k:]
    return train, test


# --- obfuscations an evader would try ---------------------------------------------------------
_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})
_CYR = str.maketrans({"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "x": "х", "y": "у", "i": "і"})


def _words(text, fn, min_len=4):
    return " ".join(fn(w) if len(w) >= min_len else w for w in text.split(" "))


def _space_longest(text):
    words = text.split(" ")
    i = max(range(len(words)), key=lambda k: len(words[k]))
    words[i] = " ".join(words[i])
    return " ".join(words)


OBFUSCATIONS = {
    "leetspeak": lambda t: _words(t, lambda w: w.translate(_LEET)),
    "zero_width": lambda t: _words(t, lambda w: "\u200b".join(w), min_len=3),
    "confusables": lambda t: t.translate(_CYR),
    "fullwidth_caps": lambda t: "".join(chr(ord(c) - 0x20 + 0xFF00) if "a" <= c <= "z" else c for c in t.upper().lower()).upper(),
    "spaced_letters": lambda t: _space_longest(t),
}


def evaluate(test, classifier: PromptClassifier) -> dict:
    variants = {"plain": lambda t: t, **OBFUSCATIONS}
    report = {}
    for name, fn in variants.items():
        texts = [fn(p) for _, p in test]
        t0 = time.perf_counter()
        verdicts = prompt_assess_many(texts, classifier=classifier)
        elapsed = time.perf_counter() - t0
        per = {}
        for cat in CATEGORIES:
            idx = [i for i, (c, _) in enumerate(test) if c == cat]
            blocked = sum(not verdicts[i].allowed for i in idx)
            right = sum(verdicts[i].category == cat for i in idx)
            per[cat] = {"n": len(idx), "recall": blocked / len(idx), "category_accuracy": right / len(idx),
                        "missed": [test[i][1] for i in idx if verdicts[i].allowed]}
        benign = [i for i, (c, _) in enumerate(test) if c == "benign"]
        fps = [i for i in benign if not verdicts[i].allowed]
        per["benign"] = {"n": len(benign), "false_positive_rate": len(fps) / len(benign),
                         "false_positives": [f"{test[i][1]} -> {verdicts[i].category}" for i in fps]}
        per["ms_per_check_batched"] = 1000 * elapsed / len(texts)
        report[name] = per
    # one at a time, as job_create calls it
    t0 = time.perf_counter()
    for _, p in test[:50]:
        prompt_assess_many([p], classifier=classifier)
    report["ms_per_check_single"] = 1000 * (time.perf_counter() - t0) / min(50, len(test))
    return report


MAX_FPR = 0.02


def _fit(x, y) -> tuple[np.ndarray, np.ndarray]:
    return fit_softmax(x, y, len(CLASSES))


def choose_threshold(x, y, *, folds: int = 5, seed: int = SEED) -> float:
    """Out-of-fold P(benign) on the training split; the largest threshold whose benign
    false-positive rate stays within MAX_FPR (the held-out split is never looked at)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    p_benign = np.zeros(len(y))
    for k in range(folds):
        test_idx = order[k::folds]
        train_idx = np.setdiff1d(order, test_idx)
        w, b = _fit(x[train_idx], y[train_idx])
        p = PromptClassifier(w=w, b=b, classes=CLASSES, threshold=0.5).proba(x[test_idx])
        p_benign[test_idx] = p[:, 0]
    benign = np.sort(p_benign[y == 0])
    allowed_fp = int(np.floor(MAX_FPR * len(benign)))
    # flag when p < t: choose t at most the (allowed_fp)-th lowest benign score
    return float(min(0.5, benign[allowed_fp])) if len(benign) else 0.5


def train(rows) -> PromptClassifier:
    x = embed([prompt_normalize(p) for _, p in rows])
    y = np.array([CLASSES.index(c) for c, _ in rows])
    threshold = choose_threshold(x, y)
    w, b = _fit(x, y)
    return PromptClassifier(w=w, b=b, classes=CLASSES, threshold=threshold)


def main() -> None:
    rows = load_set()
    train_rows, test_rows = split(rows)
    embed(["warm up"])
    clf = train(train_rows)
    clf.save(WEIGHTS)
    report = {"n_total": len(rows), "n_train": len(train_rows), "n_test": len(test_rows),
              "seed": SEED, "holdout": HOLDOUT, "evaluation": evaluate(test_rows, clf)}
    (DATA / "prompt_eval.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    ev = report["evaluation"]
    print(f"{len(rows)} prompts: {len(train_rows)} train, {len(test_rows)} held out")
    print("variant         " + " ".join(f"{c[:10]:>10}" for c in CATEGORIES) + "  benignFPR  ms/check")
    for name in ["plain", *OBFUSCATIONS]:
        per = ev[name]
        print(f"{name:15} " + " ".join(f"{per[c]['recall']:>10.0%}" for c in CATEGORIES)
              + f"  {per['benign']['false_positive_rate']:>8.1%}  {per['ms_per_check_batched']:>7.1f}")
    print(f"single check: {ev['ms_per_check_single']:.1f} ms; threshold P(benign) < {clf.threshold:.3f}")


if __name__ == "__main__":
    main()
