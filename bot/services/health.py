"""Is the monitor listening and posting? Each watch × network's health, and Slack's backlog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.durations import short_duration
from bot.services.pace import WORKSPACE, paused
from bot.sources.base import Source
from bot.store.models import Card, CardState, SourceCursor, Watch

FAILING_AFTER_FAILURES = 3
# A network with no new mention for this long is flagged: a brand rarely goes unmentioned.
SILENT_AFTER = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class HealthRow:
    """One watch × network: its state and the facts behind it."""

    watch_id: int
    source: str
    state: str  # ok, failing, silent, not configured, waiting
    detail: str
    flagged: bool

    def line(self) -> str:
        """One line for a terminal."""
        mark = "!!" if self.flagged else "ok" if self.state == "ok" else "··"
        return f"{mark} watch #{self.watch_id} {self.source:<14} {self.state:<15} {self.detail}"


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    span = short_duration(now - moment)
    return f"{span} ago" if span else "just now"


def sources_health(*, session: Session) -> list[tuple[Watch, SourceCursor]]:
    """Every watch × source cursor with its watch, for status displays."""
    stmt = (
        select(Watch, SourceCursor)
        .join(SourceCursor, col(SourceCursor.watch_id) == Watch.id)
        .order_by(col(Watch.id), col(SourceCursor.source))
    )
    return [(w, c) for w, c in session.exec(stmt)]


def describe_health(
    *, session: Session, sources: Mapping[str, Source], now: datetime
) -> list[HealthRow]:
    """Every watch × network with a verdict; failing, silent and unconfigured ones are flagged.

    A network a watch has never fetched is listed too, so a missing setting shows before the
    first fetch, and one that has never once succeeded is failing, never ok.
    """
    cursors = {(c.watch_id, c.source): c for _, c in sources_health(session=session)}
    rows = []
    for watch in session.exec(select(Watch).order_by(col(Watch.id))):
        assert watch.id is not None
        names = set(watch.sources) | {name for wid, name in cursors if wid == watch.id}
        for name in sorted(names):
            rows.append(_verdict(watch, name, cursors.get((watch.id, name)), sources, now))
    return rows


def _verdict(
    watch: Watch,
    name: str,
    cursor: SourceCursor | None,
    sources: Mapping[str, Source],
    now: datetime,
) -> HealthRow:
    assert watch.id is not None
    source = sources.get(name)
    if source is not None and source.missing_settings:
        facts = f"set {', '.join(source.missing_settings)}"
        if cursor is not None:
            facts += " · " + _facts(cursor, now)
        return HealthRow(watch.id, name, "not configured", facts, True)
    if cursor is None or cursor.last_attempt_at is None:
        return HealthRow(watch.id, name, "waiting", "never fetched yet", False)
    facts = _facts(cursor, now)
    if cursor.last_success_at is None:
        since = _ago(watch.created_at, now)
        return HealthRow(
            watch.id, name, "failing", f"never worked (watch added {since}) · {facts}", True
        )
    expected_gap = max(timedelta(seconds=watch.interval_s) * 3, timedelta(hours=1))
    if cursor.failures >= FAILING_AFTER_FAILURES or now - cursor.last_success_at > expected_gap:
        return HealthRow(watch.id, name, "failing", facts, True)
    if now - (cursor.last_mention_at or watch.created_at) > SILENT_AFTER:
        return HealthRow(watch.id, name, "silent", facts, True)
    return HealthRow(watch.id, name, "ok", facts, False)


def _facts(cursor: SourceCursor, now: datetime) -> str:
    facts = (
        f"last success {_ago(cursor.last_success_at, now)} · "
        f"last new mention {_ago(cursor.last_mention_at, now)} · "
        f"{cursor.failures} failures in a row"
    )
    if cursor.last_error:
        facts += f" · last error: {cursor.last_error[:200]}"
    return facts


# A card waiting this long to be posted is stuck: Slack is down, or refuses it or its channel.
STUCK_AFTER = timedelta(minutes=10)
ERROR_SHOWN_CHARS = 200


@dataclass(frozen=True, slots=True)
class SlackBacklog:
    """The outbox as Slack sees it: what waits, since when, why, and what is paused."""

    waiting: int  # queued cards
    stuck: int  # of them, queued longer than STUCK_AFTER
    oldest_at: datetime | None  # when the oldest queued card was queued
    last_error: str | None  # Slack's last answer to the oldest stuck card
    paused: tuple[tuple[str, str, datetime | None], ...]  # (channel, Slack's error, since)
    stopped: tuple[str, datetime | None] | None  # the workspace: (Slack's error, since)
    now: datetime

    @property
    def flagged(self) -> bool:
        """True when a person should look: cards stuck, a channel paused, posting stopped."""
        return bool(self.stuck or self.paused or self.stopped)

    def lines(self) -> list[str]:
        """What `sources status` and the Home say about Slack, one problem a line."""
        lines = []
        if self.stopped is not None:
            code, since = self.stopped
            lines.append(
                f"Slack: posting stopped since {_ago(since, self.now)}: Slack refuses "
                f"overheard's token ({code}). Reinstall the app and set SLACK_BOT_TOKEN; "
                f"posting resumes by itself."
            )
        for channel, code, since in self.paused:
            lines.append(
                f"Slack: channel {channel} paused since {_ago(since, self.now)} ({code}); "
                f"its cards wait and it is tried again every few minutes."
            )
        if self.stuck and self.oldest_at is not None:
            span = short_duration(self.now - self.oldest_at) or "a moment"
            line = f"Slack: {_cards(self.stuck)} waiting to post for {span}"
            if self.last_error:
                line += f", last error: {self.last_error[:ERROR_SHOWN_CHARS]}"
            lines.append(line)
        if not lines:
            lines.append(f"Slack: ok, {_cards(self.waiting)} waiting to post")
        return lines


def _cards(count: int) -> str:
    return f"{count:,} card" + ("" if count == 1 else "s")


def slack_backlog(*, session: Session, now: datetime) -> SlackBacklog:
    """Queued cards, the stuck ones among them with Slack's last answer, and the pauses."""
    waiting, oldest = session.exec(
        select(func.count(), func.min(Card.queued_at)).where(Card.state == CardState.QUEUED)
    ).one()
    stuck_filter = (Card.state == CardState.QUEUED, col(Card.queued_at) < now - STUCK_AFTER)
    stuck = session.exec(select(func.count()).where(*stuck_filter)).one()
    last_error = None
    if stuck:
        last_error = session.exec(
            select(Card.last_post_error)
            .where(*stuck_filter, col(Card.last_post_error).is_not(None))
            .order_by(col(Card.queued_at), col(Card.id))
            .limit(1)
        ).first()
    rows = paused(session=session)
    return SlackBacklog(
        waiting=int(waiting),
        stuck=int(stuck),
        oldest_at=oldest if oldest is None or oldest.tzinfo else oldest.replace(tzinfo=UTC),
        last_error=last_error,
        paused=tuple(
            (r.channel_id, r.paused_code or "?", r.paused_at)
            for r in rows
            if r.channel_id != WORKSPACE
        ),
        stopped=next(
            ((r.paused_code or "?", r.paused_at) for r in rows if r.channel_id == WORKSPACE),
            None,
        ),
        now=now,
    )
