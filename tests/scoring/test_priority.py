"""Priority: known mentions, and reach raising a level by one step at most."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring import influence
from scoring.influence import AuthorMetrics
from scoring.priority import REACH_RAISE_AT, prioritize
from scoring.sentiment import Sentiment, analyze

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NEUTRAL = Sentiment(0.0, 0.0, "neutral")


def test_a_three_follower_customer_double_charged_asking_for_a_refund_is_p1_or_p2() -> None:
    text = "Acme charged me twice this month and I want a refund."
    tiny = influence.score(AuthorMetrics("x", followers=3, posts=12, account_created=NOW), now=NOW)

    result = prioritize(text, analyze(text), tiny.value)

    assert result.level <= 2
    assert {"says they were charged twice", "asks for a refund"} <= set(result.reasons)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Is Acme down for everyone?", 1),
        ("Is the Acme dashboard down for anyone else? Getting a 502", 1),
        ("Acme is a scam, do not trust them", 1),
        ("Acme had a security breach and my data leaked", 1),
        ("How do I cancel my Acme subscription", 2),
        ("The Acme app keeps crashing", 2),
        ("How do I export my data from Acme?", 3),
        ("Thinking about Acme today", 4),
    ],
)
def test_urgency_follows_the_complaint_and_urgency_cues(text: str, level: int) -> None:
    assert prioritize(text, NEUTRAL).level == level


def test_negativity_alone_makes_a_mention_more_urgent() -> None:
    text = "Acme is the worst and I hate it"

    assert prioritize(text, analyze(text)).level < prioritize(text, NEUTRAL).level


def test_a_question_mark_inside_a_link_is_not_a_question() -> None:
    assert prioritize("Acme pricing https://acme.test/p?plan=pro", NEUTRAL).level == 4


def test_high_reach_raises_one_step_and_says_so() -> None:
    result = prioritize("Thinking about Acme today", NEUTRAL, 95)

    assert result.level == 3
    assert result.reasons[-1] == "reach 95/100 raised it one step"


def test_reach_below_the_threshold_changes_nothing() -> None:
    text = "The Acme app keeps crashing"

    assert prioritize(text, NEUTRAL, REACH_RAISE_AT - 1) == prioritize(text, NEUTRAL)


def test_p1_stays_p1_whatever_the_reach() -> None:
    assert prioritize("Acme is down again, outage everywhere", NEUTRAL, 100).level == 1


def test_unknown_sentiment_adds_no_negativity() -> None:
    unknown = Sentiment(0.0, 0.0, "unknown", ["not English: reads as Spanish"])

    assert prioritize("Me encanta este producto", unknown).level == 4


sentiments = st.builds(
    Sentiment,
    polarity=st.floats(min_value=-1, max_value=1),
    subjectivity=st.floats(min_value=0, max_value=1),
    label=st.sampled_from(["negative", "neutral", "positive", "unknown"]),
)
texts = st.one_of(
    st.text(max_size=120),
    st.lists(
        st.sampled_from(
            ["refund", "charged twice", "down", "is down", "outage", "broken", "cancel", "scam",
             "security", "?", "love", "acme", "not working", "http://x.co/?a=1"]
        ),
        max_size=8,
    ).map(" ".join),
)  # fmt: skip


@settings(max_examples=500, deadline=None, database=None)
@given(texts, sentiments, st.integers(min_value=1, max_value=100))
def test_reach_raises_at_most_one_step_and_never_lowers(
    text: str, sentiment: Sentiment, value: int
) -> None:
    base = prioritize(text, sentiment).level
    with_reach = prioritize(text, sentiment, value)

    assert 1 <= base <= 4
    assert with_reach.level in (base, max(1, base - 1))
    assert with_reach.reasons


@settings(max_examples=300, deadline=None, database=None)
@given(texts, sentiments, st.integers(min_value=1, max_value=99))
def test_more_reach_is_never_less_urgent(text: str, sentiment: Sentiment, value: int) -> None:
    lower = prioritize(text, sentiment, value).level

    assert prioritize(text, sentiment, value + 1).level <= lower


@settings(max_examples=200, deadline=None, database=None)
@given(texts, sentiments)
def test_the_same_mention_always_gets_the_same_priority(text: str, sentiment: Sentiment) -> None:
    assert prioritize(text, sentiment) == prioritize(text, sentiment)
