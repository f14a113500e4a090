"""Influence: the published examples, exact breakdowns and properties of every score."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from scoring import influence
from scoring.influence import AuthorMetrics, InfluenceScore, score, score_across

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NETWORKS = ["hackernews", "reddit", "mastodon", "bluesky", "x", "rss", "appstore", "stackexchange"]
COUNT_FIELDS = ["followers", "following", "posts", "karma"]


def test_a_hundred_million_followers_scores_near_the_top() -> None:
    star = AuthorMetrics(
        "x", followers=100_000_000, posts=30_000, account_created=datetime(2009, 3, 1, tzinfo=UTC)
    )

    assert score(star, now=NOW).value >= 95


def test_a_new_account_with_no_audience_scores_near_the_bottom() -> None:
    newcomer = AuthorMetrics("x", followers=0, following=0, posts=0, account_created=NOW)

    assert score(newcomer, now=NOW).value <= 3


def test_a_hacker_news_veteran_with_200k_karma_is_in_the_top_fifth() -> None:
    veteran = AuthorMetrics(
        "hackernews", karma=200_000, account_created=datetime(2008, 2, 1, tzinfo=UTC)
    )

    assert score(veteran, now=NOW).value >= 80


def test_a_median_x_user_scores_near_the_middle() -> None:
    typical = AuthorMetrics(
        "x", followers=25, posts=100, account_created=NOW - timedelta(days=6 * 365)
    )

    assert 40 <= score(typical, now=NOW).value <= 60


def test_engagement_weighs_more_than_audience() -> None:
    weights = influence.WEIGHTS

    assert weights["engagement"] > weights["audience"] > weights["activity"]
    assert math.isclose(sum(weights.values()), 1.0)


def test_an_engaged_small_account_outranks_an_ignored_big_one() -> None:
    # Percentiles on X: 10 followers 0.30, 100,000 followers 0.995; engagement 300 0.97, 1 0.40.
    engaged = AuthorMetrics("x", followers=10, median_engagement=300)
    ignored = AuthorMetrics("x", followers=100_000, median_engagement=1)

    assert score(engaged, now=NOW).value > score(ignored, now=NOW).value


def test_unknown_metrics_score_the_base_with_low_confidence() -> None:
    result = score(AuthorMetrics("hackernews"), now=NOW)

    assert (result.value, result.confidence) == (1, "low")
    assert [f.raw for f in result.factors if f.name != "base"] == [None, None, None]


def test_one_minor_factor_alone_cannot_score_high() -> None:
    assert score(AuthorMetrics("x", verified=True), now=NOW).value < 20


def test_confidence_grows_with_the_share_of_metrics_known() -> None:
    some = AuthorMetrics("x", followers=500)
    most = dataclasses.replace(some, posts=900, account_created=datetime(2015, 1, 1, tzinfo=UTC))
    all_ = dataclasses.replace(most, median_engagement=4.0, verified=False)

    assert [score(m, now=NOW).confidence for m in (some, most, all_)] == ["low", "medium", "high"]


def test_the_breakdown_names_each_factor_with_its_raw_value_and_points() -> None:
    result = score(AuthorMetrics("hackernews", karma=157_316, posts=40), now=NOW)

    assert [(f.name, f.raw) for f in result.factors] == [
        ("base", None),
        ("karma", 157_316.0),
        ("posts", 40.0),
        ("account age (days)", None),
    ]
    assert result.formula_version == "1.0+ref.1"


def test_an_unknown_network_is_scored_against_the_default_reference() -> None:
    result = score(AuthorMetrics("lobsters", followers=1_000), now=NOW)

    assert result.value == score(AuthorMetrics("x", followers=1_000), now=NOW).value


def test_naive_times_are_read_as_utc() -> None:
    naive = AuthorMetrics("x", account_created=datetime(2015, 1, 1))  # noqa: DTZ001
    aware = AuthorMetrics("x", account_created=datetime(2015, 1, 1, tzinfo=UTC))

    assert score(naive, now=NOW.replace(tzinfo=None)) == score(aware, now=NOW)


def test_every_network_has_a_reference_distribution() -> None:
    assert set(NETWORKS) | {"default"} <= set(influence.reference().networks)


@pytest.mark.parametrize(
    ("quantiles", "error"),
    [
        ({"followers": [[0, 0], [10, 0.5]]}, "run from"),
        ({"followers": [[1, 0], [10, 1]]}, "run from"),
        ({"followers": [[0, 0], [10, 0.6], [5, 1]]}, "rise"),
        ({"followers": [[0, 0], [10, 0.6], [20, 0.5], [30, 1]]}, "rise"),
        ({}, "no quantiles"),
    ],
)
def test_malformed_reference_data_is_refused(quantiles: dict[str, Any], error: str) -> None:
    data = {
        "version": "t",
        "formula": influence.FORMULA,
        "networks": {"default": {"roles": {"audience": "followers"}, "quantiles": quantiles}},
    }

    with pytest.raises(ValueError, match=error):
        influence.parse_reference(data)


def test_the_strongest_network_leads_and_the_others_add_a_capped_bonus() -> None:
    hn = AuthorMetrics("hackernews", karma=300)
    x = AuthorMetrics("x", followers=2_000, posts=800)
    alone = score(x, now=NOW).value

    both = score_across([hn, x], now=NOW)

    assert both.value == alone + math.floor(0.1 * (score(hn, now=NOW).value - 1))
    assert both.network == "x"
    assert both.factors[-1].name == "other networks (1)"
    assert [f.name for f in both.factors][1] == "x median engagement"


def test_many_networks_add_at_most_ten_points() -> None:
    strong = [AuthorMetrics(n, followers=10**6, karma=10**6) for n in NETWORKS]
    weak = AuthorMetrics("x", followers=10)

    result = score_across([weak, *strong[:1]], now=NOW)
    many = score_across([weak, *[AuthorMetrics("x", followers=100)] * 50], now=NOW)

    assert result.value <= 100
    assert many.value - score(AuthorMetrics("x", followers=100), now=NOW).value <= 10


def test_no_networks_scores_the_base() -> None:
    assert score_across([], now=NOW).value == 1


optional_count = st.one_of(st.none(), st.integers(min_value=-5, max_value=10**10))
metrics_strategy = st.builds(
    AuthorMetrics,
    network=st.sampled_from([*NETWORKS, "elsewhere"]),
    followers=optional_count,
    following=optional_count,
    posts=optional_count,
    karma=optional_count,
    account_created=st.one_of(
        st.none(),
        st.datetimes(
            min_value=datetime(1990, 1, 1),  # noqa: DTZ001
            max_value=datetime(2030, 1, 1),  # noqa: DTZ001
            timezones=st.just(UTC),
        ),
    ),
    verified=st.one_of(st.none(), st.booleans()),
    median_engagement=st.one_of(
        st.none(), st.floats(min_value=-1, max_value=1e12), st.just(math.inf)
    ),
)


def _valid(result: InfluenceScore) -> None:
    assert 1 <= result.value <= 100
    assert sum(f.points for f in result.factors) == result.value
    assert all(f.points >= 0 and 0 <= f.normalized <= 1 for f in result.factors)


@settings(max_examples=500, deadline=None, database=None)
@given(metrics_strategy)
def test_every_score_is_bounded_and_its_points_add_up_to_it(metrics: AuthorMetrics) -> None:
    result = score(metrics, now=NOW)

    _valid(result)
    assert result == score(metrics, now=NOW)


def _raised(metrics: AuthorMetrics, name: str, step: int) -> AuthorMetrics | None:
    """`metrics` with one input raised by `step` (an older account, a verification)."""
    value = getattr(metrics, name)
    if value is None:
        return None
    if name == "account_created":
        return dataclasses.replace(
            metrics, account_created=value - timedelta(days=1 + step % 20_000)
        )
    if name == "verified":
        return dataclasses.replace(metrics, verified=True)
    if name == "median_engagement":
        return dataclasses.replace(metrics, median_engagement=value + step / 7)
    return dataclasses.replace(metrics, **{name: value + step})


monotone_fields = st.sampled_from(
    [*COUNT_FIELDS, "account_created", "verified", "median_engagement"]
)


@settings(max_examples=1000, deadline=None, database=None)
@given(metrics_strategy, monotone_fields, st.integers(min_value=1, max_value=10**9))
def test_raising_any_one_input_never_lowers_the_score(
    metrics: AuthorMetrics, name: str, step: int
) -> None:
    raised = _raised(metrics, name, step)
    assume(raised is not None)
    assert raised is not None

    assert score(raised, now=NOW).value >= score(metrics, now=NOW).value


@settings(max_examples=300, deadline=None, database=None)
@given(metrics_strategy, optional_count)
def test_following_count_never_changes_the_score(
    metrics: AuthorMetrics, following: int | None
) -> None:
    changed = dataclasses.replace(metrics, following=following)

    assert score(changed, now=NOW).value == score(metrics, now=NOW).value


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(metrics_strategy, max_size=5))
def test_a_cross_network_score_is_bounded_and_explained(metrics: list[AuthorMetrics]) -> None:
    result = score_across(metrics, now=NOW)
    singles = [score(m, now=NOW).value for m in metrics]

    _valid(result)
    assert max(singles, default=1) <= result.value <= max(singles, default=1) + 10


@settings(max_examples=500, deadline=None, database=None)
@given(
    st.lists(metrics_strategy, min_size=1, max_size=4),
    st.data(),
    monotone_fields,
    st.integers(min_value=1, max_value=10**9),
)
def test_raising_an_input_on_any_network_never_lowers_the_cross_network_score(
    metrics: list[AuthorMetrics], data: st.DataObject, name: str, step: int
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(metrics) - 1))
    raised = _raised(metrics[i], name, step)
    assume(raised is not None)
    assert raised is not None
    changed = [*metrics[:i], raised, *metrics[i + 1 :]]

    assert score_across(changed, now=NOW).value >= score_across(metrics, now=NOW).value


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(st.floats(min_value=0, max_value=99), max_size=6))
def test_largest_remainder_rounding_keeps_the_rounded_total(shares: list[float]) -> None:
    points = influence._largest_remainder(shares)

    assert sum(points) == math.floor(sum(shares) + 0.5)
    assert all(abs(p - s) < 1 for p, s in zip(points, shares, strict=True))
