"""The sentiment benchmark's arithmetic, the training recipe and the bench dispatcher."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench import train_sentiment
from bench.__main__ import benchmark_modules
from bench._results import record
from bench.sentiment import OTHER_SETS, band_label, evaluate, report_binary, report_extra
from scoring import sentiment

# A tiny rated set, made up here: never the team's tweets.
RATED = [
    ("I love it, wonderful and great", 3.0),
    ("Best day ever, so happy", 2.8),
    ("Thanks, this is lovely", 2.0),
    ("Awesome work, really good", 2.5),
    ("The bus leaves at noon", 0.0),
    ("It is a table with four legs", 0.1),
    ("The report is on page two", -0.1),
    ("We moved the meeting to Friday", 0.2),
    ("I hate this, it is awful", -3.0),
    ("Worst service, terrible and rude", -2.9),
    ("This is bad and broken", -2.2),
    ("Ugh, so sad and angry", -2.5),
] * 3


def test_perfect_answers_score_one_on_every_measure() -> None:
    ratings = [-2.0, 0.0, 2.0, 1.5]

    result = evaluate(ratings, [r / 4 for r in ratings], [0, 1, 2, 2])

    assert (result.accuracy, result.macro_f1) == (1.0, 1.0)
    assert result.pearson_r == pytest.approx(1.0)


def test_macro_f1_averages_the_three_labels() -> None:
    # Gold: negative, neutral, positive, positive; one positive called neutral.
    result = evaluate([-2.0, 0.0, 2.0, 1.5], [-0.5, 0.0, 0.5, 0.1], [0, 1, 2, 1])

    assert result.accuracy == 0.75
    assert result.macro_f1 == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)


def test_baselines_label_at_plus_or_minus_five_hundredths() -> None:
    assert [band_label(p) for p in (-0.06, -0.05, 0.05, 0.06)] == [0, 1, 1, 2]


def test_gold_labels_cut_the_mean_rating_at_half_a_point() -> None:
    assert [train_sentiment.gold_label(r) for r in (-0.6, -0.5, 0.5, 0.6)] == [0, 1, 1, 2]


def test_a_trained_model_survives_its_json_form_and_judges_the_same() -> None:
    features = [sentiment.extract_features(text) for text, _ in RATED]
    model = train_sentiment.fit(features, [rating for _, rating in RATED], provenance="test")

    again = sentiment.SentimentModel.from_dict(json.loads(train_sentiment.dump(model)))
    first = sentiment.SentimentModel.from_dict(model)

    assert [again.judge(f) for f in features] == [first.judge(f) for f in features]
    assert again.judge(features[0]).label == "positive"
    assert again.judge(features[-1]).label == "negative"


def test_soft_labels_share_a_tweet_between_labels_near_the_cut_points() -> None:
    shares = train_sentiment.soft_labels([-3.0, -0.5, 0.0, 0.5, 3.0], 0.3)

    assert shares.sum(axis=1) == pytest.approx([1.0] * 5)
    assert shares[1, 0] == pytest.approx(0.5) and shares[3, 2] == pytest.approx(0.5)
    assert shares[0, 0] > 0.99 and shares[2, 1] > 0.9 and shares[4, 2] > 0.99
    assert (train_sentiment.soft_labels([-3.0, 0.0, 3.0], 0.0) == np.eye(3)).all()


def test_settings_are_chosen_from_the_grids_and_recorded_in_the_model() -> None:
    features = [sentiment.extract_features(text) for text, _ in RATED]
    ratings = [rating for _, rating in RATED]

    settings = train_sentiment.choose_settings(
        features, ratings, ridge_alphas=(1.0, 10.0), label_settings=((0.0, 0.1), (0.3, 1.0))
    )
    model = train_sentiment.fit(features, ratings, settings=settings)

    assert settings.ridge_alpha in (1.0, 10.0)
    assert (settings.soft_label_se, settings.logistic_c) in ((0.0, 0.1), (0.3, 1.0))
    assert model["hyperparameters"]["soft_label_se"] == settings.soft_label_se


def test_nested_cross_validation_judges_every_text_once_and_reports_its_choices() -> None:
    features = [sentiment.extract_features(text) for text, _ in RATED]

    judged, chosen = train_sentiment.nested_cross_validated(
        features,
        [rating for _, rating in RATED],
        ridge_alphas=(10.0,),
        label_settings=((0.3, 0.1),),
    )

    assert len(judged) == len(RATED)
    assert chosen == [train_sentiment.Settings(10.0, 0.1, 0.3)] * train_sentiment.FOLDS


def test_tweets_weigh_as_much_as_the_longer_texts_together() -> None:
    sets = ["tweets"] * 2 + ["movie reviews"] * 6 + ["news editorials"] * 2

    weights = train_sentiment.text_weights(sets, len(sets))

    assert weights.sum() == pytest.approx(len(sets))
    assert weights[:2].sum() == pytest.approx(train_sentiment.TWEET_SHARE * len(sets))
    assert (weights[2:] == weights[2]).all()
    assert (train_sentiment.text_weights(None, 3) == 1.0).all()
    assert (train_sentiment.text_weights(["tweets"] * 3, 3) == 1.0).all()


def test_nested_cross_validation_over_several_sets_keeps_each_set_in_every_fold() -> None:
    features = [sentiment.extract_features(text) for text, _ in RATED]
    ratings = [rating for _, rating in RATED]
    sets = ["tweets" if i % 3 == 0 else "movie reviews" for i in range(len(RATED))]

    folds = train_sentiment._folds(ratings, sets, 3, 0)
    judged, chosen = train_sentiment.nested_cross_validated(
        features,
        ratings,
        sets=sets,
        folds=3,
        inner_folds=2,
        ridge_alphas=(1.0, 10.0),
        label_settings=((0.3, 0.1),),
    )

    assert all({sets[i] for i in test} == {"tweets", "movie reviews"} for _, test in folds)
    assert len(judged) == len(RATED) and len(chosen) == 3
    assert {c.ridge_alpha for c in chosen} <= {1.0, 10.0}


def test_a_blend_judges_as_the_weighted_mean_of_its_two_models() -> None:
    features = [sentiment.extract_features(text) for text, _ in RATED]
    ratings = [rating for _, rating in RATED]
    first = train_sentiment.fit(features, ratings)
    second = train_sentiment.fit(
        features[:12], ratings[:12], settings=train_sentiment.Settings(1.0)
    )

    blended = sentiment.SentimentModel.from_dict(train_sentiment.blend(first, second, 0.25))
    models = [sentiment.SentimentModel.from_dict(m) for m in (first, second)]

    for f in features[:12]:
        a, b = (m.judge(f).polarity for m in models)
        assert blended.judge(f).polarity == pytest.approx(0.25 * a + 0.75 * b, abs=2e-3)


def test_a_model_of_tweets_and_longer_texts_is_a_blend() -> None:
    features = [sentiment.extract_features(text) for text, _ in RATED]
    ratings = [rating for _, rating in RATED]
    sets = ["tweets" if i % 3 == 0 else "movie reviews" for i in range(len(RATED))]

    model = train_sentiment.fit(features, ratings, sets=sets)

    assert model["hyperparameters"]["blend_share"] == train_sentiment.BLEND_SHARE
    assert "blend_share" not in train_sentiment.fit(features, ratings)["hyperparameters"]


def test_cross_validation_judges_every_text_once() -> None:
    features = [sentiment.extract_features(text) for text, _ in RATED]

    judged = train_sentiment.cross_validated(features, [rating for _, rating in RATED])

    assert len(judged) == len(RATED)


def test_python_m_bench_runs_benchmarks_but_not_training() -> None:
    modules = benchmark_modules()

    assert "bench.sentiment" in modules
    assert not any(name.startswith("bench.train_") for name in modules)


def test_an_extra_rated_set_is_measured_and_a_missing_one_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rated = tmp_path / "reviews.tsv"
    rows = "".join(f"{i}\t{rating}\t{text}\n" for i, (text, rating) in enumerate(RATED))
    rated.write_text("id\tmean_rating\ttext\n" + rows, encoding="utf-8")

    report_extra({"reviews": rated, "product reviews": tmp_path / "missing.tsv"})

    out = capsys.readouterr().out
    assert f"reviews: {rated} (36 texts" in out
    assert out.count("\nours ") == 1
    assert "Not measured: product reviews" in out


def test_a_set_labelled_plus_or_minus_one_is_measured_by_sign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "polarity.csv"
    binary.write_text('1,"a wonderful, moving film"\n-1,"dull and lifeless"\n', encoding="utf-8")

    report_binary("films", binary)

    ours = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("ours"))
    assert ours.split()[1] == "1.000"


@pytest.mark.skipif(
    "OVERHEARD_SENTIMENT_DATA" in os.environ, reason="the data directory is overridden"
)
def test_the_rated_data_ships_inside_the_repository() -> None:
    data = train_sentiment.REPO / "bench" / "data" / "sentiment"
    read = [train_sentiment.DEV_TWEETS, *OTHER_SETS.values()]

    assert {path.parent for path in read} == {data}
    assert [path.name for path in read if not path.is_file()] == []


@pytest.mark.skipif(
    "OVERHEARD_SENTIMENT_DATA" in os.environ, reason="the data directory is overridden"
)
def test_the_shipped_model_was_trained_on_the_shipped_dev_texts() -> None:
    model = json.loads(train_sentiment.MODEL_PATH.read_text(encoding="utf-8"))

    for path in train_sentiment.DEV_SETS.values():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        assert f"{path.name} (" in model["provenance"]
        assert f"sha256 {digest}" in model["provenance"]


def test_sentences_keep_their_document_and_sentence_id(tmp_path: Path) -> None:
    rated = tmp_path / "editorials.tsv"
    rated.write_text("id\tmean_rating\ttext\n7_2\t-1.5\tA dull plan.\n", encoding="utf-8")

    assert train_sentiment.load_rated(rated) == [
        train_sentiment.RatedText("7_2", -1.5, "A dull plan.")
    ]


def test_recorded_figures_replace_their_own_benchmark_and_keep_the_others(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.json"

    record("fetch", {"concurrent_s": 9.0}, path=results)
    record("sentiment", {"macro_f1": 0.5}, path=results)
    record("sentiment", {"macro_f1": 0.7}, path=results)

    saved = json.loads(results.read_text(encoding="utf-8"))
    assert (saved["fetch"]["concurrent_s"], saved["sentiment"]["macro_f1"]) == (9.0, 0.7)
    assert "measured_at" in saved["sentiment"]


def test_the_operations_benchmarks_run_and_their_helpers_do_not() -> None:
    modules = benchmark_modules()

    assert {"bench.clicks", "bench.ingest", "bench.worker_rss", "bench.workers"} <= set(modules)
    assert "bench._loopback" not in modules


def test_an_ingest_page_holds_parsed_mentions_with_fresh_ids_and_shared_authors() -> None:
    from bench.ingest import fetched_page

    page = fetched_page(["a", "b", "c", "d", "e"], start=10, tag="r0")

    assert [m.external_id for m in page] == ["r0-10", "r0-11", "r0-12", "r0-13", "r0-14"]
    assert [m.text for m in page] == ["a", "b", "c", "d", "e"]
    assert len({m.author.handle for m in page}) < len(page)
