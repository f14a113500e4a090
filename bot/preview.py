"""`overheard preview`: search the networks now and show the cards a watch would post."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.cards import build_mention_card, render_card_text
from bot.fetching import answers, specs_for
from bot.models import Author, Conversation, ConversationState, Watch
from bot.pipeline import apply_metrics, build_mention
from bot.query import QueryError, parse_query
from bot.sources.base import FetchedMention, Source, SourceError
from bot.watches import WatchError, check_options

PREVIEW_CHANNEL = "CPREVIEW"


@dataclass
class PreviewReport:
    """The rendered cards, and each network's error if it failed."""

    lines: list[str] = field(default_factory=list)
    cards: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def preview_cards(
    query: str,
    networks: list[str],
    sources: Mapping[str, Source],
    *,
    options: dict[str, str | None],
    now: datetime,
    allow_private_urls: bool = False,
    limit: int = 20,
) -> PreviewReport:
    """Fetch each network's recent matches for `query` and render them; nothing is stored."""
    try:
        parsed = parse_query(query)
    except QueryError as exc:
        raise WatchError(f"bad query: {exc}") from exc
    clean = check_options(
        networks, {k: v for k, v in options.items() if v}, allow_private_urls=allow_private_urls
    )
    watch = Watch(
        query=query, sources=networks, channel_id=PREVIEW_CHANNEL, options=clean, created_at=now
    )
    report = PreviewReport()
    found: list[tuple[Source, FetchedMention]] = []
    for name in networks:
        source = sources[name]
        try:
            for spec in specs_for(watch, name, parsed):
                result = source.fetch(spec, {}, now=now)
                found += [(source, m) for m in result.mentions if answers(parsed, m)]
        except SourceError as exc:
            report.errors[name] = str(exc)
    found.sort(key=lambda pair: pair[1].created_at, reverse=True)
    seen: set[tuple[str, str]] = set()
    for source, item in found:
        if report.cards >= limit or (item.network, item.external_id) in seen:
            continue
        seen.add((item.network, item.external_id))
        report.cards += 1
        report.lines += [
            "",
            f"── {report.cards} " + "─" * 50,
            _render(source, item, report.cards, now=now),
        ]
    report.lines.append(
        f"\n{report.cards} of {len(seen) if report.cards < limit else 'more'} "
        f"matching mentions shown; nothing was stored or posted."
    )
    return report


def _render(source: Source, item: FetchedMention, number: int, *, now: datetime) -> str:
    metrics = item.author
    # Without the lookup the card still shows, with what the search said about the author.
    with contextlib.suppress(SourceError):
        metrics = source.fetch_author(item.author.handle) or item.author
    author = Author(network=item.network, external_id=item.author.handle, handle=item.author.handle)
    apply_metrics(author, metrics, now=now, fresh=True)
    mention = build_mention(item, author=author, now=now)
    conversation = Conversation(
        id=number,
        mention_id=0,
        channel_id=PREVIEW_CHANNEL,
        state=ConversationState.QUEUED,
        queued_at=now,
    )
    card = build_mention_card(mention, author, conversation, now=now)
    lines = render_card_text(card).splitlines()
    return "\n".join(line for line in lines if not line.startswith("[Claim]"))
