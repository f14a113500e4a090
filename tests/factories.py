"""Plain factories for test data: `make_fetched(**overrides)` and friends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from bot.services.pipeline import ingest_mentions
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Watch

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
CHANNEL = "C0SUPPORT"


def make_fetched(**overrides: Any) -> FetchedMention:
    """A fetched Hacker News comment; override any field."""
    values: dict[str, Any] = {
        "network": "hackernews",
        "external_id": "41000001",
        "url": "https://news.ycombinator.com/item?id=41000001",
        "text": "Acme charged me twice this month and I want a refund.",
        "created_at": NOW,
        "author": FetchedAuthor(
            handle="kestrel", url="https://news.ycombinator.com/user?id=kestrel"
        ),
    }
    values.update(overrides)
    return FetchedMention(**values)


def make_watch(engine: Engine, **overrides: Any) -> Watch:
    """Store a watch on Hacker News posting to CHANNEL."""
    values: dict[str, Any] = {
        "query": "acme",
        "sources": ["hackernews"],
        "channel_id": CHANNEL,
        "created_at": NOW,
    }
    values.update(overrides)
    with session_scope(engine) as session:
        watch = Watch(**values)
        session.add(watch)
    return watch


def make_posted_card(engine: Engine, *, external_id: str = "41000001", **fetched: Any) -> int:
    """Store a mention whose card is posted (ts 1.0001) and return the card id."""
    watch = make_watch(engine)
    with session_scope(engine) as session:
        (card,) = ingest_mentions(
            [make_fetched(external_id=external_id, **fetched)],
            watch=watch,
            authors={},
            session=session,
            now=NOW,
        )
        card.state = CardState.POSTED
        card.message_ts = card.thread_ts = "1.0001"
        card.posted_at = NOW
        session.add(card)
    assert card.id is not None
    return card.id


def get_card(engine: Engine, card_id: int) -> Card:
    """Read a card back."""
    with session_scope(engine) as session:
        row = session.get(Card, card_id)
        assert row is not None
        return row
