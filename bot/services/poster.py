"""Draining the outbox: queued cards are posted to their channel, paced, and retried on errors."""

from __future__ import annotations

import enum
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, select

from bot.services.cards import (
    SYSTEM_ACTOR,
    load_card,
    record_event,
    stale_cards,
    sync_card,
)
from bot.services.chat import CardView, ChatError, ChatRateLimited
from bot.services.deps import Deps
from bot.services.notices import NOTICE_KINDS, clear_channel_notices, report_problem
from bot.services.threads import note_reply, place_card
from bot.store.db import session_scope
from bot.store.models import Card, CardState, EventKind, Mention

log = logging.getLogger(__name__)

MAX_POST_ATTEMPTS = 5
# How long a poster holds a card it is posting; a crashed poster's cards free up after it
# (and are first looked for in Slack). Longer than one paced post; a Retry-After wait
# extends it.
POST_LEASE = timedelta(seconds=30)
# A 429 asking for longer than this ends the pass for that channel; the card stays queued.
MAX_INLINE_WAIT_S = 30.0
ERROR_MAX_CHARS = 1000


class _Outcome(enum.Enum):
    POSTED = "posted"
    WAITING = "waiting"  # for its top card to be posted
    NOT_OURS = "not ours"  # another poster has it, or it is posted or given up


@dataclass
class PostReport:
    """What one pass of the poster did."""

    posted: list[int] = field(default_factory=list)
    # Cards whose update Slack missed, or whose thread grew, re-sent.
    updated: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # replies whose top card isn't posted yet
    failed: dict[int, str] = field(default_factory=dict)
    deferred_channels: set[str] = field(default_factory=set)


