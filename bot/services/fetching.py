"""Running each watch × source fetch when it is due, storing the results and the cursor together.

Network I/O happens with no database transaction open; the new mentions and the moved cursor
are then written in one transaction, so a cursor never moves past data that was not stored.
Fetches run concurrently, at most PER_HOST_CONCURRENCY at a time against one host.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.authors import author_needs_metrics, find_author
from bot.services.deps import Deps
from bot.services.pipeline import ingest_mentions
from bot.services.query import Query, matched_terms, parse_query
from bot.services.watches import list_watches
from bot.sources import REGISTRY, Registry
from bot.sources.base import (
    FetchedAuthor,
    FetchedMention,
    RateLimited,
    SearchSpec,
    Source,
    SourceError,
)
from bot.store.db import session_scope
from bot.store.models import SourceCursor, Watch
from bot.text import redact

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
# How long a worker holds a fetch; a crashed worker's fetches free up after it.
FETCH_LEASE = timedelta(minutes=10)
ERROR_MAX_CHARS = 1000
MAX_WORKERS = 32
PER_HOST_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """What one watch × source fetch did."""

    watch_id: int
    source: str
    new_mentions: int
    error: str | None = None
    skipped: bool = False  # another worker holds this fetch


@dataclass
class _Fetched:
    mentions: list[FetchedMention] = field(default_factory=list)
    authors: dict[str, FetchedAuthor] = field(default_factory=dict)
    cursors: dict[str, Any] = field(default_factory=dict)


def specs_for(
    watch: Watch, source: str, query: Query | None = None, *, networks: Registry = REGISTRY
) -> list[SearchSpec]:
    """The searches one watch runs on one network, in the network's dialect, with its options."""
    network = networks[source]
    options = network.own_options(watch.options or {})
    return (query or parse_query(watch.query)).specs(network.dialect, options)


def ensure_cursor(watch: Watch, source: str, *, session: Session) -> SourceCursor:
    """The cursor row for this watch × source, created (due now) if missing."""
    stmt = select(SourceCursor).where(
        SourceCursor.watch_id == watch.id, SourceCursor.source == source
    )
    cursor = session.exec(stmt).first()
    if cursor is not None:
        return cursor
    assert watch.id is not None
    try:
        with session.begin_nested():  # another worker may create it at the same moment
            cursor = SourceCursor(watch_id=watch.id, source=source, cursor={})
            session.add(cursor)
            session.flush()
    except IntegrityError:
        cursor = session.exec(stmt).one()
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
            leased = cursor.lease_expires_at is not None and cursor.lease_expires_at > now
            if not leased and (cursor.next_due_at is None or cursor.next_due_at <= now):
                due.append((watch.id, source))
    return due


def _fetch_network(
    deps: Deps, source: Source, watch: Watch, stored: dict[str, Any], *, now: datetime
) -> _Fetched:
    """Ask the network: every search of the watch, then metrics for authors we lack."""
    query = parse_query(watch.query)
    fetched = _Fetched()
    by_query = stored.get("by_query", {})
    for spec in specs_for(watch, source.name, query):
        result = source.fetch(spec, dict(by_query.get(spec.query, {})), now=now)
        fetched.cursors[spec.query] = result.cursor
        fetched.authors.update(result.authors)
        fetched.mentions.extend(result.mentions)
    if REGISTRY[source.name].recheck:
        fetched.mentions = [m for m in fetched.mentions if answers(query, m)]
    with session_scope(deps.engine) as session:
        wanted = {
            m.author.handle
            for m in fetched.mentions
            if m.author.handle
            and m.author.handle not in fetched.authors
            and author_needs_metrics(find_author(m.network, m.author, session=session), now=now)
        }
    for handle in sorted(wanted):
        try:
            metrics = source.fetch_author(handle)
        except SourceError as exc:
            log.warning("%s: no metrics for %s this time: %s", source.name, handle, exc)
            continue
        if metrics is not None:
            fetched.authors[handle] = metrics
    return fetched


def answers(query: Query, mention: FetchedMention) -> bool:
    """True when a fetched mention really answers the watch query (checked here, not trusted)."""
    return matched_terms(query, mention) is not None


