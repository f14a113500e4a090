"""Creating, listing and removing watches, with every input checked before anything is written."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from bot.services.query import QueryError, parse_query
from bot.sources import REGISTRY, Registry
from bot.sources.network import OptionError
from bot.store.models import Watch

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
    options: Mapping[str, str] | None = None,
    allow_private_urls: bool = False,
    networks: Registry = REGISTRY,
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
    clean = check_options(
        sources, options or {}, allow_private_urls=allow_private_urls, networks=networks
    )
    watch = Watch(
        query=query,
        sources=list(dict.fromkeys(sources)),
        channel_id=channel_id,
        options=clean,
        interval_s=interval_s,
        created_at=now,
    )
    session.add(watch)
    session.flush()
    return watch


def check_options(
    sources: Collection[str],
    options: Mapping[str, str | None],
    *,
    allow_private_urls: bool = False,
    networks: Registry = REGISTRY,
) -> dict[str, str]:
    """Check the per-network options the sources declare; return the ones to store.

    Each network's options are checked as its declaration says (required, default, check);
    an option given for a network the watch does not use is refused, as a likely mistake.
    """
    given = {k: v.strip() for k, v in options.items() if v is not None and v.strip()}
    declared = {option.name for _, option in networks.options}
    unknown = sorted(set(given) - declared)
    if unknown:
        raise WatchError(f"unknown option {', '.join(unknown)}")
    clean: dict[str, str] = {}
    for network, option in networks.options:
        value = given.get(option.name, option.default)
        if network.key not in sources:
            if option.name in given:
                raise WatchError(f"{option.flag} is only for --source {network.key}")
            continue
        if value is None:
            if option.required:
                raise WatchError(
                    option.missing or f"{option.flag} is required for --source {network.key}"
                )
            continue
        try:
            clean[option.name] = (
                option.check(value, allow_private=allow_private_urls) if option.check else value
            )
        except OptionError as exc:
            raise WatchError(str(exc)) from exc
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
