"""Creating, listing, changing and removing watches, every input checked before it is written."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.services.cards import record_event
from bot.services.query import QueryError, Term, parse_query
from bot.sources import REGISTRY, Registry
from bot.sources.network import OptionError
from bot.store.models import EventKind, SourceCursor, Watch

CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,31}$")
MIN_INTERVAL_S = 60
# A week: a longer gap is no longer watching, and a 32-bit column can't hold much more.
MAX_INTERVAL_S = 7 * 24 * 3600
DEFAULT_INTERVAL_S = 300
# An exclusion typed in Slack is words the query language takes bare (letters, digits and
# . ' & + -), one or several (a phrase): no quotes, operators, or characters Slack parses.
_EXCLUDABLE_WORD = re.compile(r"^[\w.'&+-]+$")
EXCLUSION_MAX_CHARS = 100
# A query changed by two people at once: re-read and try again this many times.
EXCLUDE_ATTEMPTS = 3


class WatchError(ValueError):
    """A watch that can't be saved; the message says what to fix.

    `field` names the input at fault (query, sources, channel, interval, or a network
    option's name) so a form can show the message beside it; None when no one input is.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class WatchSpec:
    """A watch's settings, checked and normalised, ready to be stored."""

    query: str
    sources: list[str]
    channel_id: str
    interval_s: int
    options: dict[str, str]


@dataclass(frozen=True)
class WatchChange:
    """A watch as edited, and what changed: field → (before, after)."""

    watch: Watch
    changes: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class OptionField:
    """A per-watch option of one network, as a form asks for it."""

    name: str
    flag: str
    network: str  # its network's key
    help: str
    required: bool


@dataclass(frozen=True)
class WatchForm:
    """What a form for a watch offers: the networks (key, name) and their options."""

    networks: tuple[tuple[str, str], ...]
    options: tuple[OptionField, ...]


def watch_form(networks: Registry = REGISTRY) -> WatchForm:
    """The networks a watch can search and the options each one takes."""
    return WatchForm(
        networks=tuple((n.key, n.name) for n in networks),
        options=tuple(
            OptionField(o.name, o.flag, n.key, o.help, o.required) for n, o in networks.options
        ),
    )


def check_watch(
    query: str,
    sources: list[str],
    channel_id: str,
    *,
    known_sources: Collection[str],
    interval_s: int = DEFAULT_INTERVAL_S,
    options: Mapping[str, str] | None = None,
    allow_private_urls: bool = False,
    networks: Registry = REGISTRY,
) -> WatchSpec:
    """Check every part of a watch; raise WatchError (with the field at fault) when one is off."""
    query = " ".join(query.split())
    try:
        parse_query(query)
    except QueryError as exc:
        raise WatchError(f"bad query: {exc}", field="query") from exc
    if not sources:
        raise WatchError("name at least one source with --source", field="sources")
    unknown = sorted(set(sources) - set(known_sources))
    if unknown:
        raise WatchError(
            f"unknown source {', '.join(unknown)}; known: {', '.join(sorted(known_sources))}",
            field="sources",
        )
    if not CHANNEL_ID.match(channel_id):
        raise WatchError(
            f"{channel_id!r} is not a Slack channel ID (like C0123ABCD: in Slack, open the "
            "channel's details; the ID is at the bottom)",
            field="channel",
        )
    if interval_s < MIN_INTERVAL_S:
        raise WatchError(f"the interval must be at least {MIN_INTERVAL_S} s", field="interval")
    if interval_s > MAX_INTERVAL_S:
        raise WatchError(
            f"the interval must be at most {MAX_INTERVAL_S} s (a week)", field="interval"
        )
    clean = check_options(
        sources, options or {}, allow_private_urls=allow_private_urls, networks=networks
    )
    return WatchSpec(query, list(dict.fromkeys(sources)), channel_id, interval_s, clean)


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
    spec = check_watch(
        query,
        sources,
        channel_id,
        known_sources=known_sources,
        interval_s=interval_s,
        options=options,
        allow_private_urls=allow_private_urls,
        networks=networks,
    )
    watch = Watch(
        query=spec.query,
        sources=spec.sources,
        channel_id=spec.channel_id,
        options=spec.options,
        interval_s=spec.interval_s,
        created_at=now,
    )
    session.add(watch)
    session.flush()
    return watch


def edit_watch(
    watch_id: int,
    query: str,
    sources: list[str],
    channel_id: str,
    *,
    known_sources: Collection[str],
    session: Session,
    interval_s: int = DEFAULT_INTERVAL_S,
    options: Mapping[str, str] | None = None,
    allow_private_urls: bool = False,
    networks: Registry = REGISTRY,
) -> WatchChange:
    """Change every setting of a watch, checked as `add_watch` checks a new one.

    A network the watch keeps, with the same options, keeps its cursor (it reads on from
    where it was); a network dropped, or whose options changed (another feed), loses it.
    """
    watch = session.get(Watch, watch_id)
    if watch is None:
        raise WatchError(f"no watch with id {watch_id}")
    spec = check_watch(
        query,
        sources,
        channel_id,
        known_sources=known_sources,
        interval_s=interval_s,
        options=options,
        allow_private_urls=allow_private_urls,
        networks=networks,
    )
    before = {
        "query": watch.query,
        "sources": ", ".join(watch.sources),
        "channel": watch.channel_id,
        "interval": f"{watch.interval_s} s",
        "options": _options_text(watch.options),
    }
    after = {
        "query": spec.query,
        "sources": ", ".join(spec.sources),
        "channel": spec.channel_id,
        "interval": f"{spec.interval_s} s",
        "options": _options_text(spec.options),
    }
    kept = {
        key
        for key in spec.sources
        if key in watch.sources
        and networks[key].own_options(watch.options) == networks[key].own_options(spec.options)
    }
    cursors = session.exec(select(SourceCursor).where(SourceCursor.watch_id == watch_id))
    for cursor in cursors:
        if cursor.source not in kept:
            session.delete(cursor)
    watch.query, watch.sources, watch.channel_id = spec.query, spec.sources, spec.channel_id
    watch.interval_s, watch.options = spec.interval_s, spec.options
    session.add(watch)
    session.flush()
    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    return WatchChange(watch, changes)


def _options_text(options: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(options.items())) or "none"


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
        raise WatchError(f"unknown option {', '.join(unknown)}", field=unknown[0])
    clean: dict[str, str] = {}
    for network, option in networks.options:
        value = given.get(option.name, option.default)
        if network.key not in sources:
            if option.name in given:
                raise WatchError(
                    f"{option.flag} is only for --source {network.key}", field=option.name
                )
            continue
        if value is None:
            if option.required:
                raise WatchError(
                    option.missing or f"{option.flag} is required for --source {network.key}",
                    field=option.name,
                )
            continue
        try:
            clean[option.name] = (
                option.check(value, allow_private=allow_private_urls) if option.check else value
            )
        except OptionError as exc:
            raise WatchError(str(exc), field=option.name) from exc
    return clean


def list_watches(*, session: Session, enabled_only: bool = False) -> list[Watch]:
    """All watches, oldest first."""
    stmt = select(Watch).order_by(col(Watch.id))
    if enabled_only:
        stmt = stmt.where(col(Watch.enabled).is_(True))
    return list(session.exec(stmt))


def get_watch(watch_id: int, *, session: Session) -> Watch:
    """One watch; WatchError when there is none with that id."""
    watch = session.get(Watch, watch_id)
    if watch is None:
        raise WatchError(f"no watch with id {watch_id}")
    return watch


def remove_watch(watch_id: int, *, session: Session) -> Watch:
    """Delete a watch and its cursors; its mentions and cards stay."""
    watch = session.get(Watch, watch_id)
    if watch is None:
        raise WatchError(f"no watch with id {watch_id}")
    session.delete(watch)
    session.flush()
    return watch


def set_watch_enabled(watch_id: int, enabled: bool, *, session: Session) -> Watch:
    """Pause (False) or resume (True) a watch; a resumed watch is fetched on the next tick.

    Resuming also ends any wait a rate limit or a run of failures set on its networks.
    """
    watch = session.get(Watch, watch_id)
    if watch is None:
        raise WatchError(f"no watch with id {watch_id}")
    watch.enabled = enabled
    session.add(watch)
    if enabled:
        session.execute(
            update(SourceCursor)
            .where(col(SourceCursor.watch_id) == watch_id)
            .values(next_due_at=None)
        )
    session.flush()
    return watch


def exclusion_for_word(raw: str) -> str | None:
    """The exclusion for a word or phrase someone typed (`-jobs`, `-"cheap hosting"`), or None.

    Only plain words are taken, so what is appended can only ever add one exclusion: never
    an OR, an operator, an open quote or text Slack would read as a mention or a link.
    """
    words = raw.split()
    if not words:
        return None
    text = " ".join(words)
    if len(text) > EXCLUSION_MAX_CHARS:
        raise WatchError(f"An exclusion is at most {EXCLUSION_MAX_CHARS} characters.")
    if text.startswith("-"):
        raise WatchError("Type the word without a minus sign: it is added as an exclusion.")
    if not all(_EXCLUDABLE_WORD.match(word) for word in words) or not any(
        ch.isalnum() for ch in text
    ):
        raise WatchError(
            "An exclusion can only hold words: letters, digits and . ' & + - "
            "(no quotes, no < or >, no operators)."
        )
    if len(words) == 1:
        return _checked_exclusion(f"-{text}", Term("word", text))
    return _checked_exclusion(f'-"{text}"', Term("phrase", text))


def exclusion_for_author(handle: str) -> str | None:
    """The exclusion `-author:handle` for an author, or None if the query can't name them."""
    value = handle.strip().lstrip("@").lower()
    try:
        return _checked_exclusion(f"-author:{value}", Term("author", value))
    except WatchError:
        return None


def _checked_exclusion(token: str, expected: Term) -> str:
    """Return `token` if the query language reads it as exactly the one exclusion `expected`."""
    try:
        parsed = parse_query(f"overheard {token}")
    except QueryError as exc:
        raise WatchError(f"That can't be excluded: {exc}") from exc
    if parsed.exclusions != (expected,) or len(parsed.alternatives) != 1:
        raise WatchError("That can't be excluded: it does not read as one word or phrase.")
    return token


def exclude_from_watch(
    watch_id: int,
    exclusions: Sequence[str],
    *,
    actor: str,
    card_id: int,
    session: Session,
    now: datetime,
) -> tuple[Watch, list[str]]:
    """Append exclusions (from `exclusion_for_*`) to a watch's query; return it and those added.

    Changing a watch's query is configuration. Like the card's buttons, it is open to anyone
    in the card's channel; the event on the card records who did it and what changed, and
    admin permissions come with the /overheard administration work. The UPDATE is
    conditional on the query read, so two people excluding at once both keep their change.
    """
    for _attempt in range(EXCLUDE_ATTEMPTS):
        stmt = select(Watch).where(Watch.id == watch_id).execution_options(populate_existing=True)
        watch = session.exec(stmt).first()
        if watch is None:
            raise WatchError("The watch that found this mention was removed.")
        before = watch.query
        current = parse_query(before)
        added = [
            token
            for token in dict.fromkeys(exclusions)
            if parse_query(f"overheard {token}").exclusions[0] not in current.exclusions
        ]
        if not added:
            return watch, []
        after = " ".join([before, *added])
        try:
            changed = parse_query(after)
        except QueryError as exc:
            raise WatchError(f"The watch can't take that exclusion: {exc}") from exc
        if (changed.alternatives, changed.lang) != (current.alternatives, current.lang):
            raise WatchError("That exclusion would change what the watch looks for.")
        result = session.execute(
            update(Watch)
            .where(col(Watch.id) == watch_id)
            .where(col(Watch.query) == before)
            .values(query=after)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            record_event(
                card_id,
                EventKind.WATCH_CHANGED,
                actor,
                session=session,
                now=now,
                detail={"watch_id": watch_id, "before": before, "after": after, "added": added},
            )
            session.refresh(watch)
            return watch, added
    raise WatchError("Someone else was changing this watch at the same moment: try again.")
