"""Draining the outbox: queued cards go to their channel at Slack's pace; none is ever given up.

A card Slack refuses is tried again later and later (2 s doubling, up to an hour, jittered),
for as long as it takes. A 429 holds its channel for Retry-After, for every worker, without
counting against the card. A channel Slack refuses (not_in_channel, ...) is paused and tried
again every few minutes; a refused token stops all posting until a probe gets through.
"""

from __future__ import annotations

import enum
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import col, select

from bot.services import pace
from bot.services.cards import (
    SYSTEM_ACTOR,
    load_card,
    record_event,
    stale_cards,
    sync_card,
)
from bot.services.chat import ChatError, ChatRateLimited
from bot.services.deps import Deps
from bot.services.health import STUCK_AFTER
from bot.services.notices import (
    CHANNEL_KINDS,
    NOTICE_KINDS,
    TOKEN_KINDS,
    clear_channel_notices,
    has_open_notice,
    report_problem,
)
from bot.services.threads import note_reply, place_card
from bot.store.db import session_scope
from bot.store.models import Card, CardState, ChannelPace, EventKind, Mention

log = logging.getLogger(__name__)

# How long a poster holds a card it is posting; a crashed poster's cards free up after it
# (and are first looked for in Slack). Longer than one paced post; a wait for the channel
# extends it.
POST_LEASE = timedelta(seconds=30)
# A wait for a channel longer than this ends the pass for that channel; its cards stay queued.
MAX_INLINE_WAIT_S = 30.0
ERROR_MAX_CHARS = 1000
# After a failed post a card waits BACKOFF_FIRST_S, doubling with each failure in a row, up to
# BACKOFF_MAX_S; each wait is cut by up to BACKOFF_JITTER so cards don't retry in step.
BACKOFF_FIRST_S = 2.0
BACKOFF_MAX_S = 3600.0
BACKOFF_JITTER = 0.25
# A top card that failed this often in a row lets its replies lead (it follows them later).
HAND_OVER_AFTER_ATTEMPTS = 5
# A paused channel, or a workspace whose token Slack refused, is tried with one card this often.
PROBE_EVERY = timedelta(minutes=5)
# How often a poster looks for channels whose cards are stuck.
STUCK_CHECK_EVERY = timedelta(minutes=1)


class _Outcome(enum.Enum):
    POSTED = "posted"
    WAITING = "waiting"  # for its top card to be posted
    NOT_OURS = "not ours"  # another poster has it, or it is posted
    DEFERRED = "deferred"  # its channel is held: it waits, untried


@dataclass
class PostReport:
    """What one pass of the poster did."""

    posted: list[int] = field(default_factory=list)
    # Cards whose update Slack missed, or whose thread grew, re-sent.
    updated: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)  # replies whose top card isn't posted yet
    failed: dict[int, str] = field(default_factory=dict)
    deferred_channels: set[str] = field(default_factory=set)
    stopped: str | None = None  # Slack refuses the token: nothing is posted anywhere


def backoff(failures: int, *, rng: random.Random) -> timedelta:
    """How long a card waits after its `failures`-th failed post in a row (1, 2, ...)."""
    exponent = min(max(failures, 1) - 1, 30)
    full = min(BACKOFF_FIRST_S * 2**exponent, BACKOFF_MAX_S)
    return timedelta(seconds=full * (1 - BACKOFF_JITTER * rng.random()))


