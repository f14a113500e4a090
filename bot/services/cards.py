"""Card state changes (claim, resolve, dismiss, reopen, snooze, wake): UPDATE-if plus an Event."""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, update
from sqlmodel import Session, col, select

from bot.services.chat import CardView, ChatBackend, ChatError
from bot.services.threads import thread_activity
from bot.store.db import session_scope
from bot.store.models import Author, Card, CardState, Event, EventKind, Mention
from bot.text import clean_text

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "overheard"
ERROR_MAX_CHARS = 1000
# A closing note is read on the card, in a line of small print: a few sentences at most.
NOTE_MAX_CHARS = 1000
# Snoozed cards the worker wakes in one pass; the rest wait for the next tick.
WAKE_BATCH = 100


class CardAction(enum.StrEnum):
    """What a person can do to a card; each writes the event of the same name."""

    CLAIM = "claim"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    REOPEN = "reopen"

    @property
    def event(self) -> EventKind:
        """The audit event this action writes."""
        return _ACTION_EVENTS[self]


_ACTION_EVENTS = {
    CardAction.CLAIM: EventKind.CLAIMED,
    CardAction.RESOLVE: EventKind.RESOLVED,
    CardAction.DISMISS: EventKind.DISMISSED,
    CardAction.REOPEN: EventKind.REOPENED,
}
OPEN_STATES = (CardState.POSTED, CardState.CLAIMED)
CLOSED_STATES = (CardState.RESOLVED, CardState.DISMISSED)
# What Reopen brings back to the queue: a closed card, or a snoozed one before its time.
REOPENABLE_STATES = (*CLOSED_STATES, CardState.SNOOZED)


class SnoozePeriod(enum.StrEnum):
    """How long a card can be snoozed for."""

    HOUR = "1h"
    FOUR_HOURS = "4h"
    DAY = "1d"

    @property
    def length(self) -> timedelta:
        """The time the card stays out of the queue."""
        return _SNOOZE_LENGTHS[self]


_SNOOZE_LENGTHS = {
    SnoozePeriod.HOUR: timedelta(hours=1),
    SnoozePeriod.FOUR_HOURS: timedelta(hours=4),
    SnoozePeriod.DAY: timedelta(days=1),
}


class CardError(Exception):
    """A state change that can't happen; the message is fit to show the user."""


class CardNotFound(CardError):
    """No card with that id."""


class AlreadyClaimed(CardError):
    """Someone else holds the card."""

    def __init__(self, *, by: str) -> None:
        super().__init__(f"already claimed by {by}")
        self.by = by


class NotAllowed(CardError):
    """The card is not in a state that allows this change."""


def load_card(card_id: int, *, session: Session) -> CardView:
    """Read a card's card, mention and author."""
    card = session.get(Card, card_id)
    if card is None:
        raise CardNotFound(f"no card {card_id}")
    mention = session.get(Mention, card.mention_id)
    assert mention is not None  # the foreign key guarantees it
    author = session.get(Author, mention.author_id) if mention.author_id is not None else None
    return CardView(card, mention, author, thread_activity(card, mention, session=session))


def load_card_in(card_id: int, channel_id: str, *, session: Session) -> CardView:
    """Read a card for someone acting from `channel_id`; a card of another channel is refused.

    Anyone in a card's channel may act on it: the buttons and every choice of its menu.
    """
    view = load_card(card_id, session=session)
    if view.card.channel_id != channel_id:
        raise NotAllowed("That card belongs to another channel.")
    return view


def card_watch_id(view: CardView) -> int | None:
    """The watch a card was posted for (its mention's, for cards older than the card's own)."""
    return view.card.watch_id if view.card.watch_id is not None else view.mention.watch_id


