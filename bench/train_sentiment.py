"""Train the sentiment model that ships in `scoring/data/` from the labelled dev tweets.

Run offline with `python -m bench.train_sentiment` (needs the dev extras: numpy,
scikit-learn). Only `tweets_dev.tsv` (the odd ids) is read; the held-out even ids are the
team's test set and are never looked for. `python -m bench.sentiment` reports what this
recipe scores on tweets it was not trained on, by k-fold cross-validation, and
`python -m bench.sentiment --nested` what the recipe *with its settings choice* scores: the
settings are chosen again inside every outer training fold by `choose_settings`, so the
figure is not tuned on the tweets it is measured on.
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
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from scoring import sentiment

REPO = Path(__file__).resolve().parents[1]
# The dev half of VADER's human-rated texts, shipped with the repository (see its README).
DATA_DIR = Path(os.environ.get("OVERHEARD_SENTIMENT_DATA", REPO / "bench" / "data" / "sentiment"))
DEV_TWEETS = DATA_DIR / "tweets_dev.tsv"
MODEL_PATH = REPO / "scoring" / sentiment.MODEL_RESOURCE
MODEL_VERSION = "sentiment-2"

# Gold labels from the mean human rating, as in the data's README.
NEGATIVE_BELOW = -0.5
POSITIVE_ABOVE = 0.5
# The shipped settings: what `choose_settings` picks on all dev tweets (see docs/scoring.md).
RIDGE_ALPHA = 20.0
LOGISTIC_C = 0.3
# The label head learns from soft labels: each tweet counts towards every label with the
# probability that its mean rating would fall in that label's band if the mean were
# measured with this standard error (about 20 raters each). 0 gives the hard labels.
SOFT_LABEL_SE = 0.3
# A soft label's share below this is left out of the fit.
SOFT_LABEL_MIN_SHARE = 1e-4
# The small grids `choose_settings` picks from, by inner cross-validation.
RIDGE_ALPHAS = (5.0, 10.0, 20.0)
LABEL_SETTINGS = tuple((se, c) for se in (0.0, 0.15, 0.3, 0.5) for c in (0.1, 0.3))
INNER_FOLDS = 5
MIN_TEXTS_PER_WORD = 2
# Rare labels weigh more: (n / (3 * n_label)) ** power; 1 is scikit-learn's "balanced".
CLASS_WEIGHT_POWER = 1.0
FOLDS = 10
WEIGHT_DECIMALS = 4


@dataclass(frozen=True, slots=True)
class Settings:
    """The training settings that are chosen by cross-validation."""

    ridge_alpha: float = RIDGE_ALPHA
    logistic_c: float = LOGISTIC_C
    soft_label_se: float = SOFT_LABEL_SE


@dataclass(frozen=True, slots=True)
class RatedText:
    """One text and the mean of its human ratings (-4..+4)."""

    id: str  # "17" for a tweet, "DOC_SENTENCE" for a review or editorial sentence
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
                rows.append(RatedText(id_, float(rating), text))
    return rows


def gold_label(rating: float) -> int:
    """0 negative, 1 neutral, 2 positive: the README's cut points."""
    if rating < NEGATIVE_BELOW:
        return 0
    return 2 if rating > POSITIVE_ABOVE else 1


def soft_labels(ratings: Sequence[float], se: float) -> np.ndarray:
    """Each text's share of the three labels (rows sum to 1); `se` 0 gives one-hot rows."""
    y = np.asarray(ratings, dtype=float)
    if se == 0:
        return np.eye(3)[[gold_label(r) for r in ratings]]
    negative = norm.cdf((NEGATIVE_BELOW - y) / se)
    positive = norm.sf((POSITIVE_ABOVE - y) / se)
    return np.column_stack([negative, 1.0 - negative - positive, positive])


