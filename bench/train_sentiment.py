"""Train the sentiment model that ships in `scoring/data/` from the labelled dev tweets.

Run offline with `python -m bench.train_sentiment` (needs the dev extras: numpy,
scikit-learn). Only `tweets_dev.tsv` (the odd ids) is read; the held-out even ids are the
team's test set and are never looked for. `python -m bench.sentiment` reports what this
recipe scores on tweets it was not trained on, by k-fold cross-validation.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import StratifiedKFold

from scoring import sentiment

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(
    os.environ.get("OVERHEARD_SENTIMENT_DATA", REPO.parent / "shared" / "data" / "sentiment")
)
DEV_TWEETS = DATA_DIR / "tweets_dev.tsv"
MODEL_PATH = REPO / "scoring" / sentiment.MODEL_RESOURCE
MODEL_VERSION = "sentiment-1"

# Gold labels from the mean human rating, as in the data's README.
NEGATIVE_BELOW = -0.5
POSITIVE_ABOVE = 0.5
# Chosen by 10-fold cross-validation on the dev tweets (see docs/scoring.md).
RIDGE_ALPHA = 10.0
LOGISTIC_C = 0.1
MIN_TEXTS_PER_WORD = 2
# Rare labels weigh more: (n / (3 * n_label)) ** power; 1 is scikit-learn's "balanced".
CLASS_WEIGHT_POWER = 1.0
FOLDS = 10
WEIGHT_DECIMALS = 4


@dataclass(frozen=True, slots=True)
class RatedText:
    """One text and the mean of its human ratings (-4..+4)."""

    id: int
    rating: float
    text: str


def load_rated(path: Path) -> list[RatedText]:
    """Read a tab-separated `id, mean_rating, text` file with a header row."""
    rows: list[RatedText] = []
    with path.open(encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            if line.strip():
                id_, rating, text = line.rstrip("\n").split("\t", 2)
                rows.append(RatedText(int(id_), float(rating), text))
    return rows


def gold_label(rating: float) -> int:
    """0 negative, 1 neutral, 2 positive: the README's cut points."""
    if rating < NEGATIVE_BELOW:
        return 0
    return 2 if rating > POSITIVE_ABOVE else 1


def fit(
    features: Sequence[sentiment.Features], ratings: Sequence[float], *, provenance: str = ""
) -> dict[str, Any]:
    """Fit both heads and return the model in its JSON form."""
    dense = np.array([f.dense for f in features], dtype=float)
    mean = dense.mean(axis=0)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    counts: dict[str, int] = {}
    for f in features:
        for word in f.words:
            counts[word] = counts.get(word, 0) + 1
    vocab = sorted(w for w, n in counts.items() if n >= MIN_TEXTS_PER_WORD)
    x = _design(features, mean, scale, {w: i for i, w in enumerate(vocab)})
    y = np.array(ratings, dtype=float)
    labels = np.array([gold_label(r) for r in ratings])
    # An exact solver, so retraining on the same tweets writes the same file.
    ridge = Ridge(alpha=RIDGE_ALPHA, solver="cholesky").fit(x.toarray(), y)
    counts_by_label = np.bincount(labels, minlength=3)
    if not counts_by_label.all():
        raise ValueError("every label needs examples")
    class_weight = {
        c: float((len(labels) / (3 * counts_by_label[c])) ** CLASS_WEIGHT_POWER) for c in range(3)
    }
    logistic = LogisticRegression(
        C=LOGISTIC_C, class_weight=class_weight, max_iter=10_000, tol=1e-6
    )
    logistic.fit(x, labels)
    n = len(sentiment.DENSE_FEATURES)
    rating_words, label_words = {}, {}
    for i, word in enumerate(vocab):
        r = _round(ridge.coef_[n + i])
        row = [_round(v) for v in logistic.coef_[:, n + i]]
        if r or any(row):
            rating_words[word] = r
            label_words[word] = row
    return {
        "version": MODEL_VERSION,
        "provenance": provenance,
        "features": list(sentiment.DENSE_FEATURES),
        "mean": [_round(v, 6) for v in mean],
        "scale": [_round(v, 6) for v in scale],
        "hyperparameters": {
            "ridge_alpha": RIDGE_ALPHA,
            "logistic_c": LOGISTIC_C,
            "class_weight_power": CLASS_WEIGHT_POWER,
            "min_texts_per_word": MIN_TEXTS_PER_WORD,
        },
        "rating": {
            "intercept": _round(ridge.intercept_),
            "dense": [_round(v) for v in ridge.coef_[:n]],
            "words": rating_words,
        },
        "label": {
            "intercept": [_round(v) for v in logistic.intercept_],
            "dense": [[_round(v) for v in logistic.coef_[:, j]] for j in range(n)],
            "words": label_words,
        },
    }


