"""Running each watch × source fetch when it is due, storing the results and the cursor together.

Network I/O happens with no database transaction open. Each batch of new mentions is stored
in its own transaction, the cursor moving with a search's last batch, so a cursor never moves
past data that was not stored and a crash keeps every batch stored before it. Fetches run
concurrently, at most PER_HOST_CONCURRENCY at a time against one host.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.services.authors import author_needs_metrics, find_author
from bot.services.deps import Deps
from bot.services.pipeline import fit_mentions, ingest_mentions
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
# How long a worker holds a fetch without renewing it: a dead worker's fetch is free again
# this soon. A live worker renews it every LEASE_RENEW_S while it fetches.
FETCH_LEASE = timedelta(seconds=30)
LEASE_RENEW_S = 10.0
# Mentions stored per transaction: a crash keeps every batch stored before it.
STORE_BATCH = 25
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


def answers(query: Query, mention: FetchedMention) -> bool:
    """True when a fetched mention really answers the watch query (checked here, not trusted)."""
    return matched_terms(query, mention) is not None


class _Stopped(Exception):
    """The worker is shutting down: the fetch gives its lease back where it is."""


class _WatchGone(Exception):
    """The watch was removed while it was being fetched."""


def fetch_one(deps: Deps, watch_id: int, source_name: str) -> FetchOutcome:
    """Fetch one watch × source, storing each batch with the cursor as it goes.

    Any error is a recorded failure with backoff; the lease is renewed while the fetch runs
    and given back when it ends, however it ends.
    """
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
    with _LeaseHeartbeat(deps, watch_id, source_name):
        try:
            new = _fetch_and_store(deps, source, watch, stored, now=now)
        except _Stopped:
            _release(deps, watch_id, source_name)
            return FetchOutcome(watch_id, source_name, 0, "stopped: the worker is shutting down")
        except _WatchGone:
            return FetchOutcome(watch_id, source_name, 0, "watch was removed")
        except Exception as exc:  # whatever broke, it is this fetch's failure, never silent
            return _record_failure(deps, watch, source_name, exc, now=now)
    log.info(
        "%s for watch %s: %d new",
        source_name,
        watch_id,
        new,
        extra={"watch_id": watch_id, "network": source_name},
    )
    return FetchOutcome(watch_id, source_name, new)


def _fetch_and_store(
    deps: Deps, source: Source, watch: Watch, stored: dict[str, Any], *, now: datetime
) -> int:
    """Every search of the watch, each stored batch by batch with its own cursor; the count new."""
    assert watch.id is not None
    query = parse_query(watch.query)
    specs = specs_for(watch, source.name, query)
    by_query = stored.get("by_query", {})
    # Searches the watch no longer runs are dropped; the others keep their place until done.
    cursors = {spec.query: by_query[spec.query] for spec in specs if spec.query in by_query}
    new = 0
    for spec in specs:
        _check_stopping(deps)
        result = source.fetch(spec, dict(cursors.get(spec.query, {})), now=now)
        mentions = fit_mentions(result.mentions)  # before any query uses their fields
        if REGISTRY[source.name].recheck:
            mentions = [m for m in mentions if answers(query, m)]
        batches = [mentions[i : i + STORE_BATCH] for i in range(0, len(mentions), STORE_BATCH)]
        for number, batch in enumerate(batches or [[]], start=1):
            _check_stopping(deps)
            authors = dict(result.authors)
            authors.update(_author_metrics(deps, source, batch, result.authors, now=now))
            if number == len(batches or [[]]):
                cursors[spec.query] = result.cursor  # with the search's last batch
            new += _store_batch(deps, watch.id, source.name, batch, authors, cursors, now=now)
    _record_success(deps, watch.id, source.name, now=now)
    return new


def _check_stopping(deps: Deps) -> None:
    if deps.stopping.is_set():
        raise _Stopped


def _author_metrics(
    deps: Deps,
    source: Source,
    mentions: list[FetchedMention],
    known: dict[str, FetchedAuthor],
    *,
    now: datetime,
) -> dict[str, FetchedAuthor]:
    """Metrics for this batch's authors that we lack or hold stale."""
    with session_scope(deps.engine) as session:
        wanted = {
            m.author.handle
            for m in mentions
            if m.author.handle
            and m.author.handle not in known
            and author_needs_metrics(find_author(m.network, m.author, session=session), now=now)
        }
    found: dict[str, FetchedAuthor] = {}
    for handle in sorted(wanted):
        try:
            metrics = source.fetch_author(handle)
        except SourceError as exc:
            log.warning("%s: no metrics for %s this time: %s", source.name, handle, exc)
            continue
        if metrics is not None:
            found[handle] = metrics
    return found


def _store_batch(
    deps: Deps,
    watch_id: int,
    source_name: str,
    batch: list[FetchedMention],
    authors: dict[str, FetchedAuthor],
    cursors: dict[str, Any],
    *,
    now: datetime,
) -> int:
    """Store one batch and the cursors reached so far in one transaction; the count queued."""
    with session_scope(deps.engine) as session:
        watch = session.get(Watch, watch_id)
        if watch is None:
            raise _WatchGone
        queued = ingest_mentions(batch, watch=watch, authors=authors, session=session, now=now)
        cursor = ensure_cursor(watch, source_name, session=session)
        cursor.cursor = {"by_query": dict(cursors)}
        if queued:
            cursor.last_mention_at = now
        session.add(cursor)
    return len(queued)


