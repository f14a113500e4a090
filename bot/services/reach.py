"""An author's reach as /score shows it: the score, its history, their recent mentions."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from bot.services.cards import SYSTEM_ACTOR
from bot.store.models import Author, AuthorScore, Card, CardState, Mention

HISTORY_SHOWN = 10
RECENT_MENTIONS_SHOWN = 5
# Reach from which a mention's priority rises one step (scoring/priority.py).
RAISES_PRIORITY_FROM = 90
_LABELS = ((RAISES_PRIORITY_FROM, "very high"), (70, "high"), (40, "medium"), (1, "low"))


class Handled(enum.StrEnum):
    """Where a mention's card stands, as /score tells it."""

    NO_CARD = "no card"
    QUEUED = "queued"
    OPEN = "open"
    CLAIMED = "claimed"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"
    MUTED = "muted"  # dismissed by overheard: the author is muted on the watch


@dataclass(frozen=True, slots=True)
class MentionHandling:
    """One of the author's mentions and how its card was handled."""

    mention: Mention
    handled: Handled
    by: str | None = None  # the Slack user who claimed, resolved or dismissed it
    # open: how long it has waited; resolved: how long after posting it was resolved.
    span: timedelta | None = None
    until: datetime | None = None  # snoozed until


@dataclass(frozen=True, slots=True)
class AuthorReport:
    """Everything /score shows about one stored author."""

    author: Author
    history: list[AuthorScore]  # newest first, at most HISTORY_SHOWN
    earlier_scores: int  # scores older than those in `history`
    mentions: list[MentionHandling]  # newest first, at most RECENT_MENTIONS_SHOWN


def reach_label(score: int | None) -> str:
    """A word for a 1–100 reach: low, medium, high or very high; "not scored" for none."""
    if score is None:
        return "not scored"
    return next(label for floor, label in _LABELS if score >= floor)


def find_stored_authors(handle: str, network: str | None, *, session: Session) -> list[Author]:
    """Stored authors with the handle, in any case, on `network` or any, best score first.

    A bare handle also finds handles that add `@server` to it (Mastodon's `user@domain`).
    """
    handle = handle.lower()
    escaped = handle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    same = func.lower(Author.handle) == handle
    stmt = select(Author)
    if "@" in handle:
        stmt = stmt.where(same)
    else:
        stmt = stmt.where(or_(same, func.lower(Author.handle).like(f"{escaped}@%", escape="\\")))
    if network is not None:
        stmt = stmt.where(Author.network == network)
    stmt = stmt.order_by(col(Author.score).desc().nulls_last(), col(Author.id))
    return list(session.exec(stmt))


def report_author(author_id: int, *, session: Session, now: datetime) -> AuthorReport | None:
    """The author's card for /score, or None when no such author is stored."""
    author = session.get(Author, author_id)
    if author is None:
        return None
    history = list(
        session.exec(
            select(AuthorScore)
            .where(AuthorScore.author_id == author_id)
            .order_by(col(AuthorScore.id).desc())
            .limit(HISTORY_SHOWN)
        )
    )
    total = session.exec(
        select(func.count()).select_from(AuthorScore).where(AuthorScore.author_id == author_id)
    ).one()
    mentions = list(
        session.exec(
            select(Mention)
            .where(Mention.author_id == author_id)
            .order_by(col(Mention.created_at).desc(), col(Mention.id).desc())
            .limit(RECENT_MENTIONS_SHOWN)
        )
    )
    cards: dict[int, Card] = {}
    if mentions:
        stmt = (
            select(Card)
            .where(col(Card.mention_id).in_([m.id for m in mentions]))
            .order_by(col(Card.id))
        )
        for card in session.exec(stmt):
            cards.setdefault(card.mention_id, card)  # the first channel's card
    handled = [handling(m, cards.get(m.id or 0), now=now) for m in mentions]
    return AuthorReport(author, history, max(0, total - len(history)), handled)


def handling(mention: Mention, card: Card | None, *, now: datetime) -> MentionHandling:
    """How the mention's card was handled: by whom, and how long it took or has waited."""
    if card is None:
        return MentionHandling(mention, Handled.NO_CARD)
    state = CardState(card.state)
    posted = _utc(card.posted_at or card.queued_at)
    if state is CardState.QUEUED:
        return MentionHandling(mention, Handled.QUEUED)
    if state is CardState.POSTED:
        return MentionHandling(mention, Handled.OPEN, span=_utc(now) - posted)
    if state is CardState.CLAIMED:
        return MentionHandling(mention, Handled.CLAIMED, by=card.claimed_by)
    if state is CardState.SNOOZED:
        return MentionHandling(mention, Handled.SNOOZED, until=card.snoozed_until)
    if state is CardState.RESOLVED:
        span = _utc(card.closed_at) - posted if card.closed_at else None
        return MentionHandling(mention, Handled.RESOLVED, by=card.closed_by, span=span)
    if card.closed_by == SYSTEM_ACTOR:
        return MentionHandling(mention, Handled.MUTED)
    return MentionHandling(mention, Handled.DISMISSED, by=card.closed_by)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