def cross_validated(
    features: Sequence[sentiment.Features], ratings: Sequence[float], *, seed: int = 0
) -> list[sentiment.Sentiment]:
    """Judge every text with a model trained on the other folds (stratified 10-fold)."""
    labels = [gold_label(r) for r in ratings]
    out: list[sentiment.Sentiment | None] = [None] * len(features)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(len(labels)), labels):
        model = sentiment.SentimentModel.from_dict(
            fit([features[i] for i in train], [ratings[i] for i in train])
        )
        for i in test:
            out[i] = model.judge(features[i])
    return [s for s in out if s is not None]


def dump(model: dict[str, Any]) -> str:
    """JSON with one word per line, so a retrained model diffs readably."""
    lines = ["{"]
    items = list(model.items())
    for k, (key, value) in enumerate(items):
        comma = "," if k < len(items) - 1 else ""
        if key in ("rating", "label"):
            lines.append(f"  {json.dumps(key)}: {{")
            head = {n: v for n, v in value.items() if n != "words"}
            for name, part in head.items():
                lines.append(f"    {json.dumps(name)}: {json.dumps(part)},")
            lines.append('    "words": {')
            words = list(value["words"].items())
            for j, (word, weight) in enumerate(words):
                sep = "," if j < len(words) - 1 else ""
                lines.append(
                    f"      {json.dumps(word, ensure_ascii=False)}: {json.dumps(weight)}{sep}"
                )
            lines.append("    }")
            lines.append(f"  }}{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Retrain on every dev tweet and write the shipped model file."""
    rows = load_rated(DEV_TWEETS)
    digest = hashlib.sha256(DEV_TWEETS.read_bytes()).hexdigest()[:16]
    features = [sentiment.extract_features(r.text) for r in rows]
    provenance = (
        f"{DEV_TWEETS.name} ({len(rows)} tweets, odd ids, sha256 {digest}): "
        "VADER ground truth, Hutto & Gilbert 2014, MIT licence"
    )
    model = fit(features, [r.rating for r in rows], provenance=provenance)
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    MODEL_PATH.write_text(dump(model), encoding="utf-8")
    words = len(model["rating"]["words"])
    size_kb = MODEL_PATH.stat().st_size / 1024
    print(f"wrote {MODEL_PATH.relative_to(REPO)}: {words} words, {size_kb:.0f} KB")


def _design(
    features: Sequence[sentiment.Features],
    mean: np.ndarray,
    scale: np.ndarray,
    vocab: dict[str, int],
) -> csr_matrix:
    dense = (np.array([f.dense for f in features], dtype=float) - mean) / scale
    rows, cols = [], []
    for r, f in enumerate(features):
        for word in f.words:
            j = vocab.get(word)
            if j is not None:
                rows.append(r)
                cols.append(j)
    words = csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(features), len(vocab)), dtype=float
    )
    return hstack([csr_matrix(dense), words]).tocsr()


def _round(value: float, decimals: int = WEIGHT_DECIMALS) -> float:
    return round(float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


if __name__ == "__main__":
    main()