def _record_success(deps: Deps, watch_id: int, source_name: str, *, now: datetime) -> None:
    with session_scope(deps.engine) as session:
        watch = session.get(Watch, watch_id)
        if watch is None:
            raise _WatchGone
        cursor = ensure_cursor(watch, source_name, session=session)
        cursor.lease_owner = cursor.lease_expires_at = None
        cursor.failures = 0
        cursor.last_error = None
        cursor.last_attempt_at = cursor.last_success_at = now
        cursor.next_due_at = now + timedelta(seconds=watch.interval_s)
        session.add(cursor)


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


def _renew(deps: Deps, watch_id: int, source_name: str) -> None:
    """Push our lease on this watch × source FETCH_LEASE past now."""
    with session_scope(deps.engine) as session:
        session.execute(
            update(SourceCursor)
            .where(col(SourceCursor.watch_id) == watch_id)
            .where(col(SourceCursor.source) == source_name)
            .where(col(SourceCursor.lease_owner) == deps.worker_id)
            .values(lease_expires_at=deps.clock() + FETCH_LEASE)
        )


def _release(deps: Deps, watch_id: int, source_name: str) -> None:
    """Give our lease back, leaving the fetch due: the next worker picks it up at once."""
    with session_scope(deps.engine) as session:
        session.execute(
            update(SourceCursor)
            .where(col(SourceCursor.watch_id) == watch_id)
            .where(col(SourceCursor.source) == source_name)
            .where(col(SourceCursor.lease_owner) == deps.worker_id)
            .values(lease_owner=None, lease_expires_at=None)
        )


def release_leases(deps: Deps) -> int:
    """Give back every fetch lease this worker holds (at shutdown); how many there were."""
    with session_scope(deps.engine) as session:
        result = session.execute(
            update(SourceCursor)
            .where(col(SourceCursor.lease_owner) == deps.worker_id)
            .values(lease_owner=None, lease_expires_at=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class _LeaseHeartbeat:
    """Renews a fetch's lease every LEASE_RENEW_S while the fetch runs, from its own thread.

    The lease is short so a dead worker's fetch frees up in seconds; a live one keeps it
    however long the network takes.
    """

    def __init__(self, deps: Deps, watch_id: int, source_name: str) -> None:
        self._deps, self._watch_id, self._source = deps, watch_id, source_name
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fetch-lease", daemon=True)

    def __enter__(self) -> _LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(LEASE_RENEW_S):
            try:
                _renew(self._deps, self._watch_id, self._source)
            except SQLAlchemyError:  # the database is away: the fetch itself will fail
                log.warning("could not renew a fetch lease", exc_info=True)


def _record_failure(
    deps: Deps, watch: Watch, source_name: str, exc: Exception, *, now: datetime
) -> FetchOutcome:
    """Note the failure on the cursor, back off, give the lease back; the outcome."""
    if not isinstance(exc, SourceError):  # a bug or bad data, not the network: keep the trace
        log.error("%s for watch %s crashed", source_name, watch.id, exc_info=exc)
    message = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
    with session_scope(deps.engine) as session:
        cursor = ensure_cursor(watch, source_name, session=session)
        cursor.failures += 1
        cursor.lease_owner = cursor.lease_expires_at = None
        cursor.last_attempt_at = now
        cursor.last_error = redact(message)[:ERROR_MAX_CHARS]
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
        redact(message),
        extra={"watch_id": watch.id, "network": source_name},
    )
    assert watch.id is not None
    return FetchOutcome(watch.id, source_name, 0, message)


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


class Fetcher:
    """Starts each due fetch on a thread of its own and returns: a slow one blocks no other.

    The scheduler calls `start_due` every tick; a fetch still running is not started again,
    and one host never has more than PER_HOST_CONCURRENCY fetches running (the others of
    that host wait for a later tick, without holding a thread).
    """

    def __init__(self, deps: Deps, *, max_workers: int = MAX_WORKERS) -> None:
        self.deps = deps
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fetch")
        self._lock = threading.Lock()
        self._running: dict[tuple[int, str], str] = {}  # (watch, source) → host

    def start_due(self) -> list[Future[FetchOutcome]]:
        """Start every due fetch that isn't running and whose host has room; their futures."""
        with session_scope(self.deps.engine) as session:
            due = due_fetches(
                session=session, now=self.deps.clock(), sources=set(self.deps.sources)
            )
        started = []
        for pair in due:
            host = _host_of(self.deps, *pair)
            with self._lock:
                busy = sum(1 for h in self._running.values() if h == host)
                if pair in self._running or busy >= PER_HOST_CONCURRENCY:
                    continue
                self._running[pair] = host
            future = self._pool.submit(self._run, pair)
            started.append(future)
        return started

    def _run(self, pair: tuple[int, str]) -> FetchOutcome:
        try:
            return fetch_one(self.deps, *pair)
        except Exception:  # one broken fetch must not take the others down
            log.exception("fetch of %s for watch %s crashed", pair[1], pair[0])
            return FetchOutcome(pair[0], pair[1], 0, "crashed: see the log")
        finally:
            with self._lock:
                self._running.pop(pair, None)

    def shutdown(self) -> None:
        """Wait for the running fetches; they stop between batches once `deps.stopping` is set."""
        self._pool.shutdown(wait=True, cancel_futures=True)
