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
        mark = "!!" if self.flagged else "ok"
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
    """Every watch × network with a verdict; failing, silent and unconfigured ones are flagged."""
    rows = []
    for watch, cursor in sources_health(session=session):
        assert watch.id is not None
        source = sources.get(cursor.source)
        facts = (
            f"last success {_ago(cursor.last_success_at, now)} · "
            f"last new mention {_ago(cursor.last_mention_at, now)} · "
            f"{cursor.failures} failures in a row"
        )
        if cursor.last_error:
            facts += f" · last error: {cursor.last_error[:200]}"
        expected_gap = max(timedelta(seconds=watch.interval_s) * 3, timedelta(hours=1))
        quiet_since = cursor.last_mention_at or watch.created_at
        if source is not None and source.missing_settings:
            state, flagged = "not configured", True
            facts = f"set {', '.join(source.missing_settings)} · " + facts
        elif cursor.failures >= FAILING_AFTER_FAILURES or (
            cursor.last_attempt_at is not None
            and now - (cursor.last_success_at or watch.created_at) > expected_gap
        ):
            state, flagged = "failing", True
        elif cursor.last_attempt_at is None:
            state, flagged = "waiting", False
        elif now - quiet_since > SILENT_AFTER:
            state, flagged = "silent", True
        else:
            state, flagged = "ok", False
        rows.append(HealthRow(watch.id, cursor.source, state, facts, flagged))
    return rows
