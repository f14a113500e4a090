"""`overheard preview`: search the networks now and show the cards a watch would post."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.services.authors import apply_metrics, author_key
from bot.services.chat import CardView
from bot.services.fetching import answers, specs_for
from bot.services.pipeline import build_mention
from bot.services.query import QueryError, parse_query
from bot.services.watches import WatchError, check_options
from bot.sources import REGISTRY, Registry
from bot.sources.base import FetchedMention, Source, SourceError
from bot.store.models import Author, Card, CardState, Watch

PREVIEW_CHANNEL = "CPREVIEW"


@dataclass
class PreviewReport:
    """The cards a watch would post, newest first, and each failing network's error."""

    cards: list[CardView] = field(default_factory=list)
    matched: int = 0  # matching mentions found, shown or not
    errors: dict[str, str] = field(default_factory=dict)


def preview_cards(
    query: str,
    names: list[str],
    sources: Mapping[str, Source],
    *,
    options: Mapping[str, str | None],
    now: datetime,
    allow_private_urls: bool = False,
    limit: int = 20,
    networks: Registry = REGISTRY,
) -> PreviewReport:
    """Fetch each network's recent matches for `query` as unsaved cards; nothing is stored."""
    try:
        parsed = parse_query(query)
    except QueryError as exc:
        raise WatchError(f"bad query: {exc}") from exc
    clean = check_options(names, options, allow_private_urls=allow_private_urls, networks=networks)
    watch = Watch(
        query=query, sources=names, channel_id=PREVIEW_CHANNEL, options=clean, created_at=now
    )
    report = PreviewReport()
    found: list[tuple[Source, FetchedMention]] = []
    for name in names:
        source = sources[name]
        try:
            for spec in specs_for(watch, name, parsed, networks=networks):
                result = source.fetch(spec, {}, now=now)
                found += [(source, m) for m in result.mentions if answers(parsed, m)]
        except SourceError as exc:
            report.errors[name] = str(exc)
    found.sort(key=lambda pair: pair[1].created_at, reverse=True)
    seen: set[tuple[str, str]] = set()
    for source, item in found:
        if (item.network, item.external_id) in seen:
            continue
        seen.add((item.network, item.external_id))
        if len(report.cards) < limit:
            report.cards.append(_card(source, item, len(report.cards) + 1, now=now))
    report.matched = len(seen)
    return report


def _card(source: Source, item: FetchedMention, number: int, *, now: datetime) -> CardView:
    metrics = item.author
    # Without the lookup the card still shows, with what the search said about the author.
    with contextlib.suppress(SourceError):
        metrics = source.fetch_author(item.author.handle) or item.author
    author = Author(
        network=item.network, external_id=author_key(item.author), handle=item.author.handle
    )
    apply_metrics(author, metrics, now=now, fresh=True)
    mention = build_mention(item, author=author, now=now)
    card = Card(
        id=number,
        mention_id=0,
        channel_id=PREVIEW_CHANNEL,
        state=CardState.QUEUED,
        queued_at=now,
    )
    return CardView(card, mention, author)
