"""Is the monitor still listening? Each watch × network's health, flagged when it has gone quiet."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.durations import short_duration
from bot.sources.base import Source
from bot.store.models import SourceCursor, Watch

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
