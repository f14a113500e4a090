"""The networks overheard reads, one module each, collected from their declarations."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from bot.config import Settings
from bot.sources.appstore import APP_STORE
from bot.sources.base import Source
from bot.sources.bluesky import BLUESKY
from bot.sources.hackernews import HACKER_NEWS
from bot.sources.mastodon import MASTODON
from bot.sources.network import Network, Registry, SourceKit
from bot.sources.reddit import REDDIT
from bot.sources.rss import RSS
from bot.sources.sample import SAMPLE
from bot.sources.stackexchange import STACK_EXCHANGE
from bot.sources.x import X

REGISTRY = Registry(
    (HACKER_NEWS, MASTODON, BLUESKY, REDDIT, X, RSS, APP_STORE, STACK_EXCHANGE),
    hidden=(SAMPLE,),
)
NETWORKS = REGISTRY.keys

__all__ = ["NETWORKS", "REGISTRY", "Network", "Registry", "build_sources"]


def build_sources(
    settings: Settings,
    http: httpx.Client,
    *,
    feed_http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    networks: Registry = REGISTRY,
) -> dict[str, Source]:
    """Every network's source, keyed by name; unconfigured ones say what they miss.

    `feed_http` fetches URLs users supply (feeds); it must refuse private addresses.
    """
    kit = SourceKit(settings, http, feed_http or http, sleep=sleep, clock=clock)
    return networks.build_sources(kit)