def fetch_one(deps: Deps, watch_id: int, source_name: str) -> FetchOutcome:
    """Fetch one watch × source; store the mentions and move the cursor in one transaction."""
    source = deps.sources[source_name]
    now = deps.clock()
    with session_scope(deps.engine) as session:
        watch = session.get(Watch, watch_id)
        if watch is None:
            return FetchOutcome(watch_id, source_name, 0, "watch was removed")
        stored = dict(ensure_cursor(watch, source_name, session=session).cursor)
        session.expunge(watch)
    if not _lease(deps, watch_id, source_name, now=now):
        return FetchOutcome(watch_id, source_name, 0, skipped=True)
    try:
        fetched = _fetch_network(deps, source, watch, stored, now=now)
    except SourceError as exc:
        return _record_failure(deps, watch, source_name, exc, now=now)
    with session_scope(deps.engine) as session:
        watch = session.get(Watch, watch_id)
        if watch is None:
            return FetchOutcome(watch_id, source_name, 0, "watch was removed")
        queued = ingest_mentions(
            fetched.mentions, watch=watch, authors=fetched.authors, session=session, now=now
        )
        cursor = ensure_cursor(watch, source_name, session=session)
        cursor.cursor = {"by_query": fetched.cursors}
        cursor.lease_owner = cursor.lease_expires_at = None
        cursor.failures = 0
        cursor.last_error = None
        cursor.last_attempt_at = cursor.last_success_at = now
        if queued:
            cursor.last_mention_at = now
        cursor.next_due_at = now + timedelta(seconds=watch.interval_s)
        session.add(cursor)
    log.info(
        "%s for watch %s: %d new",
        source_name,
        watch_id,
        len(queued),
        extra={"watch_id": watch_id, "network": source_name},
    )
    return FetchOutcome(watch_id, source_name, len(queued))


def _lease(deps: Deps, watch_id: int, source_name: str, *, now: datetime) -> bool:
    """Take this due watch × source for FETCH_LEASE; False when another worker has it or had it."""
    with session_scope(deps.engine) as session:
        result = session.execute(
            update(SourceCursor)
            .where(col(SourceCursor.watch_id) == watch_id)
            .where(col(SourceCursor.source) == source_name)
            .where(
                or_(
                    col(SourceCursor.lease_expires_at).is_(None),
                    col(SourceCursor.lease_expires_at) < now,
                    col(SourceCursor.lease_owner) == deps.worker_id,
                )
            )
            # Still due: another worker may have fetched it since our list was made.
            .where(
                or_(col(SourceCursor.next_due_at).is_(None), col(SourceCursor.next_due_at) <= now)
            )
            .values(lease_owner=deps.worker_id, lease_expires_at=now + FETCH_LEASE)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _record_failure(
    deps: Deps, watch: Watch, source_name: str, exc: SourceError, *, now: datetime
) -> FetchOutcome:
    with session_scope(deps.engine) as session:
        cursor = ensure_cursor(watch, source_name, session=session)
        cursor.failures += 1
        cursor.lease_owner = cursor.lease_expires_at = None
        cursor.last_attempt_at = now
        cursor.last_error = redact(str(exc))[:ERROR_MAX_CHARS]
        if isinstance(exc, RateLimited):
            wait = timedelta(seconds=exc.retry_after_s)
        else:
            wait = min(
                MAX_BACKOFF, timedelta(seconds=watch.interval_s) * 2 ** (cursor.failures - 1)
            )
        cursor.next_due_at = now + wait
        failures = cursor.failures
        session.add(cursor)
    log.warning(
        "%s for watch %s failed (%d in a row), next try in %s: %s",
        source_name,
        watch.id,
        failures,
        wait,
        exc,
        extra={"watch_id": watch.id, "network": source_name},
    )
    assert watch.id is not None
    return FetchOutcome(watch.id, source_name, 0, str(exc))


def _host_of(deps: Deps, watch_id: int, source_name: str) -> str:
    network = REGISTRY[source_name]
    if network.host_option is None:
        return network.concurrency_key({})
    with session_scope(deps.engine) as session:
        watch = session.get(Watch, watch_id)
        options = dict(watch.options or {}) if watch else {}
    return network.concurrency_key(options)


def run_due_fetches(deps: Deps, *, max_workers: int = MAX_WORKERS) -> list[FetchOutcome]:
    """Fetch every due watch × source concurrently; a failing network never stops the others."""
    with session_scope(deps.engine) as session:
        due = due_fetches(session=session, now=deps.clock(), sources=set(deps.sources))
    if not due:
        return []
    hosts = {pair: _host_of(deps, *pair) for pair in due}
    gates = {host: threading.Semaphore(PER_HOST_CONCURRENCY) for host in set(hosts.values())}

    def run(pair: tuple[int, str]) -> FetchOutcome:
        with gates[hosts[pair]]:
            try:
                return fetch_one(deps, *pair)
            except Exception:  # one broken fetch must not take the others down
                log.exception("fetch of %s for watch %s crashed", pair[1], pair[0])
                return FetchOutcome(pair[0], pair[1], 0, "crashed: see the log")

    if len(due) == 1 or max_workers <= 1:
        return [run(pair) for pair in due]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(due))) as pool:
        return list(pool.map(run, due))