def fit(
    features: Sequence[sentiment.Features],
    ratings: Sequence[float],
    *,
    provenance: str = "",
    settings: Settings = Settings(),
) -> dict[str, Any]:
    """Fit both heads and return the model in its JSON form."""
    mean, scale = _standardisation(features)
    vocab = _vocabulary(features)
    x = _design(features, mean, scale, {w: i for i, w in enumerate(vocab)})
    ridge = _fit_rating(x, ratings, settings.ridge_alpha)
    logistic = _fit_label(x, ratings, settings.logistic_c, settings.soft_label_se)
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
            "ridge_alpha": settings.ridge_alpha,
            "logistic_c": settings.logistic_c,
            "soft_label_se": settings.soft_label_se,
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


def choose_settings(
    features: Sequence[sentiment.Features],
    ratings: Sequence[float],
    *,
    seed: int = 0,
    ridge_alphas: Sequence[float] = RIDGE_ALPHAS,
    label_settings: Sequence[tuple[float, float]] = LABEL_SETTINGS,
) -> Settings:
    """Pick the settings by stratified `INNER_FOLDS`-fold cross-validation on these texts.

    Ridge α: the lowest held-out squared error of the rating. Soft-label error and
    logistic C: the highest held-out macro-F1 of the labels `SentimentModel.judge` would
    give (the ridge with the chosen α supplying the sign). Ties go to the earlier setting.
    """
    y = np.asarray(ratings, dtype=float)
    labels = np.array([gold_label(r) for r in ratings])
    rating = {a: np.zeros(len(y)) for a in ridge_alphas}
    scores = {s: np.zeros((len(y), 3)) for s in label_settings}
    folds = StratifiedKFold(n_splits=INNER_FOLDS, shuffle=True, random_state=seed)
    for train, test in folds.split(np.zeros(len(y)), labels):
        seen = [features[i] for i in train]
        mean, scale = _standardisation(seen)
        vocab = {w: i for i, w in enumerate(_vocabulary(seen))}
        x = _design(seen, mean, scale, vocab)
        x_test = _design([features[i] for i in test], mean, scale, vocab)
        for alpha in ridge_alphas:
            rating[alpha][test] = _fit_rating(x, y[train], alpha).predict(x_test)
        for se, c in label_settings:
            scores[se, c][test] = _fit_label(x, y[train], c, se).decision_function(x_test)
    alpha = min(ridge_alphas, key=lambda a: float(np.mean((rating[a] - y) ** 2)))

    def macro_f1(setting: tuple[float, float]) -> float:
        judged = _judged_labels(scores[setting], rating[alpha])
        return float(f1_score(labels, judged, labels=[0, 1, 2], average="macro", zero_division=0))

    se, c = max(label_settings, key=macro_f1)
    return Settings(ridge_alpha=alpha, logistic_c=c, soft_label_se=se)


def cross_validated(
    features: Sequence[sentiment.Features],
    ratings: Sequence[float],
    *,
    seed: int = 0,
    settings: Settings = Settings(),
) -> list[sentiment.Sentiment]:
    """Judge every text with a model trained on the other folds (stratified 10-fold)."""
    out: list[sentiment.Sentiment | None] = [None] * len(features)
    for train, test in _outer_folds(ratings, seed):
        model = sentiment.SentimentModel.from_dict(
            fit([features[i] for i in train], [ratings[i] for i in train], settings=settings)
        )
        for i in test:
            out[i] = model.judge(features[i])
    return [s for s in out if s is not None]


