"""Measure sentiment against human-rated texts: plain TextBlob, VADER and overheard's scorer.

`python -m bench.sentiment [--extra NAME=PATH ...]` prints the tables and writes the figures
to `bench/results.json`. The texts are the dev half of VADER's human-rated data, shipped in
`bench/data/sentiment/` (see its README): tweets, product reviews, news editorials and
movie reviews. Accuracy and macro-F1 use the three gold labels of the data's README (mean
rating below -0.5 negative, above 0.5 positive); Pearson r is against the mean rating.
TextBlob and VADER label at ±0.05, as their authors suggest. Ours is trained on all four
sets, so on them it is scored by nested cross-validation: stratified `NESTED_FOLDS`-fold
by set and label, the settings chosen again inside every training fold by an inner
`NESTED_INNER_FOLDS`-fold CV, so every text is judged by a model, and settings, that never
saw it: an honest estimate of held-out performance, never a train-fit number (about 20
minutes). Any `--extra` set in the same `id, mean_rating, text` format is judged by the
shipped model.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textblob import TextBlob
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench._results import record
from bench.train_sentiment import (
    DEV_SETS,
    LOGISTIC_C,
    REPO,
    RIDGE_ALPHAS,
    SOFT_LABEL_SE,
    TWEETS,
    Settings,
    gold_label,
    load_dev,
    load_rated,
    nested_cross_validated,
)
from scoring import sentiment

TARGET_MACRO_F1 = 0.75  # on tweets
TARGET_PEARSON_R = 0.88  # on tweets
TARGET_SPEED_RATIO = 0.5  # ours against bare TextBlob, texts per second
BASELINE_BAND = 0.05
# Nested CV on 11,800 texts: 5 outer folds, 3 inner; the inner CV chooses the ridge α.
# The label head keeps the shipped soft-label error and C: a grid of those costs a
# logistic fit per inner fold and setting, more than the benchmark's time allows.
NESTED_FOLDS = 5
NESTED_INNER_FOLDS = 3
NESTED_LABEL_SETTINGS = ((SOFT_LABEL_SE, LOGISTIC_C),)
TIMING_ROUNDS = 5
TIMING_CHUNK = 100
# The longer texts: their macro-F1, averaged over the three, is compared with VADER's.
OTHER_SETS = {name: path for name, path in DEV_SETS.items() if name != TWEETS}
LABEL_INDEX = {"negative": 0, "neutral": 1, "positive": 2, "unknown": 1}
GOLD_RULE = (
    "mean rating < -0.5 negative, > 0.5 positive, else neutral; TextBlob and VADER "
    f"labelled at ±{BASELINE_BAND}; ours' unknown counted as neutral"
)


@dataclass(frozen=True, slots=True)
class Scores:
    """One scorer's agreement with the human ratings."""

    accuracy: float
    macro_f1: float
    pearson_r: float


def evaluate(ratings: Sequence[float], polarity: Sequence[float], labels: Sequence[int]) -> Scores:
    """Accuracy and macro-F1 of `labels`, Pearson r of `polarity`, against `ratings`."""
    gold = [gold_label(r) for r in ratings]
    accuracy = sum(g == p for g, p in zip(gold, labels, strict=True)) / len(gold)
    f1s = []
    for c in (0, 1, 2):
        tp = sum(g == c and p == c for g, p in zip(gold, labels, strict=True))
        fp = sum(g != c and p == c for g, p in zip(gold, labels, strict=True))
        fn = sum(g == c and p != c for g, p in zip(gold, labels, strict=True))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return Scores(accuracy, sum(f1s) / 3, statistics.correlation(ratings, polarity))


def band_label(polarity: float) -> int:
    """The ±0.05 labelling TextBlob and VADER are usually read with."""
    if polarity < -BASELINE_BAND:
        return 0
    return 2 if polarity > BASELINE_BAND else 1


def texts_per_second(
    scorers: dict[str, Callable[[str], object]], texts: Sequence[str]
) -> dict[str, float]:
    """Texts per second on one core: each chunk's best time over several rounds, summed.

    The scorers take turns chunk by chunk, so a slowdown from other work on the machine
    hits them alike and the ratios stay fair even when the absolute figures wobble.
    """
    chunks = [texts[i : i + TIMING_CHUNK] for i in range(0, len(texts), TIMING_CHUNK)]
    best = {name: [math.inf] * len(chunks) for name in scorers}
    for score in scorers.values():
        score(texts[0])  # load lexicons and models before timing
    for _ in range(TIMING_ROUNDS):
        for c, chunk in enumerate(chunks):
            for name, score in scorers.items():
                start = time.perf_counter()
                for text in chunk:
                    score(text)
                best[name][c] = min(best[name][c], time.perf_counter() - start)
    return {name: len(texts) / sum(times) for name, times in best.items()}


