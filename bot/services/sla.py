"""Response targets per priority, and who is told when a card waits too long.

An unclaimed card's wait starts when it is posted, or when it last came back to the queue
(woken from a snooze, or reopened): each wait is a fresh one, with its own reminder and
escalation. Past its target a card gets one reminder in its thread; past twice its target
the escalation contact is told, once. A mark (`Card.reminded_at`, `Card.escalated_at`)
older than the wait's start belongs to an earlier wait.

Each message is claimed before it is sent, with a conditional UPDATE that only one worker
can win; a message Slack refuses gives its claim back, so the next tick tries again. A
worker that dies between the claim and the send loses that one message (never sends it
twice): at most once, because a repeated ping is worse than a missed one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, func, or_, update
from sqlmodel import Session, col, select

from bot.services.cards import SYSTEM_ACTOR, load_card, record_event
from bot.services.chat import CardView, ChatBackend, ChatError, ChatRateLimited, Overdue
from bot.services.notices import NOTICE_KINDS
from bot.services.settings_store import read_setting, write_setting
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Event, EventKind, Mention

log = logging.getLogger(__name__)

SLA_KEY = "sla"
DEFAULT_TARGETS: dict[int, timedelta] = {
    1: timedelta(minutes=15),
    2: timedelta(hours=1),
    3: timedelta(hours=4),
    4: timedelta(days=1),
}
PRIORITIES = tuple(DEFAULT_TARGETS)
# A user group (S…) or a channel (C…, G…), as Slack spells their ids.
_CONTACT = re.compile(r"^[SCG][A-Z0-9]{2,31}$")


class SlaError(ValueError):
    """A target or contact that cannot be stored; the message says what to type instead."""


@dataclass(frozen=True)
class SlaPolicy:
    """How long each priority may wait unclaimed, and whom to escalate to (None: nobody)."""

    targets: dict[int, timedelta] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    escalate_to: str | None = None

    def target(self, priority: int | None) -> timedelta:
        """The target for a priority; a mention without one is held to the lowest."""
        return self.targets.get(priority or PRIORITIES[-1], self.targets[PRIORITIES[-1]])


def load_policy(*, session: Session) -> SlaPolicy:
    """The stored policy, the defaults filling whatever was never set."""
    stored = read_setting(SLA_KEY, session=session) or {}
    targets = dict(DEFAULT_TARGETS)
    for key, seconds in (stored.get("targets") or {}).items():
        if int(key) in targets:
            targets[int(key)] = timedelta(seconds=int(seconds))
    return SlaPolicy(targets=targets, escalate_to=stored.get("escalate_to"))


def _store(policy: SlaPolicy, *, by: str, session: Session, now: datetime) -> None:
    value = {
        "targets": {str(p): int(t.total_seconds()) for p, t in policy.targets.items()},
        "escalate_to": policy.escalate_to,
    }
    write_setting(SLA_KEY, value, by=by, session=session, now=now)


def set_target(
    priority: int, target: timedelta, *, by: str, session: Session, now: datetime
) -> SlaPolicy:
    """Change one priority's target; return the whole policy."""
    if priority not in PRIORITIES:
        raise SlaError(f"Priorities are P1 to P4, not P{priority}.")
    if not timedelta(minutes=1) <= target <= timedelta(days=30):
        raise SlaError("A response target must be between 1 minute and 30 days.")
    policy = load_policy(session=session)
    policy = SlaPolicy({**policy.targets, priority: target}, policy.escalate_to)
    _store(policy, by=by, session=session, now=now)
    return policy


def set_escalation(contact: str | None, *, by: str, session: Session, now: datetime) -> SlaPolicy:
    """Escalate to a user group (S…) or channel (C…/G…) id, or to nobody (None)."""
    if contact is not None and not _CONTACT.match(contact):
        raise SlaError(
            "Escalate to a user group (`<!subteam^S…>`) or a channel (`<#C…>`), or `none`."
        )
    policy = load_policy(session=session)
    policy = SlaPolicy(policy.targets, contact)
    _store(policy, by=by, session=session, now=now)
    return policy


# Messages one pass sends at most; the rest wait for the next tick.
SLA_BATCH = 50
# A wait that passed twice its target longer ago than this is history, not news: the first
# run after an upgrade, or a worker back from a long outage, doesn't flood channels with it.
STALE_AFTER = timedelta(days=1)
# Events that put a card back in the queue, unclaimed: a fresh wait starts.
_RESTARTS = (EventKind.WOKE, EventKind.REOPENED)


@dataclass(frozen=True, slots=True)
class Waiting:
    """An unclaimed posted card, when its current wait started and what it has been sent."""

    card_id: int
    channel_id: str
    version: int
    priority: int
    since: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None

    def reminded(self) -> bool:
        """Whether this wait's reminder went out (a mark from an earlier wait doesn't count)."""
        return self.reminded_at is not None and self.reminded_at >= self.since

    def escalated(self) -> bool:
        """Whether this wait's escalation went out."""
        return self.escalated_at is not None and self.escalated_at >= self.since


@dataclass
class SlaReport:
    """What one pass sent, and which cards Slack refused (tried again on the next tick)."""

    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Refusals a person must act on (the bot not in the escalation channel…): (code, channel).
    problems: list[tuple[str, str]] = field(default_factory=list)


