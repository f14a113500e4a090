"""Creating, listing and removing watches, with every input checked before anything is written."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from sqlmodel import Session, col, select

from bot.models import Watch

QUERY_MAX_CHARS = 500
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,31}$")
MIN_INTERVAL_S = 60
DEFAULT_INTERVAL_S = 300


class WatchError(ValueError):
    """A watch that can't be saved; the message says what to fix."""


def add_watch(
    query: str,
    sources: list[str],
    channel_id: str,
    *,
    known_sources: Collection[str],
    session: Session,
    now: datetime,
    interval_s: int = DEFAULT_INTERVAL_S,
    team_id: str | None = None,
) -> Watch:
    """Validate and save a watch; raise WatchError and write nothing when anything is off."""
    query = " ".join(query.split())
    if not query:
        raise WatchError("the query is empty")
    if len(query) > QUERY_MAX_CHARS:
        raise WatchError(f"the query is longer than {QUERY_MAX_CHARS} characters")
    if not sources:
        raise WatchError("name at least one source with --source")
    unknown = sorted(set(sources) - set(known_sources))
    if unknown:
        raise WatchError(
            f"unknown source {', '.join(unknown)}; known: {', '.join(sorted(known_sources))}"
        )
    if not CHANNEL_ID.match(channel_id):
        raise WatchError(
            f"{channel_id!r} is not a Slack channel ID (like C0123ABCD: in Slack, open the "
            "channel's details; the ID is at the bottom)"
        )
    if interval_s < MIN_INTERVAL_S:
        raise WatchError(f"the interval must be at least {MIN_INTERVAL_S} s")
    watch = Watch(
        team_id=team_id,
        query=query,
        sources=list(dict.fromkeys(sources)),
        channel_id=channel_id,
        interval_s=interval_s,
        created_at=now,
    )
    session.add(watch)
    session.flush()
    return watch


def list_watches(*, session: Session, enabled_only: bool = False) -> list[Watch]:
    """All watches, oldest first."""
    stmt = select(Watch).order_by(col(Watch.id))
    if enabled_only:
        stmt = stmt.where(col(Watch.enabled).is_(True))
    return list(session.exec(stmt))


def remove_watch(watch_id: int, *, session: Session) -> Watch:
    """Delete a watch and its cursors; its mentions and cards stay."""
    watch = session.get(Watch, watch_id)
    if watch is None:
        raise WatchError(f"no watch with id {watch_id}")
    session.delete(watch)
    session.flush()
    return watch
