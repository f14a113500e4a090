"""The numbers a team looks at: mentions and how cards were handled over a period."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.store.models import Card, CardState, Mention

OPEN_STATES = (CardState.POSTED, CardState.CLAIMED, CardState.SNOOZED)


@dataclass(frozen=True)
class Numbers:
    """What happened from `since` to `until`, and what is open at `until`."""

    since: datetime
    until: datetime
    mentions: int
    by_sentiment: dict[str, int] = field(default_factory=dict)  # label → count; "unknown" too
    by_network: dict[str, int] = field(default_factory=dict)
    claimed: int = 0  # cards claimed in the period
    resolved: int = 0  # cards resolved in the period
    dismissed: int = 0
    unclaimed_now: int = 0  # posted and waiting for someone
    open_now: int = 0  # posted, claimed or snoozed
    median_claim_s: float | None = None  # from posting to claim, cards claimed in the period


def numbers_between(since: datetime, until: datetime, *, session: Session) -> Numbers:
    """Count the period's mentions and card changes with SQL aggregates."""
    in_period = (col(Mention.fetched_at) >= since) & (col(Mention.fetched_at) < until)
    by_sentiment = {
        (label or "unknown"): count
        for label, count in session.exec(
            select(Mention.sentiment_label, func.count())
            .where(in_period)
            .group_by(col(Mention.sentiment_label))
        )
    }
    by_network = dict(
        session.exec(
            select(Mention.network, func.count()).where(in_period).group_by(col(Mention.network))
        ).all()
    )

    def closed(state: CardState) -> int:
        return session.exec(
            select(func.count())
            .select_from(Card)
            .where(
                col(Card.state) == state,
                col(Card.closed_at) >= since,
                col(Card.closed_at) < until,
            )
        ).one()

    claims = session.exec(
        select(Card.posted_at, Card.claimed_at).where(
            col(Card.claimed_at) >= since,
            col(Card.claimed_at) < until,
            col(Card.posted_at).is_not(None),
        )
    ).all()
    waits = [(c - p).total_seconds() for p, c in claims if p is not None and c is not None]
    states = dict(
        session.exec(
            select(Card.state, func.count())
            .where(col(Card.state).in_([s.value for s in OPEN_STATES]))
            .group_by(col(Card.state))
        ).all()
    )
    return Numbers(
        since=since,
        until=until,
        mentions=sum(by_sentiment.values()),
        by_sentiment=by_sentiment,
        by_network=by_network,
        claimed=len(claims),
        resolved=closed(CardState.RESOLVED),
        dismissed=closed(CardState.DISMISSED),
        unclaimed_now=states.get(CardState.POSTED, 0),
        open_now=sum(states.values()),
        median_claim_s=statistics.median(waits) if waits else None,
    )


def last_day(*, session: Session, now: datetime) -> Numbers:
    """The last 24 hours' numbers."""
    return numbers_between(now - timedelta(days=1), now, session=session)