class Poster:
    """Posts queued cards at Slack's pace per channel (shared by every worker), P1 first."""

    def __init__(self, deps: Deps, *, rng: random.Random | None = None) -> None:
        self.deps = deps
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not secrets)
        self._stuck_checked_at: datetime | None = None

    @property
    def _interval(self) -> timedelta:
        seconds = self.deps.settings.post_interval_s if self.deps.pace_posts else 0.0
        return timedelta(seconds=seconds)

    def pending(self, limit: int) -> list[tuple[int, str]]:
        """(id, channel) of queued cards due a try, most urgent, then oldest, first.

        Cards waiting out a backoff, and the cards of held or paused channels, are left out.
        """
        now = self.deps.clock()
        held = select(ChannelPace.channel_id).where(
            col(ChannelPace.next_at) > now + timedelta(seconds=MAX_INLINE_WAIT_S)
        )
        with session_scope(self.deps.engine) as session:
            stmt = (
                select(Card.id, Card.channel_id)
                .join(Mention, col(Mention.id) == Card.mention_id)
                .where(Card.state == CardState.QUEUED)
                .where(or_(col(Card.retry_at).is_(None), col(Card.retry_at) <= now))
                .where(col(Card.channel_id).not_in(held))
                .order_by(col(Mention.priority).asc().nulls_last(), col(Mention.created_at))
                .limit(limit)
            )
            return [(cid, channel) for cid, channel in session.exec(stmt) if cid is not None]

    def post_pending(self, limit: int = 200) -> PostReport:
        """Post up to `limit` queued cards, then re-send cards whose update Slack missed.

        A refused card stays queued with its error noted, and is tried again after its backoff.
        """
        report = PostReport()
        probing = self._workspace_probe(report)
        if report.stopped is None:
            # While the token is refused, one card tells whether it works again.
            waiting = self._post_each(self.pending(1 if probing else limit), report)
            # A reply whose top card was posted later in this pass follows it now.
            report.waiting = [card_id for card_id, _ in self._post_each(waiting, report)]
        if report.stopped is None and not probing:
            self._resend_stale(limit, report)
        if report.stopped is not None:
            log.error(
                "Slack refuses overheard's token (%s): nothing is posted until it is fixed "
                "(reinstall the app, set SLACK_BOT_TOKEN); %d cards wait",
                report.stopped,
                self._queued_count(),
            )
        self._report_stuck()
        return report

    def _workspace_probe(self, report: PostReport) -> bool:
        """Whether this pass probes a refused token; sets `report.stopped` while it waits."""
        with session_scope(self.deps.engine) as session:
            row = session.get(ChannelPace, pace.WORKSPACE)
            code = row.paused_code if row is not None else None
        if code is None:
            return False
        wait = pace.reserve(
            self.deps.engine,
            pace.WORKSPACE,
            now=self.deps.clock(),
            interval=PROBE_EVERY,
            max_wait=timedelta(0),
            probe_every=PROBE_EVERY,
        )
        if wait is None:  # not time yet, or another worker probes now
            report.stopped = code
            return False
        return True

    def _queued_count(self) -> int:
        with session_scope(self.deps.engine) as session:
            stmt = select(Card.id).where(Card.state == CardState.QUEUED)
            return len(session.exec(stmt).all())

    def _post_each(self, cards: list[tuple[int, str]], report: PostReport) -> list[tuple[int, str]]:
        """Post these cards in order; return those waiting for their top card."""
        waiting: list[tuple[int, str]] = []
        for card_id, channel in cards:
            if self.deps.stopping.is_set():  # the worker is shutting down: the rest wait
                break
            if report.stopped is not None:
                break
            if channel in report.deferred_channels:
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
            elif outcome is _Outcome.DEFERRED:
                report.deferred_channels.add(channel)
        return waiting

    def _note_failure(self, channel: str, card_id: int, exc: ChatError, report: PostReport) -> None:
        now = self.deps.clock()
        if isinstance(exc, ChatRateLimited):
            log.warning(
                "Slack rate-limited %s for %.0f s; card %d waits",
                channel,
                exc.retry_after_s,
                card_id,
                extra={"card_id": card_id, "channel_id": channel},
            )
            report.deferred_channels.add(channel)
        elif exc.code in CHANNEL_KINDS:
            log.error(
                "Slack refuses channel %s (%s): its cards wait, and it is tried again in %s",
                channel,
                exc.code,
                PROBE_EVERY,
            )
            pace.pause(self.deps.engine, channel, exc.code, now=now, retry_at=now + PROBE_EVERY)
            report.deferred_channels.add(channel)
        elif exc.code in TOKEN_KINDS:
            pace.pause(
                self.deps.engine, pace.WORKSPACE, exc.code, now=now, retry_at=now + PROBE_EVERY
            )
            report.stopped = exc.code
        report.failed[card_id] = exc.code
        if exc.code in NOTICE_KINDS:  # no retry cures these soon: a person must know
            report_problem(self.deps, exc.code, None if exc.code in TOKEN_KINDS else channel)

    def _report_stuck(self) -> None:
        """Tell admins, once per problem, about channels whose cards have waited too long."""
        now = self.deps.clock()
        if self._stuck_checked_at is not None and now - self._stuck_checked_at < STUCK_CHECK_EVERY:
            return
        self._stuck_checked_at = now
        since = now - STUCK_AFTER
        with session_scope(self.deps.engine) as session:
            posting = select(ChannelPace.channel_id).where(
                or_(
                    col(ChannelPace.last_posted_at) >= since,
                    col(ChannelPace.paused_code).is_not(None),  # a notice of its own
                )
            )
            stuck = session.exec(
                select(Card.channel_id)
                .where(Card.state == CardState.QUEUED)
                .where(col(Card.queued_at) < since)
                .where(col(Card.channel_id).not_in(posting))
                .distinct()
            ).all()
            workspace = session.get(ChannelPace, pace.WORKSPACE)
            if workspace is not None and workspace.paused_code is not None:
                return  # the refused token is the problem, and has a notice of its own
            new = [c for c in stuck if not has_open_notice("cards_stuck", c, session=session)]
        for channel in new:
            log.error("cards for %s have waited more than %s to be posted", channel, STUCK_AFTER)
            report_problem(self.deps, "cards_stuck", channel)

    def _reserve(self, channel: str, *, card_id: int | None = None) -> bool:
        """Wait for the channel's next moment, reserved for this message; False when held.

        The card being posted (`card_id`) stays leased to this poster through the wait.
        """
        wait = pace.reserve(
            self.deps.engine,
            channel,
            now=self.deps.clock(),
            interval=self._interval,
            max_wait=timedelta(seconds=MAX_INLINE_WAIT_S),
            probe_every=PROBE_EVERY,
        )
        if wait is None:
            return False
        if wait > 0:
            if card_id is not None:
                self._hold_lease(card_id, wait)
            self.deps.sleep(wait)
        return True

    def _resend_stale(self, limit: int, report: PostReport) -> None:
        """Update the cards whose change Slack missed (a failed chat.update after a click)."""
        with session_scope(self.deps.engine) as session:
            stale = stale_cards(session=session, limit=limit)
        for card_id in stale:
            with session_scope(self.deps.engine) as session:
                view = load_card(card_id, session=session)
            channel = view.card.channel_id
            if channel in report.deferred_channels:
                continue
            if not self._reserve(channel):
                report.deferred_channels.add(channel)
                continue
            try:
                synced = sync_card(self.deps.chat, view, engine=self.deps.engine, raise_errors=True)
            except ChatError as exc:
                if isinstance(exc, ChatRateLimited):
                    self._hold(channel, exc)
                # One refusal is enough for this pass: the others would likely be refused too.
                report.deferred_channels.add(channel)
                self._note_failure(channel, card_id, exc, report)
            else:
                if synced:
                    report.updated.append(card_id)

    def _hold(self, channel: str, exc: ChatRateLimited) -> None:
        until = self.deps.clock() + timedelta(seconds=exc.retry_after_s)
        pace.hold(self.deps.engine, channel, until)

    def _take(self, card_id: int, *, now: datetime) -> bool:
        """Lease a queued card for posting; False when another poster has it or it is done."""
        with session_scope(self.deps.engine) as session:
            result = session.execute(
                update(Card)
                .where(col(Card.id) == card_id)
                .where(col(Card.state) == CardState.QUEUED)
                .where(
                    or_(
                        col(Card.post_lease_until).is_(None),
                        col(Card.post_lease_until) < now,
                    )
                )
                .values(
                    post_attempts=col(Card.post_attempts) + 1,
                    post_lease_until=now + POST_LEASE,
                    # This attempt's outcome is unknown until recorded: if the poster dies
                    # mid-post, the next one sees no error and looks for the card in Slack.
                    last_post_error=None,
                )
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def _give_back(self, card_id: int, error: str | None) -> None:
        """Hand a leased card back untried, or refused for a reason that is not its own: the
        attempt is not counted and no backoff starts (its channel's hold or pause decides)."""
        values: dict[str, object] = {
            "post_attempts": col(Card.post_attempts) - 1,
            "post_lease_until": None,
        }
        if error is not None:
            values["last_post_error"] = error[:ERROR_MAX_CHARS]
        with session_scope(self.deps.engine) as session:
            session.execute(update(Card).where(col(Card.id) == card_id).values(**values))

    def _failed(self, card_id: int, attempts: int, error: str, *, now: datetime) -> None:
        """Note a failed post: its error, and when the card is tried again."""
        with session_scope(self.deps.engine) as session:
            session.execute(
                update(Card)
                .where(col(Card.id) == card_id)
                .values(
                    last_post_error=error[:ERROR_MAX_CHARS],
                    post_lease_until=None,
                    retry_at=now + backoff(attempts, rng=self._rng),
                )
            )

    def _post_one(self, card_id: int) -> _Outcome:
        """Post one card, top-level or in the thread of its conversation's top card."""
        now = self.deps.clock()
        # Where it goes is settled first: a reply whose top card isn't posted yet waits
        # without spending an attempt.
        with session_scope(self.deps.engine) as session:
            placement = place_card(
                card_id, session=session, now=now, max_attempts=HAND_OVER_AFTER_ATTEMPTS
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
        channel = card.channel_id
        if card.post_attempts > 1 and card.last_post_error is None:
            # An earlier attempt ended without a recorded outcome (a crash mid-post): if
            # Slack has the card, adopt it instead of posting a second one.
            found = self._find_posted(channel, card_id, thread_ts)
            if found is not None:
                self._mark_posted(card_id, found, thread_ts, now=now, kind=EventKind.RECONCILED)
                return _Outcome.POSTED
        # Urgent replies also go to the channel: a thread must never hide a P1 or P2.
        broadcast = view.mention.priority is not None and view.mention.priority <= 2
        for attempt in range(2):
            if not self._reserve(channel, card_id=card_id):
                self._give_back(card_id, None)
                return _Outcome.DEFERRED
            try:
                ts = self.deps.chat.post_card(view, thread_ts=thread_ts, broadcast=broadcast)
            except ChatRateLimited as exc:
                self._hold(channel, exc)  # for every worker: the next reservation waits it out
                if attempt == 0 and exc.retry_after_s <= MAX_INLINE_WAIT_S:
                    continue
                self._give_back(card_id, exc.code)
                raise
            except ChatError as exc:
                if exc.code in CHANNEL_KINDS or exc.code in TOKEN_KINDS:
                    self._give_back(card_id, exc.code)
                else:
                    log.error("posting card %d to %s failed: %s", card_id, channel, exc.code)
                    self._failed(card_id, card.post_attempts, exc.code, now=self.deps.clock())
                raise
            self._mark_posted(card_id, ts, thread_ts, now=self.deps.clock(), kind=EventKind.POSTED)
            return _Outcome.POSTED
        raise AssertionError("unreachable")

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
            row.retry_at = None
            row.synced_version = row.version
            session.add(row)
            if row.thread_ts != ts:
                note_reply(row.channel_id, row.thread_ts, session=session)
            # A card got through: whatever kept this channel's cards out is fixed.
            clear_channel_notices(row.channel_id, session=session, now=now)
            pace.note_posted(row.channel_id, session=session, now=now, interval=self._interval)
            record_event(
                card_id,
                kind,
                SYSTEM_ACTOR,
                session=session,
                now=now,
                detail={"channel": row.channel_id, "ts": ts, "thread_ts": row.thread_ts},
            )
