"""The period's numbers: counted in SQL, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from bot.services.stats import last_day
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Mention
from tests.factories import NOW, make_posted_card


def _set(engine: Engine, card_id: int, **values: object) -> None:
    with session_scope(engine) as session:
        card = session.get(Card, card_id)
        assert card is not None
        for name, value in values.items():
            setattr(card, name, value)
        session.add(card)


def test_the_last_day_counts_mentions_claims_and_what_waits(engine: Engine) -> None:
    ids = [make_posted_card(engine, external_id=str(41000001 + i)) for i in range(4)]
    _set(
        engine,
        ids[0],
        state=CardState.CLAIMED,
        claimed_by="UALICE",
        claimed_at=NOW + timedelta(minutes=10),
    )
    _set(
        engine,
        ids[1],
        state=CardState.RESOLVED,
        claimed_at=NOW + timedelta(minutes=30),
        closed_at=NOW + timedelta(hours=1),
    )
    with session_scope(engine) as session:  # an old mention falls outside the day
        old = session.get(Mention, 4)
        assert old is not None
        old.fetched_at = NOW - timedelta(days=2)
        session.add(old)

    with session_scope(engine) as session:
        numbers = last_day(session=session, now=NOW + timedelta(hours=2))

    assert numbers.mentions == 3
    assert sum(numbers.by_sentiment.values()) == 3
    assert numbers.by_network == {"hackernews": 3}
    assert (numbers.claimed, numbers.resolved, numbers.dismissed) == (2, 1, 0)
    assert numbers.median_claim_s == 20 * 60  # 10 and 30 minutes after posting
    assert (numbers.unclaimed_now, numbers.open_now) == (2, 3)


def test_an_empty_database_has_no_median(engine: Engine) -> None:
    with session_scope(engine) as session:
        numbers = last_day(session=session, now=NOW)
    assert numbers.mentions == 0 and numbers.median_claim_s is None and numbers.open_now == 0