def baselines() -> dict[str, Callable[[str], float]]:
    """Plain TextBlob polarity and VADER compound, each untouched."""
    vader = SentimentIntensityAnalyzer()
    return {
        "TextBlob": lambda text: float(TextBlob(text).sentiment.polarity),
        "VADER": lambda text: float(vader.polarity_scores(text)["compound"]),
    }


def ours(text: str) -> tuple[float, int]:
    """The shipped scorer's polarity and label; "unknown" counts as neutral."""
    result = sentiment.analyze(text)
    return result.polarity, LABEL_INDEX[result.label]


def report_dev() -> dict[str, Any]:
    """Print each dev set's table (quality of each scorer), speed, and the targets."""
    rows, sets = load_dev()
    texts = [r.text for r in rows]
    ratings = [r.rating for r in rows]
    scorers = baselines()
    tweets = [t for t, name in zip(texts, sets, strict=True) if name == TWEETS]
    speeds = texts_per_second({**scorers, "ours": sentiment.analyze}, tweets)
    features = [sentiment.extract_features(t) for t in texts]
    unknown = [sentiment.unjudgeable_reason(t) is not None for t in texts]
    judged, chosen = nested_cross_validated(
        features,
        ratings,
        sets=sets,
        folds=NESTED_FOLDS,
        inner_folds=NESTED_INNER_FOLDS,
        label_settings=NESTED_LABEL_SETTINGS,
    )
    polarity: dict[str, list[float]] = {
        name: [score(t) for t in texts] for name, score in scorers.items()
    }
    polarity["ours"] = [0.0 if u else j.polarity for j, u in zip(judged, unknown, strict=True)]
    labels = {name: [band_label(p) for p in values] for name, values in polarity.items()}
    labels["ours"] = [
        1 if u else LABEL_INDEX[j.label] for j, u in zip(judged, unknown, strict=True)
    ]
    row_name = {
        "TextBlob": f"TextBlob (labels at ±{BASELINE_BAND})",
        "VADER": f"VADER (labels at ±{BASELINE_BAND})",
        "ours": f"ours (nested {NESTED_FOLDS}-fold CV)",
    }
    measured: dict[str, Any] = {}
    for set_name, path in DEV_SETS.items():
        index = [i for i, name in enumerate(sets) if name == set_name]
        print(
            f"{set_name}: {path} ({len(index)} texts; ours: "
            f"{sum(unknown[i] for i in index)} judged unknown, counted as neutral)"
        )
        print(f"{'scorer':<36} {'accuracy':>8} {'macro-F1':>8} {'Pearson r':>9} {'texts/s':>8}")
        figures: dict[str, dict[str, float]] = {}
        for scorer in polarity:
            result = evaluate(
                [ratings[i] for i in index],
                [polarity[scorer][i] for i in index],
                [labels[scorer][i] for i in index],
            )
            speed = speeds[scorer] if set_name == TWEETS else None
            _row(row_name[scorer], result, speed)
            figures[row_name[scorer].split(" (")[0]] = _figures(result, speed)
        measured[set_name] = {
            "data": _shown(path),
            "texts": len(index),
            "ours_unknown": sum(unknown[i] for i in index),
            "scorers": figures,
        }
    print(f"Macro-F1 averaged over {', '.join(OTHER_SETS)}:")
    average = {
        scorer: round(
            statistics.fmean(measured[n]["scorers"][scorer]["macro_f1"] for n in OTHER_SETS), 4
        )
        for scorer in ("TextBlob", "VADER", "ours")
    }
    for scorer, value in average.items():
        print(f"  {scorer}: {value:.3f}")
    counts: dict[Settings, int] = {}
    for setting in chosen:
        counts[setting] = counts.get(setting, 0) + 1
    for setting, n in sorted(counts.items(), key=lambda item: -item[1]):
        print(
            f"  nested: chosen {n}x of {NESTED_FOLDS} (inner {NESTED_INNER_FOLDS}-fold CV over "
            f"ridge alpha {RIDGE_ALPHAS}): ridge alpha {setting.ridge_alpha}, logistic C "
            f"{setting.logistic_c}, soft-label se {setting.soft_label_se} (fixed)"
        )
    ratio = speeds["ours"] / speeds["TextBlob"]
    tweet_scores = measured[TWEETS]["scorers"]["ours"]
    print("Targets, on texts never trained on (nested CV):")
    _target("longer texts, macro-F1 against VADER's", average["ours"], average["VADER"])
    _target("tweets, macro-F1", tweet_scores["macro_f1"], TARGET_MACRO_F1)
    _target("tweets, Pearson r", tweet_scores["pearson_r"], TARGET_PEARSON_R)
    _target("speed against bare TextBlob", ratio, TARGET_SPEED_RATIO, suffix="x")
    print(f"  (VADER runs at {speeds['VADER'] / speeds['TextBlob']:.2f}x bare TextBlob)")
    return {
        "sets": measured,
        "longer_texts_macro_f1_average": average,
        "nested_cv": f"{NESTED_FOLDS} outer folds, {NESTED_INNER_FOLDS} inner, seed 0",
        "nested_ridge_alphas_chosen": [setting.ridge_alpha for setting in chosen],
        "ours_speed_vs_textblob": round(ratio, 3),
    }


