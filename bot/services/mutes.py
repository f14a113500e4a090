"""Muted authors: a watch keeps storing their mentions and stops posting them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.services.cards import (
    SYSTEM_ACTOR,
    NotAllowed,
    card_watch_id,
    load_card_in,
    record_event,
)
from bot.store.models import Author, Card, CardState, EventKind, Mention, MutedAuthor


@dataclass(frozen=True)
class Muted:
    """An author muted on a watch."""

    author: Author
    watch_id: int


def find_mute(author_id: int, watch_id: int, *, session: Session) -> MutedAuthor | None:
    """The mute of this author on this watch, if there is one."""
    stmt = select(MutedAuthor).where(
        MutedAuthor.author_id == author_id, MutedAuthor.watch_id == watch_id
    )
    return session.exec(stmt).first()


def mute_author(
    card_id: int, user_id: str, *, channel_id: str, session: Session, now: datetime
) -> Muted:
    """Mute the card's author on the card's watch: later mentions are stored, not posted."""
    view = load_card_in(card_id, channel_id, session=session)
    author, watch_id = view.author, card_watch_id(view)
    if author is None or author.id is None:
        raise NotAllowed("overheard doesn't know who wrote this mention: there is no one to mute.")
    if watch_id is None:
        raise NotAllowed("The watch that found this mention was removed: there is nothing to mute.")
    already = NotAllowed("This author is already muted on this watch.")
    if find_mute(author.id, watch_id, session=session) is not None:
        raise already
    try:
        with session.begin_nested():  # someone else may mute them at the same moment
            session.add(
                MutedAuthor(author_id=author.id, watch_id=watch_id, muted_by=user_id, at=now)
            )
            session.flush()
    except IntegrityError:
        raise already from None
    record_event(
        card_id,
        EventKind.AUTHOR_MUTED,
        user_id,
        session=session,
        now=now,
        detail={"author_id": author.id, "watch_id": watch_id},
    )
    return Muted(author, watch_id)


def hold_if_muted(card: Card, *, session: Session, now: datetime) -> bool:
    """Dismiss a just-queued card whose author is muted on its watch; the event says why.

    The mention stays stored, so nothing is lost: the card is simply never posted.
    """
    mention = session.get(Mention, card.mention_id)
    assert mention is not None
    assert card.id is not None
    watch_id = card.watch_id if card.watch_id is not None else mention.watch_id
    if mention.author_id is None or watch_id is None:
        return False
    mute = find_mute(mention.author_id, watch_id, session=session)
    if mute is None:
        return False
    card.state = CardState.DISMISSED
    card.closed_by = SYSTEM_ACTOR
    card.closed_at = now
    session.add(card)
    session.flush()
    record_event(
        card.id,
        EventKind.MUTED,
        SYSTEM_ACTOR,
        session=session,
        now=now,
        detail={"author_id": mention.author_id, "watch_id": watch_id, "muted_by": mute.muted_by},
    )
    return True
