"""Creating, listing and removing watches, with every input checked before anything is written."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import datetime

from sqlmodel import Session, col, select

from bot.services.query import QueryError, parse_query
from bot.sources.netsafe import UnsafeURL, check_url
from bot.store.models import Watch

APP_ID = re.compile(r"^[0-9]{1,12}$")
COUNTRY = re.compile(r"^[a-z]{2}$")
SITE = re.compile(r"^[a-z0-9.-]{2,64}$")
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
    options: dict[str, str] | None = None,
    allow_private_urls: bool = False,
) -> Watch:
    """Validate and save a watch; raise WatchError and write nothing when anything is off."""
    query = " ".join(query.split())
    try:
        parse_query(query)
    except QueryError as exc:
        raise WatchError(f"bad query: {exc}") from exc
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
    options = check_options(sources, options or {}, allow_private_urls=allow_private_urls)
    watch = Watch(
        query=query,
        sources=list(dict.fromkeys(sources)),
        channel_id=channel_id,
        options=options,
        interval_s=interval_s,
        created_at=now,
    )
    session.add(watch)
    session.flush()
    return watch


def check_options(
    sources: list[str], options: dict[str, str], *, allow_private_urls: bool = False
) -> dict[str, str]:
    """Check the per-network targets the sources need; return only the ones given."""
    clean = {k: v.strip() for k, v in options.items() if v is not None and v.strip()}
    if "rss" in sources:
        if "feed_url" not in clean:
            raise WatchError("an rss watch needs --feed-url")
        try:
            clean["feed_url"] = check_url(clean["feed_url"], allow_private=allow_private_urls)
        except UnsafeURL as exc:
            raise WatchError(f"feed URL refused: {exc}") from exc
    elif "feed_url" in clean:
        raise WatchError("--feed-url is only for --source rss")
    if "appstore" in sources:
        if not APP_ID.match(clean.get("app_id", "")):
            raise WatchError("an appstore watch needs --app-id, the number in the app's URL")
        clean["country"] = clean.get("country", "us").lower()
        if not COUNTRY.match(clean["country"]):
            raise WatchError("--country takes a two-letter store code, like us or de")
    if "site" in clean and not SITE.match(clean["site"]):
        raise WatchError("--site takes a Stack Exchange site name, like stackoverflow")
    return clean


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