def report_extra(sets: dict[str, Path]) -> dict[str, Any]:
    """Print the table for each other rated set; say plainly which ones are missing."""
    measured: dict[str, Any] = {}
    for name, path in sets.items():
        if not path.is_file():
            print(f"Not measured: {name}, no file at {path}.")
            continue
        rows = load_rated(path)
        ratings = [r.rating for r in rows]
        unknown = sum(sentiment.unjudgeable_reason(r.text) is not None for r in rows)
        print(
            f"{name}: {path} ({len(rows)} texts, judged by the shipped model; "
            f"{unknown} judged unknown, counted as neutral)"
        )
        figures: dict[str, dict[str, float]] = {}
        for scorer, score in baselines().items():
            polarity = [score(r.text) for r in rows]
            result = evaluate(ratings, polarity, [band_label(p) for p in polarity])
            _row(scorer, result, None)
            figures[scorer] = _figures(result, None)
        judged = [ours(r.text) for r in rows]
        result = evaluate(ratings, [p for p, _ in judged], [label for _, label in judged])
        _row("ours", result, None)
        figures["ours"] = _figures(result, None)
        measured[name] = {
            "data": _shown(path),
            "texts": len(rows),
            "ours_unknown": unknown,
            "scorers": figures,
        }
    return measured


def report_binary(name: str, path: Path) -> dict[str, Any]:
    """Print sign agreement on a set labelled only positive or negative (`label,text` CSV)."""
    with path.open(encoding="utf-8-sig", newline="") as lines:
        rows = [(int(label), text) for label, text in csv.reader(lines)]
    print(f"{name}: {path} ({len(rows)} texts labelled +1 or -1, judged by the shipped model)")
    print(f"{'scorer':<36} {'sign agreement':>14} {'Pearson r':>9} {'unknown':>8}")
    figures: dict[str, dict[str, float]] = {}
    gold = [float(label) for label, _ in rows]
    scorers: dict[str, Callable[[str], float]] = {
        **baselines(),
        "ours": lambda text: ours(text)[0],
    }
    for scorer, score in scorers.items():
        polarity = [score(text) for _, text in rows]
        # A polarity of exactly 0 takes no side: half right.
        pairs = zip(polarity, gold, strict=True)
        agree = sum(1.0 if p * g > 0 else 0.5 if p == 0 else 0.0 for p, g in pairs)
        unknown = (
            sum(sentiment.unjudgeable_reason(t) is not None for _, t in rows)
            if scorer == "ours"
            else 0
        )
        r = statistics.correlation(gold, polarity)
        print(f"{scorer:<36} {agree / len(rows):>14.3f} {r:>9.3f} {unknown:>8}")
        figures[scorer] = {"sign_agreement": round(agree / len(rows), 4), "pearson_r": round(r, 4)}
    return {"data": _shown(path), "texts": len(rows), "labels": "+1/-1", "scorers": figures}


def main(argv: Sequence[str] | None = None) -> None:
    """Run the sentiment benchmark, print its tables and record the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.sentiment", description=__doc__)
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="another rated set to compare on (tab-separated id, mean_rating, text)",
    )
    parser.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a set labelled +1/-1 to compare sign agreement on (CSV: label, text)",
    )
    args = parser.parse_args(argv)
    extra = {}
    for item in args.extra:
        name, _, path = item.partition("=")
        extra[name] = Path(path)
    figures = {"dev": report_dev(), **report_extra(extra)}
    for item in args.binary:
        name, _, path = item.partition("=")
        figures[f"{name} (+1/-1)"] = report_binary(name, Path(path))
    record("sentiment", {"gold": GOLD_RULE, "sets": figures})


def _figures(scores: Scores, speed: float | None) -> dict[str, float]:
    figures = {name: round(getattr(scores, name), 4) for name in Scores.__slots__}
    if speed is not None:
        figures["texts_per_s"] = round(speed)
    return figures


def _shown(path: Path) -> str:
    """The path relative to the repository when it is inside it."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _mean(runs: Sequence[Scores]) -> Scores:
    return Scores(*(statistics.fmean(getattr(r, f) for r in runs) for f in Scores.__slots__))


def _spread(runs: Sequence[Scores]) -> float:
    return max(r.macro_f1 for r in runs) - min(r.macro_f1 for r in runs)


def _row(name: str, scores: Scores, speed: float | None) -> None:
    speed_text = "" if speed is None else f"{speed:>8,.0f}"
    print(
        f"{name:<36} {scores.accuracy:>8.3f} {scores.macro_f1:>8.3f} "
        f"{scores.pearson_r:>9.3f} {speed_text}"
    )


def _target(name: str, value: float, target: float, suffix: str = "") -> None:
    verdict = "meets" if value >= target else "MISSES"
    print(f"  {name}: {value:.3f}{suffix} {verdict} the target of {target}{suffix}")


if __name__ == "__main__":
    main()