class Poster:
    """Posts queued cards, at most one per `interval_s` per channel, honouring Retry-After."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._last_post: dict[str, float] = {}
        self._blocked_until: dict[str, datetime] = {}  # channel → end of Slack's Retry-After

    def _pace(self, channel: str) -> None:
        interval = self.deps.settings.post_interval_s if self.deps.pace_posts else 0.0
        last = self._last_post.get(channel)
        if last is not None and interval > 0:
            wait = interval - (time.monotonic() - last)
            if wait > 0:
                self.deps.sleep(wait)
        self._last_post[channel] = time.monotonic()

    def pending(self, limit: int) -> list[tuple[int, str]]:
        """(id, channel) of queued cards with attempts left, most urgent, then oldest, first."""
        with session_scope(self.deps.engine) as session:
            stmt = (
                select(Card.id, Card.channel_id)
                .join(Mention, col(Mention.id) == Card.mention_id)
                .where(Card.state == CardState.QUEUED)
                .where(Card.post_attempts < MAX_POST_ATTEMPTS)
                .order_by(col(Mention.priority).asc().nulls_last(), col(Mention.created_at))
                .limit(limit)
            )
            return [(cid, channel) for cid, channel in session.exec(stmt) if cid is not None]

    def post_pending(self, limit: int = 200) -> PostReport:
        """Post up to `limit` queued cards, then re-send cards whose update Slack missed.

        A refused card stays queued (or stale) with its error noted, for the next pass.
        """
        report = PostReport()
        waiting = self._post_each(self.pending(limit), report)
        # A reply whose top card was posted later in this pass follows it now, not next pass.
        report.waiting = [card_id for card_id, _ in self._post_each(waiting, report)]
        self._resend_stale(limit, report)
        return report

    def _post_each(self, cards: list[tuple[int, str]], report: PostReport) -> list[tuple[int, str]]:
        """Post these cards in order; return those waiting for their top card."""
        waiting: list[tuple[int, str]] = []
        for card_id, channel in cards:
            if self.deps.stopping.is_set():  # the worker is shutting down: the rest wait
                break
            if self._held(channel, report):
                continue
            try:
                outcome = self._post_one(card_id)
            except ChatError as exc:
                self._note_failure(channel, card_id, exc, report)
                continue
            if outcome is _Outcome.POSTED:
                report.posted.append(card_id)
            elif outcome is _Outcome.WAITING:
                waiting.append((card_id, channel))
        return waiting

    def _held(self, channel: str, report: PostReport) -> bool:
        """True while Slack's Retry-After for `channel` runs."""
        blocked_until = self._blocked_until.get(channel)
        if blocked_until is not None and self.deps.clock() < blocked_until:
            report.deferred_channels.add(channel)
            return True
        return False

    def _note_failure(self, channel: str, card_id: int, exc: ChatError, report: PostReport) -> None:
        if isinstance(exc, ChatRateLimited):
            log.warning(
                "Slack rate-limited %s for %.0f s; card %d waits",
                channel,
                exc.retry_after_s,
                card_id,
                extra={"card_id": card_id, "channel_id": channel},
            )
            self._blocked_until[channel] = self.deps.clock() + timedelta(seconds=exc.retry_after_s)
            report.deferred_channels.add(channel)
        report.failed[card_id] = exc.code
        if exc.code in NOTICE_KINDS:  # no retry cures these soon: a person must know
            report_problem(self.deps, exc.code, channel)

    def _resend_stale(self, limit: int, report: PostReport) -> None:
        """Update the cards whose change Slack missed (a failed chat.update after a click)."""
        with session_scope(self.deps.engine) as session:
            stale = stale_cards(session=session, limit=limit)
        for card_id in stale:
            with session_scope(self.deps.engine) as session:
                view = load_card(card_id, session=session)
            channel = view.card.channel_id
            if self._held(channel, report):
                continue
            self._pace(channel)
            try:
                synced = sync_card(self.deps.chat, view, engine=self.deps.engine, raise_errors=True)
            except ChatError as exc:
                self._note_failure(channel, card_id, exc, report)
            else:
                if synced:
                    report.updated.append(card_id)

    def _take(self, card_id: int, *, now: datetime) -> bool:
        """Lease a queued card for posting; False when another poster has it or it is done."""
        with session_scope(self.deps.engine) as session:
            result = session.execute(
                update(Card)
                .where(col(Card.id) == card_id)
                .where(col(Card.state) == CardState.QUEUED)
                .where(col(Card.post_attempts) < MAX_POST_ATTEMPTS)
                .where(
                    or_(
                        col(Card.post_lease_until).is_(None),
                        col(Card.post_lease_until) < now,
                    )
                )
                .values(
                    post_attempts=col(Card.post_attempts) + 1,
                    post_lease_until=now + POST_LEASE,
                )
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def _post_one(self, card_id: int) -> _Outcome:
        """Post one card, top-level or in the thread of its conversation's top card."""
        now = self.deps.clock()
        # Where it goes is settled first: a reply whose top card isn't posted yet waits
        # without spending an attempt.
        with session_scope(self.deps.engine) as session:
            placement = place_card(
                card_id, session=session, now=now, max_attempts=MAX_POST_ATTEMPTS
            )
        if placement is None:
            return _Outcome.NOT_OURS
        if placement.waiting:
            return _Outcome.WAITING
        thread_ts = placement.thread_ts
        # The attempt is committed before the post, so a crash in between is visible later,
        # and the lease keeps a second worker from posting the same card meanwhile.
        if not self._take(card_id, now=now):
            return _Outcome.NOT_OURS
        with session_scope(self.deps.engine) as session:
            view = load_card(card_id, session=session)
            card = view.card
        if card.post_attempts > 1 and card.last_post_error is None:
            # An earlier attempt ended without a recorded outcome (a crash mid-post): if
            # Slack has the card, adopt it instead of posting a second one.
            found = self._find_posted(card.channel_id, card_id, thread_ts)
            if found is not None:
                self._mark_posted(card_id, found, thread_ts, now=now, kind=EventKind.RECONCILED)
                return _Outcome.POSTED
        try:
            # Urgent replies also go to the channel: a thread must never hide a P1 or P2.
            broadcast = view.mention.priority is not None and view.mention.priority <= 2
            ts = self._send(view, thread_ts, broadcast)
        except ChatError as exc:
            with session_scope(self.deps.engine) as session:
                row = session.get(Card, card_id)
                assert row is not None
                row.last_post_error = exc.code[:ERROR_MAX_CHARS]
                row.post_lease_until = None
                session.add(row)
            if not isinstance(exc, ChatRateLimited):
                log.error(
                    "posting card %d to %s failed: %s",
                    card_id,
                    card.channel_id,
                    exc.code,
                    extra={"card_id": card_id, "channel_id": card.channel_id},
                )
            raise
        self._mark_posted(card_id, ts, thread_ts, now=now, kind=EventKind.POSTED)
        return _Outcome.POSTED

    def _hold_lease(self, card_id: int, wait_s: float) -> None:
        """Keep the card ours through a wait, so no other poster takes it meanwhile."""
        until = self.deps.clock() + timedelta(seconds=wait_s) + POST_LEASE
        with session_scope(self.deps.engine) as session:
            session.execute(
                update(Card).where(col(Card.id) == card_id).values(post_lease_until=until)
            )

    def _find_posted(self, channel: str, card_id: int, thread_ts: str | None) -> str | None:
        try:
            return self.deps.chat.find_card(channel, card_id, thread_ts=thread_ts)
        except ChatError as exc:  # can't tell: post again, a duplicate beats a lost card
            log.warning("could not check %s for card %d: %s", channel, card_id, exc.code)
            return None

    def _mark_posted(
        self,
        card_id: int,
        ts: str,
        thread_ts: str | None,
        *,
        now: datetime,
        kind: EventKind,
    ) -> None:
        with session_scope(self.deps.engine) as session:
            row = session.get(Card, card_id)
            assert row is not None
            row.state = CardState.POSTED
            row.message_ts = ts
            row.thread_ts = thread_ts or ts
            row.posted_at = now
            row.last_post_error = None
            row.post_lease_until = None
            row.synced_version = row.version
            session.add(row)
            if row.thread_ts != ts:
                note_reply(row.channel_id, row.thread_ts, session=session)
            # A card got through: whatever kept this channel's cards out is fixed.
            clear_channel_notices(row.channel_id, session=session, now=now)
            record_event(
                card_id,
                kind,
                SYSTEM_ACTOR,
                session=session,
                now=now,
                detail={"channel": row.channel_id, "ts": ts, "thread_ts": row.thread_ts},
            )

    def _send(self, view: CardView, thread_ts: str | None, broadcast: bool) -> str:
        """Post once, and once more after a short Retry-After."""
        channel = view.card.channel_id
        self._pace(channel)
        for attempt in range(2):
            try:
                return self.deps.chat.post_card(view, thread_ts=thread_ts, broadcast=broadcast)
            except ChatRateLimited as exc:
                if attempt or exc.retry_after_s > MAX_INLINE_WAIT_S:
                    raise
                assert view.card.id is not None
                self._hold_lease(view.card.id, exc.retry_after_s)
                self.deps.sleep(exc.retry_after_s)
                self._last_post[channel] = time.monotonic()
        raise AssertionError("unreachable")