def waiting_cards(*, session: Session, since_before: datetime) -> list[Waiting]:
    """Posted, unclaimed cards whose wait started before `since_before`, longest first."""
    restarted = (
        select(func.max(Event.at))
        .where(col(Event.card_id) == col(Card.id))
        .where(col(Event.kind).in_([kind.value for kind in _RESTARTS]))
        .correlate(Card)
        .scalar_subquery()
    )
    stmt = (
        select(Card, Mention.priority, restarted)
        .join(Mention, col(Mention.id) == col(Card.mention_id))
        .where(Card.state == CardState.POSTED)
        .where(col(Card.message_ts).is_not(None))
        .where(col(Card.posted_at) <= since_before)  # a wait never starts before the post
    )
    found: list[Waiting] = []
    for card, priority, back_at in session.exec(stmt):
        assert card.id is not None
        assert card.posted_at is not None
        since = max(card.posted_at, back_at) if back_at is not None else card.posted_at
        if since <= since_before:
            found.append(
                Waiting(
                    card.id,
                    card.channel_id,
                    card.version,
                    priority or PRIORITIES[-1],
                    since,
                    card.reminded_at,
                    card.escalated_at,
                )
            )
    found.sort(key=lambda w: (w.since, w.card_id))
    return found


def remind_overdue(chat: ChatBackend, *, engine: Engine, now: datetime) -> SlaReport:
    """Remind the threads of cards past their target; escalate those past twice their target.

    Safe with several workers: each reminder and escalation is sent by one of them, once.
    """
    report = SlaReport()
    with session_scope(engine) as session:
        policy = load_policy(session=session)
        shortest = min(policy.targets.values())
        waiting = waiting_cards(session=session, since_before=now - shortest)
    sent = 0
    for card in waiting:
        if sent >= SLA_BATCH:
            break
        target = policy.target(card.priority)
        waited = now - card.since
        if waited < target or waited > 2 * target + STALE_AFTER:
            continue
        overdue = Overdue(card.priority, waited, target)
        where = card.channel_id
        try:
            if not card.reminded():
                if not _remind(chat, card, overdue, policy.escalate_to, engine=engine, now=now):
                    continue  # the card changed since it was read: the next tick looks again
                report.reminded.append(card.card_id)
                sent += 1
            contact = policy.escalate_to
            if contact is not None and contact[0] in "CG":
                where = contact
            if (
                contact is not None
                and waited >= 2 * target
                and not card.escalated()
                and _escalate(chat, card, overdue, contact, engine=engine, now=now)
            ):
                report.escalated.append(card.card_id)
                sent += 1
        except ChatRateLimited as exc:
            log.warning("SLA messages held back by Slack for %.0f s", exc.retry_after_s)
            report.failed.append(card.card_id)
            break
        except ChatError as exc:
            log.warning("SLA message for card %d not sent: %s", card.card_id, exc.code)
            report.failed.append(card.card_id)
            if exc.code in NOTICE_KINDS:
                report.problems.append((exc.code, where))
    return report


def _remind(
    chat: ChatBackend,
    card: Waiting,
    overdue: Overdue,
    contact: str | None,
    *,
    engine: Engine,
    now: datetime,
) -> bool:
    """Claim this wait's reminder, send it and log it; a refused send gives the claim back."""
    return _send_once(
        card,
        "reminded_at",
        (or_(col(Card.reminded_at).is_(None), col(Card.reminded_at) < card.since),),
        lambda view: chat.post_reminder(view, overdue, escalates=contact is not None),
        EventKind.REMINDED,
        _detail(overdue),
        engine=engine,
        now=now,
    )


def _escalate(
    chat: ChatBackend,
    card: Waiting,
    overdue: Overdue,
    contact: str,
    *,
    engine: Engine,
    now: datetime,
) -> bool:
    """Claim this wait's escalation (still unclaimed, reminded), send it and log it."""
    return _send_once(
        card,
        "escalated_at",
        (
            col(Card.reminded_at) >= card.since,
            or_(col(Card.escalated_at).is_(None), col(Card.escalated_at) < card.since),
        ),
        lambda view: chat.post_escalation(view, overdue, to=contact),
        EventKind.ESCALATED,
        {**_detail(overdue), "to": contact},
        engine=engine,
        now=now,
    )


def _send_once(
    card: Waiting,
    mark: Literal["reminded_at", "escalated_at"],
    still_due: tuple[Any, ...],
    send: Callable[[CardView], None],
    kind: EventKind,
    detail: dict[str, Any],
    *,
    engine: Engine,
    now: datetime,
) -> bool:
    """Claim `mark` on a posted card of the version read (False: someone else has, or it
    changed), send, and record the event; a refused send gives the claim back."""
    with session_scope(engine) as session:
        claimed = session.execute(
            update(Card)
            .where(col(Card.id) == card.card_id)
            .where(col(Card.state) == CardState.POSTED)
            .where(col(Card.version) == card.version)
            .where(*still_due)
            .values({mark: now})
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        view = load_card(card.card_id, session=session)
    try:
        send(view)
    except ChatError:
        previous = card.reminded_at if mark == "reminded_at" else card.escalated_at
        _release(card.card_id, mark, previous, now, engine=engine)
        raise
    with session_scope(engine) as session:
        record_event(card.card_id, kind, SYSTEM_ACTOR, session=session, now=now, detail=detail)
    return True


def _release(
    card_id: int,
    mark: Literal["reminded_at", "escalated_at"],
    previous: datetime | None,
    claimed_at: datetime,
    *,
    engine: Engine,
) -> None:
    """Give a claimed message back, so the next tick sends it."""
    column = col(Card.reminded_at) if mark == "reminded_at" else col(Card.escalated_at)
    with session_scope(engine) as session:
        session.execute(
            update(Card)
            .where(col(Card.id) == card_id)
            .where(column == claimed_at)
            .values({mark: previous})
        )


def _detail(overdue: Overdue) -> dict[str, int]:
    return {
        "priority": overdue.priority,
        "waited_s": int(overdue.waited.total_seconds()),
        "target_s": int(overdue.target.total_seconds()),
    }
