"""The digest's numbers for a fixed data set and clock, counted in SQL on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from bot.services.digest import (
    Digest,
    DigestKind,
    OpenWork,
    TierWait,
    Volume,
    Waits,
    compute_digest,
    digest_period,
)
from bot.store.db import session_scope
from bot.store.models import Author, Card, CardState, Mention, SourceCursor, Watch
from tests.factories import CHANNEL

DAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def add_card(
    engine: Engine,
    at: datetime,
    *,
    network: str = "hackernews",
    label: str | None = "negative",
    polarity: float | None = -0.5,
    reach: int | None = None,
    handle: str = "someone",
    channel: str = CHANNEL,
    claimed: tuple[str, timedelta] | None = None,
    resolved: tuple[str, timedelta] | None = None,
    state: CardState | None = None,
    text: str = "acme again",
) -> int:
    """Store a mention and its posted card (posted when it arrived); return the card id."""
    with session_scope(engine) as session:
        author_id = None
        if reach is not None or handle != "someone":
            author = Author(
                network=network,
                external_id=f"{handle}-{at.isoformat()}",
                handle=handle,
                score=reach,
            )
            session.add(author)
            session.flush()
            author_id = author.id
        mention = Mention(
            network=network,
            external_id=f"{channel}-{at.isoformat()}-{text}",
            author_id=author_id,
            url="https://example.com/post",
            text=text,
            created_at=at,
            fetched_at=at,
            sentiment_label=label,
            sentiment_polarity=polarity,
        )
        session.add(mention)
        session.flush()
        assert mention.id is not None
        card = Card(
            mention_id=mention.id,
            channel_id=channel,
            queued_at=at,
            posted_at=at,
            message_ts=f"{int(at.timestamp())}.000100",
            thread_ts=f"{int(at.timestamp())}.000100",
            state=CardState.POSTED,
        )
        if claimed is not None:
            card.claimed_by, card.claimed_at = claimed[0], at + claimed[1]
            card.state = CardState.CLAIMED
        if resolved is not None:
            card.closed_by, card.closed_at = resolved[0], at + resolved[1]
            card.state = CardState.RESOLVED
        if state is not None:
            card.state = state
        session.add(card)
        session.flush()
        assert card.id is not None
        return card.id


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def seed_week(engine: Engine) -> dict[str, int]:
    """The fixed data set: five mentions on the day, two the day before, one a day before."""
    ids = {
        "low": add_card(
            engine,
            at(DAY, 10),
            reach=20,
            handle="kestrel",
            polarity=-0.8,
            claimed=("UALICE", 30 * MIN),
            resolved=("UALICE", 90 * MIN),
        ),
        "high": add_card(
            engine,
            at(DAY, 11),
            reach=80,
            handle="bigco",
            polarity=-0.4,
            claimed=("UBOB", 10 * MIN),
        ),
        "mid": add_card(
            engine,
            at(DAY, 12),
            network="reddit",
            label="positive",
            polarity=0.6,
            reach=50,
            handle="fan",
        ),
        "top": add_card(
            engine,
            at(DAY, 13, 30),
            network="reddit",
            label="neutral",
            polarity=0.0,
            reach=95,
            handle="famous",
            claimed=("UALICE", 20 * MIN),
            resolved=("UALICE", 50 * MIN),
        ),
        "late": add_card(engine, at(DAY, 23, 59), network="bluesky", label=None, polarity=None),
    }
    before = DAY - timedelta(days=1)
    for hour in (8, 9):
        add_card(engine, at(before, hour), resolved=("UBOB", 5 * MIN), text=f"b{hour}")
    for back in range(2, 8):  # 18th to 23rd: one positive Reddit mention a day
        add_card(
            engine,
            at(DAY - timedelta(days=back), 15),
            network="reddit",
            label="positive",
            polarity=0.5,
            resolved=("UBOB", 5 * MIN),
            text=f"r{back}",
        )
    return ids


def digest_of(engine: Engine, day: date = DAY, zone: str = "UTC", **kwargs: object) -> Digest:
    period = digest_period(CHANNEL, DigestKind.DAILY, day, zone)
    with session_scope(engine) as session:
        return compute_digest(period, session=session, now=NOW, sources={}, **kwargs)  # type: ignore[arg-type]


def test_the_days_volume_compares_with_the_day_before_and_the_7_day_average(
    engine: Engine,
) -> None:
    seed_week(engine)

    digest = digest_of(engine)

    assert digest.total == Volume("total", 5, 2, pytest.approx(8 / 7))
    assert digest.by_network == (
        Volume("hackernews", 2, 2, pytest.approx(2 / 7)),
        Volume("reddit", 2, 0, pytest.approx(6 / 7)),
        Volume("bluesky", 1, 0, 0.0),
    )
    assert digest.by_sentiment == (
        Volume("negative", 2, 2, pytest.approx(2 / 7)),
        Volume("neutral", 1, 0, 0.0),
        Volume("positive", 1, 0, pytest.approx(6 / 7)),
        Volume("unknown", 1, 0, 0.0),
    )
    assert not digest.empty


def test_top_mentions_by_reach_and_by_negativity_point_at_their_cards(engine: Engine) -> None:
    ids = seed_week(engine)

    digest = digest_of(engine)

    assert [(t.card_id, t.reach) for t in digest.top_by_reach] == [
        (ids["top"], 95),
        (ids["high"], 80),
        (ids["mid"], 50),
    ]
    assert [(t.card_id, t.polarity) for t in digest.top_by_negativity] == [
        (ids["low"], -0.8),
        (ids["high"], -0.4),
    ]
    first = digest.top_by_reach[0]
    assert (first.channel_id, first.author, first.network) == (CHANNEL, "famous", "reddit")
    assert first.message_ts == f"{int(at(DAY, 13, 30).timestamp())}.000100"


def test_response_times_overall_and_per_person_are_nearest_rank_minutes(engine: Engine) -> None:
    seed_week(engine)

    digest = digest_of(engine)

    assert digest.claim == Waits(3, 20 * 60, 30 * 60)  # 10, 20 and 30 minutes
    assert digest.resolve == Waits(2, 50 * 60, 90 * 60)  # 50 and 90 minutes
    assert [(s.user_id, s.claim, s.resolve) for s in digest.staff] == [
        ("UALICE", Waits(2, 20 * 60, 30 * 60), Waits(2, 50 * 60, 90 * 60)),
        ("UBOB", Waits(1, 10 * 60, 10 * 60), Waits()),
    ]


def test_what_still_waits_is_counted_at_the_time_of_the_digest(engine: Engine) -> None:
    seed_week(engine)

    digest = digest_of(engine)

    # Reddit at 12:00 and Bluesky at 23:59 unclaimed; Bob's claim from 11:10 still open.
    assert digest.open == OpenWork(
        unclaimed=2,
        oldest_unclaimed_s=21 * 3600,
        claimed=1,
        oldest_claimed_s=21 * 3600 + 50 * 60,
        snoozed=0,
    )


def test_fairness_shows_first_response_by_reach_tier_without_a_flag_on_few_cards(
    engine: Engine,
) -> None:
    seed_week(engine)

    fairness = digest_of(engine).fairness

    assert fairness.tiers == (
        TierWait("low", "1–39", Waits(1, 30 * 60, 30 * 60)),
        TierWait("mid", "40–69", Waits()),
        TierWait("high", "70–100", Waits(2, 10 * 60, 20 * 60)),
    )
    assert not fairness.flagged


@pytest.mark.parametrize(
    ("high_min", "low_min", "flagged"),
    [
        (10, 20, True),  # twice as long, 10 min more
        (10, 19, False),  # 1.9×, but only 9 min more
        (30, 44, False),  # 14 min more, but under 1.5×
        (30, 45, True),  # 1.5× and 15 min more
    ],
)
def test_low_reach_authors_waiting_markedly_longer_are_flagged(
    engine: Engine, high_min: int, low_min: int, flagged: bool
) -> None:
    for i in range(3):
        add_card(
            engine, at(DAY, 9 + i), reach=10, handle=f"small{i}", claimed=("UALICE", low_min * MIN)
        )
        add_card(
            engine, at(DAY, 14 + i), reach=90, handle=f"big{i}", claimed=("UALICE", high_min * MIN)
        )

    fairness = digest_of(engine).fairness

    assert fairness.tiers[0].waits == Waits(3, low_min * 60, low_min * 60)
    assert fairness.tiers[2].waits == Waits(3, high_min * 60, high_min * 60)
    assert fairness.flagged is flagged


def test_an_empty_day_is_empty(engine: Engine) -> None:
    add_card(engine, at(DAY - timedelta(days=3), 12))

    digest = digest_of(engine)

    assert digest.empty
    assert digest.total == Volume("total", 0, 0, pytest.approx(1 / 7))
    assert digest.by_network == (Volume("hackernews", 0, 0, pytest.approx(1 / 7)),)


def test_other_channels_are_not_counted(engine: Engine) -> None:
    add_card(engine, at(DAY, 12), channel="C0OTHER")

    assert digest_of(engine).total.count == 0


def test_failing_and_silent_sources_of_the_channels_watches_are_listed(engine: Engine) -> None:
    with session_scope(engine) as session:
        mine = Watch(
            query="acme",
            sources=["reddit", "x"],
            channel_id=CHANNEL,
            created_at=NOW - timedelta(days=30),
        )
        theirs = Watch(
            query="acme",
            sources=["reddit"],
            channel_id="C0OTHER",
            created_at=NOW - timedelta(days=30),
        )
        session.add_all([mine, theirs])
        session.flush()
        assert mine.id is not None and theirs.id is not None
        session.add_all(
            [
                SourceCursor(
                    watch_id=mine.id,
                    source="reddit",
                    failures=4,
                    last_attempt_at=NOW,
                    last_success_at=NOW - timedelta(days=2),
                ),
                SourceCursor(
                    watch_id=mine.id,
                    source="x",
                    last_attempt_at=NOW,
                    last_success_at=NOW,
                    last_mention_at=NOW - timedelta(days=9),
                ),
                SourceCursor(watch_id=theirs.id, source="reddit", failures=9, last_attempt_at=NOW),
            ]
        )
        watch_id = mine.id

    problems = digest_of(engine).sources

    assert [(p.watch_id, p.source, p.state) for p in problems] == [
        (watch_id, "reddit", "failing"),
        (watch_id, "x", "silent"),
    ]


def test_a_day_when_clocks_go_forward_has_23_hours(engine: Engine) -> None:
    spring = date(2026, 3, 29)  # Europe/Berlin: 02:00 CET → 03:00 CEST
    add_card(engine, datetime(2026, 3, 28, 23, 0, tzinfo=UTC))  # 00:00 local: in
    add_card(engine, datetime(2026, 3, 29, 21, 59, tzinfo=UTC), text="b")  # 23:59 CEST: in
    add_card(engine, datetime(2026, 3, 29, 22, 0, tzinfo=UTC), text="c")  # 00:00 the 30th
    add_card(engine, datetime(2026, 3, 28, 22, 59, tzinfo=UTC), text="d")  # 23:59 the 28th

    digest = digest_of(engine, spring, "Europe/Berlin")

    period = digest.period
    assert (period.start, period.end) == (
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
    )
    assert (digest.total.count, digest.total.previous) == (2, 1)
    assert len(digest.hours) == 7 * 24 - 1  # the chart's week holds the short day
    assert digest.hours[-1] == datetime(2026, 3, 29, 21, 0, tzinfo=UTC)


def test_a_day_when_clocks_go_back_has_25_hours(engine: Engine) -> None:
    autumn = date(2026, 10, 25)  # Europe/Berlin: 03:00 CEST → 02:00 CET
    add_card(engine, datetime(2026, 10, 24, 22, 0, tzinfo=UTC))  # 00:00 CEST: in
    add_card(engine, datetime(2026, 10, 25, 0, 30, tzinfo=UTC), text="b")  # first 02:30
    add_card(engine, datetime(2026, 10, 25, 1, 30, tzinfo=UTC), text="c")  # second 02:30
    add_card(engine, datetime(2026, 10, 25, 22, 59, tzinfo=UTC), text="d")  # 23:59 CET: in
    add_card(engine, datetime(2026, 10, 25, 23, 0, tzinfo=UTC), text="e")  # the 26th

    digest = digest_of(engine, autumn, "Europe/Berlin")

    assert digest.period.end - digest.period.start == timedelta(hours=25)
    assert digest.total.count == 4
    assert len(digest.hours) == 7 * 24 + 1
    # The two 02:00 hours are two bars, one mention each.
    first_two = digest.hours.index(datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    assert digest.hourly["negative"][first_two : first_two + 2] == (1, 1)


def test_the_chart_counts_each_hour_of_the_last_7_days_by_sentiment(engine: Engine) -> None:
    seed_week(engine)

    digest = digest_of(engine)

    assert digest.hours[0] == at(DAY - timedelta(days=6), 0)
    assert len(digest.hours) == 168
    assert sum(sum(values) for values in digest.hourly.values()) == 5 + 2 + 5  # 18th left out
    ten = digest.hours.index(at(DAY, 10))
    assert digest.hourly["negative"][ten] == 1
    assert digest.hourly["unknown"][digest.hours.index(at(DAY, 23))] == 1


def test_a_weekly_digest_compares_with_the_week_before(engine: Engine) -> None:
    seed_week(engine)
    monday = date(2026, 11, 16)

    period = digest_period(CHANNEL, DigestKind.WEEKLY, monday, "UTC")
    with session_scope(engine) as session:
        digest = compute_digest(period, session=session, now=NOW, sources={})

    # 16th–22nd holds the 18th–22nd Reddit mentions; the week before holds none.
    assert digest.total == Volume("total", 5, 0, None)
    assert period.end == at(date(2026, 11, 23), 0)
