"""The text-emotion head: a multinomial logistic regression over [sentence embedding, lexicon valence].

Fitted offline (``scripts/fit_text_emotion.py``) on dialogue corpora plus the example files, and shipped as a
small ``.npz`` (coefficients, intercepts, labels, and a JSON record of what it was fitted on). At run time it is
only a matrix product and a softmax.

A centre that adds its own example files cannot refit on the corpora (their embeddings are not shipped), so
``adapt`` refits the head on the configured example sentences *regularised toward the shipped weights*
(a Gaussian prior centred on them, instead of on zero): sentences the centre adds move the head where they
disagree with it, and everywhere else the shipped head stays as it was.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax


def head_features(vectors: np.ndarray, lexicon: np.ndarray, lexicon_weight: float) -> np.ndarray:
    """One row per sentence: the unit-length embedding and the lexicon valence scaled by ``lexicon_weight``."""
    return np.hstack([vectors, lexicon_weight * np.asarray(lexicon, np.float32)[:, None]]).astype(np.float32)


@dataclass
class LinearHead:
    """Labels, ``coef`` (labels x features) and ``intercept`` (labels) of a softmax regression."""

    labels: list[str]
    coef: np.ndarray
    intercept: np.ndarray

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        return softmax(features @ self.coef.T + self.intercept, axis=1)

    def predict_labels(self, features: np.ndarray) -> list[str]:
        return [self.labels[i] for i in self.predict_proba(features).argmax(axis=1)]

    def adapt(self, features: np.ndarray, labels: list[str], weights: np.ndarray, strength: float) -> LinearHead:
        """The head refitted on ``features``/``labels`` with an L2 pull of ``strength`` toward its own weights.

        Minimises ``sum_i w_i * CE(y_i, softmax(W x_i + b)) + strength / 2 * ||(W, b) - (W0, b0)||^2``. The
        intercepts are pulled too: they carry the corpus's proportions (most turns calm), which a few example
        sentences per label must not undo. At ``strength`` -> infinity nothing changes. Labels the head does
        not know are refused.
        """
        unknown = sorted(set(labels) - set(self.labels))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the head's labels {self.labels}")
        index = np.array([self.labels.index(label) for label in labels])
        k, d = self.coef.shape
        x = features.astype(np.float64)
        anchor = np.concatenate([self.coef.ravel(), self.intercept]).astype(np.float64)

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            coef, intercept = theta[:k * d].reshape(k, d), theta[k * d:]
            log_p = log_softmax(x @ coef.T + intercept, axis=1)
            value = -float(np.sum(weights * log_p[np.arange(len(index)), index]))
            residual = np.exp(log_p)
            residual[np.arange(len(index)), index] -= 1.0
            residual *= weights[:, None]
            grad = np.concatenate([(residual.T @ x).ravel(), residual.sum(axis=0)]) + strength * (theta - anchor)
            value += 0.5 * strength * float(np.sum((theta - anchor) ** 2))
            return value, grad

        result = minimize(loss, anchor, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
        theta = result.x
        return LinearHead(list(self.labels), theta[:k * d].reshape(k, d).astype(np.float32),
                          theta[k * d:].astype(np.float32))


def save_head(path: Path, head: LinearHead, meta: dict[str, object]) -> None:
    """Write the head and its record (``meta``: encoder identity, lexicon weight, what it was fitted on)."""
    np.savez_compressed(path, labels=np.array(head.labels), coef=head.coef.astype(np.float32),
                        intercept=head.intercept.astype(np.float32), meta=np.array(json.dumps(meta)))


def load_head(path: Path) -> tuple[LinearHead, dict[str, object]]:
    """The head and its record; a missing or damaged file raises ``OSError`` / ``ValueError`` / ``KeyError``."""
    with np.load(path, allow_pickle=False) as data:
        head = LinearHead([str(x) for x in data["labels"]], data["coef"], data["intercept"])
        meta = json.loads(str(data["meta"]))
    return head, meta
