"""Running each watch × source fetch when it is due, storing the results and the cursor together."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.db import session_scope
from bot.deps import Deps
from bot.models import SourceCursor, Watch
from bot.pipeline import author_needs_metrics, find_author, ingest_mentions
from bot.sources.base import (
    FetchedAuthor,
    FetchResult,
    RateLimited,
    SearchSpec,
    Source,
    SourceError,
)
from bot.watches import list_watches

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
ERROR_MAX_CHARS = 1000


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What one watch × source fetch did."""

    watch_id: int
    source: str
    new_mentions: int
    error: str | None = None


def ensure_cursor(watch: Watch, source: str, *, session: Session) -> SourceCursor:
    """The cursor row for this watch × source, created (due now) if missing."""
    stmt = select(SourceCursor).where(
        SourceCursor.watch_id == watch.id, SourceCursor.source == source
    )
    cursor = session.exec(stmt).first()
    if cursor is None:
        assert watch.id is not None
        cursor = SourceCursor(watch_id=watch.id, source=source, cursor={})
        session.add(cursor)
        session.flush()
    return cursor


def due_fetches(*, session: Session, now: datetime, sources: set[str]) -> list[tuple[int, str]]:
    """The (watch id, source) pairs whose next fetch is due; sources we can't run are left out."""
    due: list[tuple[int, str]] = []
    for watch in list_watches(session=session, enabled_only=True):
        assert watch.id is not None
        for source in watch.sources:
            if source not in sources:
                continue
            cursor = ensure_cursor(watch, source, session=session)
            if cursor.next_due_at is None or cursor.next_due_at <= now:
                due.append((watch.id, source))
    return due


def _author_metrics(
    source: Source, result: FetchResult, *, session: Session, now: datetime
) -> dict[str, FetchedAuthor]:
    """Ask the network for the metrics of authors we know too little about; failures are skipped."""
    fresh = dict(result.authors)
    for handle in {m.author.handle for m in result.mentions} - fresh.keys():
        network = result.mentions[0].network
        if not author_needs_metrics(find_author(network, handle, session=session), now=now):
            continue
        try:
            metrics = source.fetch_author(handle)
        except SourceError as exc:
            log.warning("%s: no metrics for %s this time: %s", source.name, handle, exc)
            continue
        if metrics is not None:
            fresh[handle] = metrics
    return fresh


def fetch_one(deps: Deps, watch_id: int, source_name: str) -> FetchOutcome:
    """Fetch one watch × source; store the mentions and move the cursor in one transaction."""
    source = deps.sources[source_name]
    now = deps.clock()
    with session_scope(deps.engine) as session:
        watch = session.get(Watch, watch_id)
        if watch is None:
            return FetchOutcome(watch_id, source_name, 0, "watch was removed")
        cursor = ensure_cursor(watch, source_name, session=session)
        try:
            result = source.fetch(SearchSpec(query=watch.query), dict(cursor.cursor), now=now)
            authors = _author_metrics(source, result, session=session, now=now)
        except SourceError as exc:
            return _record_failure(cursor, exc, watch=watch, session=session, now=now)
        queued = ingest_mentions(
            result.mentions, watch=watch, authors=authors, session=session, now=now
        )
        cursor.cursor = result.cursor
        cursor.failures = 0
        cursor.last_error = None
        cursor.last_success_at = now
        cursor.next_due_at = now + timedelta(seconds=watch.interval_s)
        session.add(cursor)
    log.info("%s for watch %s: %d new", source_name, watch_id, len(queued))
    return FetchOutcome(watch_id, source_name, len(queued))


def _record_failure(
    cursor: SourceCursor, exc: SourceError, *, watch: Watch, session: Session, now: datetime
) -> FetchOutcome:
    cursor.failures += 1
    cursor.last_error = str(exc)[:ERROR_MAX_CHARS]
    if isinstance(exc, RateLimited):
        wait = timedelta(seconds=exc.retry_after_s)
    else:
        wait = min(MAX_BACKOFF, timedelta(seconds=watch.interval_s) * 2 ** (cursor.failures - 1))
    cursor.next_due_at = now + wait
    session.add(cursor)
    log.warning(
        "%s for watch %s failed (%d in a row), next try in %s: %s",
        cursor.source,
        watch.id,
        cursor.failures,
        wait,
        exc,
    )
    assert watch.id is not None
    return FetchOutcome(watch.id, cursor.source, 0, str(exc))


def run_due_fetches(deps: Deps) -> list[FetchOutcome]:
    """Fetch every watch × source that is due; a failing network never stops the others."""
    with session_scope(deps.engine) as session:
        due = due_fetches(session=session, now=deps.clock(), sources=set(deps.sources))
    return [fetch_one(deps, watch_id, source) for watch_id, source in due]


def sources_health(*, session: Session) -> list[SourceCursor]:
    """Every cursor, for status displays."""
    return list(session.exec(select(SourceCursor).order_by(col(SourceCursor.id))))
