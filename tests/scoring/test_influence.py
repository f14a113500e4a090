"""Influence: the published examples, exact breakdowns and properties of every score."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta
from itertools import pairwise
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


# Every network with an audience figure, and the field that carries it.
AUDIENCE_FIELDS = {
    "x": "followers",
    "bluesky": "followers",
    "mastodon": "followers",
    "rss": "followers",
    "appstore": "followers",
    "elsewhere": "followers",
    "reddit": "karma",
    "hackernews": "karma",
    "stackexchange": "karma",
}
TENFOLD = [10**k for k in range(1, 9)]  # 10 .. 100 M


def _issue_author(network: str, audience: int) -> AuthorMetrics:
    """The issue's account: following 100, 2,000 posts, 3,000 days old."""
    return AuthorMetrics(
        network,
        following=100,
        posts=2_000,
        account_created=NOW - timedelta(days=3_000),
        **{AUDIENCE_FIELDS[network]: audience},
    )


@pytest.mark.parametrize("network", sorted(AUDIENCE_FIELDS))
def test_every_tenfold_step_of_audience_raises_reach_up_to_100_million(network: str) -> None:
    values = [score(_issue_author(network, a), now=NOW).value for a in [0, *TENFOLD]]

    assert values[0] <= 10
    assert all(b > a for a, b in pairwise(values[1:])), values
    assert values[-1] >= 95


def test_the_issues_reach_table_has_no_plateau_and_no_free_third() -> None:
    row = [score(_issue_author("x", a), now=NOW).value for a in [0, 10, 100, 1_000, *TENFOLD[3:]]]

    assert row == [3, 15, 27, 39, 51, 62, 74, 86, 98]


def test_hacker_news_karma_keeps_separating_veterans_from_regulars() -> None:
    since_2008 = datetime(2008, 2, 1, tzinfo=UTC)
    regular = score(AuthorMetrics("hackernews", karma=10_000, account_created=since_2008), now=NOW)
    veteran = score(AuthorMetrics("hackernews", karma=200_000, account_created=since_2008), now=NOW)

    assert veteran.value - regular.value >= 10


nobody = st.sampled_from(sorted(AUDIENCE_FIELDS))


@settings(max_examples=300, deadline=None, database=None)
@given(
    nobody,
    st.sampled_from([0, 1]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**9)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=40_000)),
    st.one_of(st.none(), st.booleans()),
    st.one_of(st.none(), st.floats(min_value=0, max_value=1e9)),
    st.one_of(st.none(), st.integers(min_value=0, max_value=1_000)),
)
def test_no_audience_scores_at_most_ten_whatever_the_activity(
    network: str,
    audience: int,
    posts: int | None,
    age_days: int | None,
    verified: bool | None,
    engagement: float | None,
    sample: int | None,
) -> None:
    metrics = AuthorMetrics(
        network,
        posts=posts,
        account_created=None if age_days is None else NOW - timedelta(days=age_days),
        verified=verified,
        median_engagement=engagement,
        engagement_sample=sample,
        **{AUDIENCE_FIELDS[network]: audience},
    )

    assume(audience == 0 or AUDIENCE_FIELDS[network] == "karma")  # karma starts at 1

    assert score(metrics, now=NOW).value <= 10


@settings(max_examples=300, deadline=None, database=None)
@given(
    nobody,
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=10**9),
    st.integers(min_value=0, max_value=40_000),
)
def test_credibility_moves_reach_by_at_most_four_points(
    network: str, audience: int, posts: int, age_days: int
) -> None:
    bare = AuthorMetrics(network, **{AUDIENCE_FIELDS[network]: audience})
    credible = dataclasses.replace(
        bare, posts=posts, account_created=NOW - timedelta(days=age_days), verified=True
    )

    assert 0 <= score(credible, now=NOW).value - score(bare, now=NOW).value <= 4


def test_engagement_counts_only_from_five_posts_and_says_so() -> None:
    few = AuthorMetrics("x", followers=1_000, median_engagement=200, engagement_sample=4)
    enough = dataclasses.replace(few, engagement_sample=5)

    left_out, counted = score(few, now=NOW), score(enough, now=NOW)

    (eng,) = [f for f in left_out.factors if f.name == "median engagement"]
    assert (eng.points, eng.weight) == (0, 0)
    assert eng.note is not None and "4 of the 5 posts" in eng.note
    assert left_out.value == score(AuthorMetrics("x", followers=1_000), now=NOW).value
    assert counted.value > left_out.value


def test_engagement_above_one_percent_of_the_audience_raises_reach_and_below_lowers_it() -> None:
    def with_engagement(median: float) -> int:
        metrics = AuthorMetrics(
            "bluesky", followers=10_000, median_engagement=median, engagement_sample=20
        )
        return score(metrics, now=NOW).value

    unmeasured = score(AuthorMetrics("bluesky", followers=10_000), now=NOW).value

    assert with_engagement(2) < unmeasured
    assert abs(with_engagement(100) - unmeasured) <= 1
    assert with_engagement(1_000) > unmeasured


def test_engagement_counts_for_at_most_ten_times_the_audience() -> None:
    viral = AuthorMetrics("x", followers=10, median_engagement=50_000, engagement_sample=9)
    hundred = AuthorMetrics("x", followers=100)

    assert score(viral, now=NOW).value <= score(hundred, now=NOW).value


def test_confidence_says_whether_audience_age_and_engagement_are_known() -> None:
    some = AuthorMetrics("x", posts=900, account_created=datetime(2015, 1, 1, tzinfo=UTC))
    audience = dataclasses.replace(some, followers=500)
    measured = dataclasses.replace(audience, median_engagement=4.0, engagement_sample=12)
    hn = AuthorMetrics("hackernews", karma=500, account_created=datetime(2015, 1, 1, tzinfo=UTC))

    assert [score(m, now=NOW).confidence for m in (some, audience, measured, hn)] == [
        "low",
        "medium",
        "high",
        "high",
    ]


def test_unknown_metrics_score_the_base_with_low_confidence() -> None:
    result = score(AuthorMetrics("hackernews"), now=NOW)

    assert (result.value, result.confidence) == (1, "low")
    assert [f.raw for f in result.factors if f.name != "base"] == [None, None, None]


def test_one_minor_factor_alone_cannot_score_high() -> None:
    assert score(AuthorMetrics("x", verified=True), now=NOW).value < 20


def test_the_breakdown_names_each_factor_with_its_raw_value_and_points() -> None:
    result = score(AuthorMetrics("hackernews", karma=157_316, posts=40), now=NOW)

    assert [(f.name, f.raw) for f in result.factors] == [
        ("base", None),
        ("karma", 157_316.0),
        ("posts", 40.0),
        ("account age (days)", None),
    ]
    assert result.formula_version == "2.0+ref.2"


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
        ({"posts": [[0, 0], [10, 1]], "age_days": [[0, 0], [10, 1]]}, "no audience"),
    ],
)
def test_malformed_reference_data_is_refused(quantiles: dict[str, Any], error: str) -> None:
    roles = (
        {"activity": "posts"}
        if error == "no audience"
        else {"audience": "followers", "activity": "posts"}
    )
    if error != "no audience":
        quantiles = {"posts": quantiles.pop("followers")} if "followers" in quantiles else quantiles
    data = {
        "version": "t",
        "formula": influence.FORMULA,
        "networks": {"default": {"roles": roles, "quantiles": quantiles}},
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
    assert [f.name for f in both.factors][1] == "x followers"


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
    engagement_sample=st.one_of(st.none(), st.integers(min_value=0, max_value=60)),
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
