"""The constructor every network's source shares: one HttpGetter, a base URL and a read window."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ClassVar, TypedDict, Unpack

import httpx

from bot.sources.http import MAX_BODY_BYTES, RETRIES, HttpGetter

BACKFILL = timedelta(hours=24)  # how far back a first fetch looks
OVERLAP = timedelta(minutes=10)  # how far behind its cursor a fetch looks, for late indexing
MAX_PAGES = 10


class HttpOptions(TypedDict, total=False):
    """How a source fetches; every key has a default."""

    base_url: str
    backfill: timedelta
    overlap: timedelta
    max_pages: int
    max_body_bytes: int
    retries: int
    sleep: Callable[[float], None]
    clock: Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HttpSource:
    """A source over one network's HTTP API: its getter, base URL, backfill, overlap, page limit."""

    label: ClassVar[str]  # the network's name in messages, e.g. "Hacker News"
    default_base_url: ClassVar[str] = ""

    def __init__(
        self, client: httpx.Client, *, allow_private: bool = False, **options: Unpack[HttpOptions]
    ) -> None:
        unknown = set(options) - set(HttpOptions.__annotations__)
        if unknown:
            raise TypeError(f"unknown source options: {', '.join(sorted(unknown))}")
        max_pages = options.get("max_pages", MAX_PAGES)
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self._clock = options.get("clock", _utcnow)
        self._client = client
        self._http = HttpGetter(
            self.label,
            client,
            max_body_bytes=options.get("max_body_bytes", MAX_BODY_BYTES),
            retries=options.get("retries", RETRIES),
            sleep=options.get("sleep", time.sleep),
            clock=self._clock,
            allow_private=allow_private,
        )
        self._base_url = options.get("base_url", self.default_base_url).rstrip("/")
        self._backfill = options.get("backfill", BACKFILL)
        self._overlap = options.get("overlap", OVERLAP)
        self._max_pages = max_pages
