"""Sample mentions bundled with the package, so the console demo runs with no network at all."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from bot.sources.base import FetchedAuthor, FetchedMention, FetchResult, SearchSpec, Source
from bot.sources.network import Network, SourceKit

NETWORK = "sample"


def load_samples(*, now: datetime) -> list[FetchedMention]:
    """The bundled sample mentions, timed relative to `now`."""
    raw = json.loads(resources.files("bot").joinpath("samples/mentions.json").read_text("utf-8"))
    return [_mention(item, now=now) for item in raw]


def _mention(item: dict[str, Any], *, now: datetime) -> FetchedMention:
    author = item["author"]
    return FetchedMention(
        network=item["network"],
        external_id=item["id"],
        url=f"https://example.com/overheard-sample/{item['id']}",
        text=item["text"],
        title=item.get("title"),
        created_at=now - timedelta(minutes=item["minutes_ago"]),
        author=FetchedAuthor(
            handle=author["handle"],
            display_name=author.get("display_name"),
            url=author.get("url"),
            followers=author.get("followers"),
            karma=author.get("karma"),
        ),
        likes=item.get("likes"),
        reposts=item.get("reposts"),
        replies=item.get("replies"),
    )


def _build(kit: SourceKit) -> Source:
    return SampleSource()


# The console demo's network: never offered to users, so kept out of bot.sources.NETWORKS.
SAMPLE = Network(key=NETWORK, name="Sample", build=_build)


class SampleSource:
    """A source that hands out the bundled samples once, then nothing new."""

    name = NETWORK
    missing_settings: tuple[str, ...] = ()

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return every sample on the first fetch and none afterwards."""
        if cursor.get("served"):
            return FetchResult(mentions=[], cursor=cursor)
        mentions = load_samples(now=now)
        return FetchResult(
            mentions=mentions,
            cursor={"served": True},
            authors={m.author.handle: m.author for m in mentions},
        )

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Samples carry their authors' metrics already."""
        return None
