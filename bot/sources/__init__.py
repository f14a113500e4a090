"""The networks overheard reads, one module each, behind the Source protocol."""

from __future__ import annotations

from datetime import timedelta

import httpx

from bot.config import Settings
from bot.sources.base import Source
from bot.sources.hackernews import HackerNewsSource

NETWORKS = ("hackernews",)


def build_sources(settings: Settings, http: httpx.Client) -> dict[str, Source]:
    """Every configured network's source, keyed by name."""
    return {
        "hackernews": HackerNewsSource(
            http,
            base_url=settings.hackernews_url,
            backfill=timedelta(hours=settings.backfill_hours),
        ),
    }