def nested_cross_validated(
    features: Sequence[sentiment.Features],
    ratings: Sequence[float],
    *,
    seed: int = 0,
    ridge_alphas: Sequence[float] = RIDGE_ALPHAS,
    label_settings: Sequence[tuple[float, float]] = LABEL_SETTINGS,
) -> tuple[list[sentiment.Sentiment], list[Settings]]:
    """As `cross_validated`, but the settings are chosen inside each training fold.

    Returns the judgements and the settings each of the 10 folds chose.
    """
    out: list[sentiment.Sentiment | None] = [None] * len(features)
    chosen = []
    for train, test in _outer_folds(ratings, seed):
        seen, seen_ratings = [features[i] for i in train], [ratings[i] for i in train]
        settings = choose_settings(
            seen, seen_ratings, seed=seed, ridge_alphas=ridge_alphas, label_settings=label_settings
        )
        chosen.append(settings)
        model = sentiment.SentimentModel.from_dict(fit(seen, seen_ratings, settings=settings))
        for i in test:
            out[i] = model.judge(features[i])
    return [s for s in out if s is not None], chosen


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
    """Choose the settings, retrain on every dev tweet and write the shipped model file."""
    rows = load_rated(DEV_TWEETS)
    digest = hashlib.sha256(DEV_TWEETS.read_bytes()).hexdigest()[:16]
    features = [sentiment.extract_features(r.text) for r in rows]
    ratings = [r.rating for r in rows]
    provenance = (
        f"{DEV_TWEETS.name} ({len(rows)} tweets, odd ids, sha256 {digest}): "
        "VADER ground truth, Hutto & Gilbert 2014, MIT licence"
    )
    settings = choose_settings(features, ratings)
    print(f"chose {settings}")
    if settings != Settings():
        print(
            "  these differ from the defaults that bench.sentiment's CV uses: "
            "update RIDGE_ALPHA, LOGISTIC_C and SOFT_LABEL_SE"
        )
    model = fit(features, ratings, provenance=provenance, settings=settings)
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    MODEL_PATH.write_text(dump(model), encoding="utf-8")
    words = len(model["rating"]["words"])
    size_kb = MODEL_PATH.stat().st_size / 1024
    print(f"wrote {MODEL_PATH.relative_to(REPO)}: {words} words, {size_kb:.0f} KB")


def _outer_folds(ratings: Sequence[float], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    labels = [gold_label(r) for r in ratings]
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(labels)), labels))


def _standardisation(features: Sequence[sentiment.Features]) -> tuple[np.ndarray, np.ndarray]:
    dense = np.array([f.dense for f in features], dtype=float)
    scale = dense.std(axis=0)
    scale[scale == 0] = 1.0
    return dense.mean(axis=0), scale


def _vocabulary(features: Sequence[sentiment.Features]) -> list[str]:
    counts: dict[str, int] = {}
    for f in features:
        for word in f.words:
            counts[word] = counts.get(word, 0) + 1
    return sorted(w for w, n in counts.items() if n >= MIN_TEXTS_PER_WORD)


def _fit_rating(x: csr_matrix, ratings: Sequence[float], alpha: float) -> Ridge:
    # An exact solver, so retraining on the same tweets writes the same file.
    return Ridge(alpha=alpha, solver="cholesky").fit(x.toarray(), np.asarray(ratings, float))


def _fit_label(x: csr_matrix, ratings: Sequence[float], c: float, se: float) -> LogisticRegression:
    """Class-balanced logistic regression on soft labels: each text once per label it may
    have, weighted by its share of that label times the label's class weight."""
    counts_by_label = np.bincount([gold_label(r) for r in ratings], minlength=3)
    if not counts_by_label.all():
        raise ValueError("every label needs examples")
    class_weight = (len(ratings) / (3 * counts_by_label)) ** CLASS_WEIGHT_POWER
    shares = soft_labels(ratings, se)
    rows, targets = np.nonzero(shares >= SOFT_LABEL_MIN_SHARE)
    weights = shares[rows, targets] * class_weight[targets]
    logistic = LogisticRegression(C=c, max_iter=10_000, tol=1e-6)
    return logistic.fit(x[rows], targets, sample_weight=weights)


def _judged_labels(scores: np.ndarray, rating: np.ndarray) -> np.ndarray:
    """The labels `SentimentModel.judge` gives for label scores and rating estimates."""
    neg, neu, pos = scores[:, 0], scores[:, 1], scores[:, 2]
    negative = (neg >= neu) & (neg >= pos)
    positive = ~negative & (pos > neu)
    return np.where(negative & (rating < 0), 0, np.where(positive & (rating > 0), 2, 1))


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
    design = hstack([csr_matrix(dense), words]).tocsr()
    # Columns in order within each row, whatever order the word sets gave: the same sums in
    # the same order, so retraining writes the same file in any process.
    design.sort_indices()
    return design


def _round(value: float, decimals: int = WEIGHT_DECIMALS) -> float:
    return round(float(value), decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


if __name__ == "__main__":
    main()
