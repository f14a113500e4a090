"""The networks overheard reads, one module each, behind the Source protocol."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr

from bot.config import Settings
from bot.sources.appstore import AppStoreSource
from bot.sources.base import Source
from bot.sources.bluesky import BlueskySource
from bot.sources.hackernews import HackerNewsSource
from bot.sources.mastodon import MastodonSource
from bot.sources.reddit import RedditSource
from bot.sources.rss import RssSource
from bot.sources.stackexchange import StackExchangeSource
from bot.sources.x import XSource

NETWORKS = (
    "hackernews",
    "mastodon",
    "bluesky",
    "reddit",
    "x",
    "rss",
    "appstore",
    "stackexchange",
)


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_sources(
    settings: Settings,
    http: httpx.Client,
    *,
    feed_http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Source]:
    """Every network's source, keyed by name; unconfigured ones say what they miss.

    `feed_http` fetches URLs users supply (feeds); it must refuse private addresses.
    """
    backfill = timedelta(hours=settings.backfill_hours)
    return {
        "rss": RssSource(
            feed_http or http,
            backfill=backfill,
            allow_private=settings.allow_private_urls,
            sleep=sleep,
            clock=clock,
        ),
        "appstore": AppStoreSource(
            http, base_url=settings.appstore_url, backfill=backfill, sleep=sleep, clock=clock
        ),
        "stackexchange": StackExchangeSource(
            http,
            base_url=settings.stackexchange_url,
            key=_secret(settings.stackexchange_key),
            backfill=backfill,
            sleep=sleep,
            clock=clock,
        ),
        "hackernews": HackerNewsSource(
            http, base_url=settings.hackernews_url, backfill=backfill, sleep=sleep, clock=clock
        ),
        "mastodon": MastodonSource(
            http,
            base_url=settings.mastodon_url,
            access_token=_secret(settings.mastodon_access_token),
            backfill=backfill,
            sleep=sleep,
            clock=clock,
        ),
        "bluesky": BlueskySource(
            http,
            base_url=settings.bluesky_url,
            handle=settings.bluesky_handle,
            app_password=_secret(settings.bluesky_app_password),
            backfill=backfill,
            sleep=sleep,
            clock=clock,
        ),
        "reddit": RedditSource(
            http,
            base_url=settings.reddit_url,
            auth_url=settings.reddit_auth_url,
            client_id=settings.reddit_client_id,
            client_secret=_secret(settings.reddit_client_secret),
            user_agent=settings.reddit_user_agent,
            backfill=backfill,
            sleep=sleep,
            clock=clock,
        ),
        "x": XSource(
            http,
            base_url=settings.x_url,
            bearer_token=_secret(settings.x_bearer_token),
            backfill=backfill,
            sleep=sleep,
            clock=clock,
        ),
    }