def record_event(
    card_id: int,
    kind: EventKind,
    actor: str,
    *,
    session: Session,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit log."""
    session.add(Event(card_id=card_id, kind=kind, actor=actor, at=now, detail=detail or {}))


def _transition(
    card_id: int,
    *,
    allowed_from: tuple[CardState, ...],
    values: dict[str, Any],
    kind: EventKind,
    actor: str,
    session: Session,
    now: datetime,
    where: Sequence[ColumnElement[bool]] = (),
    detail: dict[str, Any] | None = None,
) -> bool:
    """Move the card if it is in one of `allowed_from`; return whether this call moved it."""
    result = session.execute(
        update(Card)
        .where(col(Card.id) == card_id)
        .where(col(Card.state).in_([s.value for s in allowed_from]))
        .where(*where)
        .values(**values, version=col(Card.version) + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    record_event(card_id, kind, actor, session=session, now=now, detail=detail)
    return True


def _reload(card_id: int, *, session: Session) -> CardView:
    session.expire_all()
    return load_card(card_id, session=session)


def claim_card(card_id: int, user_id: str, *, session: Session, now: datetime) -> CardView:
    """Give the card to `user_id`; exactly one of several simultaneous claims wins."""
    moved = _transition(
        card_id,
        allowed_from=(CardState.POSTED,),
        values={"state": CardState.CLAIMED, "claimed_by": user_id, "claimed_at": now},
        kind=EventKind.CLAIMED,
        actor=user_id,
        session=session,
        now=now,
    )
    view = _reload(card_id, session=session)
    if moved:
        return view
    current = view.card
    if current.state == CardState.CLAIMED and current.claimed_by is not None:
        if current.claimed_by == user_id:
            raise NotAllowed("You have already claimed this mention.")
        raise AlreadyClaimed(by=current.claimed_by)
    raise NotAllowed(f"This mention is {current.state}; it can't be claimed now.")


def close_card(
    card_id: int,
    user_id: str,
    state: CardState,
    *,
    session: Session,
    now: datetime,
    note: str | None = None,
) -> CardView:
    """Resolve or dismiss an open card, with a closing note the card shows if there is one."""
    if state not in CLOSED_STATES:
        raise ValueError(f"{state} is not a closing state")
    moved = _transition(
        card_id,
        allowed_from=OPEN_STATES,
        values={"state": state, "closed_by": user_id, "closed_at": now, "closing_note": note},
        kind=EventKind(state.value),
        actor=user_id,
        session=session,
        now=now,
        detail={"note": note} if note else None,
    )
    view = _reload(card_id, session=session)
    if not moved:
        raise NotAllowed(f"This mention is already {view.card.state}.")
    return view


def reopen_card(card_id: int, user_id: str, *, session: Session, now: datetime) -> CardView:
    """Put a resolved, dismissed or snoozed card back in the queue, unclaimed."""
    moved = _transition(
        card_id,
        allowed_from=REOPENABLE_STATES,
        values={
            "state": CardState.POSTED,
            "claimed_by": None,
            "claimed_at": None,
            "closed_by": None,
            "closed_at": None,
            "closing_note": None,
            "snoozed_until": None,
        },
        kind=EventKind.REOPENED,
        actor=user_id,
        session=session,
        now=now,
    )
    view = _reload(card_id, session=session)
    if not moved:
        raise NotAllowed(f"This mention is {view.card.state}; only closed or snoozed ones reopen.")
    return view


def clean_note(raw: str) -> str:
    """A closing note as stored: no control characters, trimmed; refused when empty or long."""
    note = clean_text(raw).strip()
    if not note:
        raise NotAllowed("The note is empty: write what was done, or use the Resolve button.")
    if len(note) > NOTE_MAX_CHARS:
        raise NotAllowed(f"The note is longer than {NOTE_MAX_CHARS} characters.")
    return note


def resolve_with_note(
    card_id: int, user_id: str, note: str, *, session: Session, now: datetime
) -> CardView:
    """Resolve an open card, saying on it what was done."""
    return close_card(
        card_id, user_id, CardState.RESOLVED, session=session, now=now, note=clean_note(note)
    )


def snooze_card(
    card_id: int, user_id: str, period: SnoozePeriod, *, session: Session, now: datetime
) -> CardView:
    """Take an open card out of the queue until `now + period`; it then comes back unclaimed."""
    until = now + period.length
    moved = _transition(
        card_id,
        allowed_from=OPEN_STATES,
        values={"state": CardState.SNOOZED, "snoozed_until": until},
        kind=EventKind.SNOOZED,
        actor=user_id,
        session=session,
        now=now,
        detail={"until": until.isoformat()},
    )
    view = _reload(card_id, session=session)
    if not moved:
        raise NotAllowed(f"This mention is {view.card.state}; only open ones can be snoozed.")
    return view


def wake_card(card_id: int, *, session: Session, now: datetime) -> CardView | None:
    """Bring a snoozed card whose time has come back to the queue, unclaimed.

    None when there was nothing to do: not snoozed any more, not due yet, or another worker
    woke it first (the conditional UPDATE lets exactly one of them through).
    """
    moved = _transition(
        card_id,
        allowed_from=(CardState.SNOOZED,),
        where=(col(Card.snoozed_until) <= now,),
        values={
            "state": CardState.POSTED,
            "snoozed_until": None,
            "claimed_by": None,
            "claimed_at": None,
        },
        kind=EventKind.WOKE,
        actor=SYSTEM_ACTOR,
        session=session,
        now=now,
    )
    return _reload(card_id, session=session) if moved else None


def due_snoozed_cards(*, session: Session, now: datetime, limit: int = WAKE_BATCH) -> list[int]:
    """Snoozed cards whose time has come, the longest due first."""
    stmt = (
        select(Card.id)
        .where(Card.state == CardState.SNOOZED)
        .where(col(Card.snoozed_until) <= now)
        .order_by(col(Card.snoozed_until), col(Card.id))
        .limit(limit)
    )
    return [cid for cid in session.exec(stmt) if cid is not None]


def wake_due_cards(chat: ChatBackend, *, engine: Engine, now: datetime) -> list[int]:
    """Wake every snoozed card that is due: back in the queue, updated, announced in its thread.

    Safe with several workers: each card is woken, shown and announced by one of them only.
    """
    with session_scope(engine) as session:
        due = due_snoozed_cards(session=session, now=now)
    woken: list[int] = []
    for card_id in due:
        with session_scope(engine) as session:
            view = wake_card(card_id, session=session, now=now)
        if view is None:
            continue
        show_change(chat, view, EventKind.WOKE, SYSTEM_ACTOR, engine=engine)
        woken.append(card_id)
    return woken


def count_open_cards(*, session: Session) -> int:
    """How many posted cards nobody has claimed yet."""
    stmt = select(func.count()).select_from(Card).where(Card.state == CardState.POSTED)
    return int(session.exec(stmt).one())


def events_for(card_id: int, *, session: Session) -> list[Event]:
    """The card's audit log, oldest first."""
    stmt = select(Event).where(Event.card_id == card_id).order_by(col(Event.id))
    return list(session.exec(stmt))


def apply_card_action(
    card_id: int,
    action: CardAction,
    user_id: str,
    *,
    channel_id: str,
    session: Session,
    now: datetime,
) -> CardView:
    """Apply a button press to a card, checking the press came from the card's own channel."""
    load_card_in(card_id, channel_id, session=session)
    if action is CardAction.CLAIM:
        return claim_card(card_id, user_id, session=session, now=now)
    if action is CardAction.REOPEN:
        return reopen_card(card_id, user_id, session=session, now=now)
    closing = CardState.RESOLVED if action is CardAction.RESOLVE else CardState.DISMISSED
    return close_card(card_id, user_id, closing, session=session, now=now)


def sync_card(
    chat: ChatBackend, view: CardView, *, engine: Engine, raise_errors: bool = False
) -> bool:
    """Show Slack the card as `view` has it; a failed update stays due for the poster to re-send.

    Returns whether Slack took it (`raise_errors` raises the ChatError instead). Every card
    update goes through here: buttons, the console and the poster's repair pass alike.
    """
    card = view.card
    assert card.id is not None
    try:
        chat.update_card(view)
    except ChatError as exc:
        log.warning(
            "card %d was not updated in Slack (%s); it will be re-sent",
            card.id,
            exc.code,
            extra={"card_id": card.id, "channel_id": card.channel_id},
        )
        with session_scope(engine) as session:
            session.execute(
                update(Card)
                .where(col(Card.id) == card.id)
                .values(last_post_error=exc.code[:ERROR_MAX_CHARS])
            )
        if raise_errors:
            raise
        return False
    with session_scope(engine) as session:
        # A newer version sent meanwhile (a click, a reply in the thread) may have reached
        # Slack before this one: then Slack may show this older one, so it stays due.
        session.execute(
            update(Card)
            .where(col(Card.id) == card.id)
            .where(col(Card.synced_version) != card.version)
            .values(synced_version=card.version, last_post_error=None)
        )
    return True


def act_on_card(
    chat: ChatBackend,
    card_id: int,
    action: CardAction,
    user_id: str,
    *,
    channel_id: str,
    engine: Engine,
    now: datetime,
) -> CardView:
    """Apply a person's action, update the card in Slack and note the change in its thread."""
    with session_scope(engine) as session:
        view = apply_card_action(
            card_id, action, user_id, channel_id=channel_id, session=session, now=now
        )
    show_change(chat, view, action.event, user_id, engine=engine)
    return view


def show_change(
    chat: ChatBackend, view: CardView, kind: EventKind, actor: str, *, engine: Engine
) -> None:
    """Update a changed card in Slack and say in its thread who changed it and how."""
    sync_card(chat, view, engine=engine)
    try:
        chat.post_note(view, kind, actor)
    except ChatError as exc:  # the card is what counts, and the poster re-sends it
        log.warning("no thread note for card %s: %s", view.card.id, exc.code)


def stale_cards(*, session: Session, limit: int) -> list[int]:
    """Posted cards whose last change Slack has not been shown yet, oldest change first."""
    stmt = (
        select(Card.id)
        .where(col(Card.message_ts).is_not(None))
        .where(col(Card.synced_version) < col(Card.version))
        .order_by(col(Card.id))
        .limit(limit)
    )
    return [cid for cid in session.exec(stmt) if cid is not None]
