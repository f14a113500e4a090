"""The composition root's product: every long-lived collaborator, built once and passed down."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine

from bot.chat import ChatBackend
from bot.config import Settings
from bot.netsafe import guarded_transport
from bot.sources.base import Source

HTTP_TIMEOUT_S = 20.0
USER_AGENT = "overheard/0.1 (brand-mention monitor; +https://github.com/overheard)"


def utcnow() -> datetime:
    """The current time, tz-aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    """What services need from the outside world; tests build one with fakes."""

    settings: Settings
    engine: Engine
    chat: ChatBackend
    sources: Mapping[str, Source]
    clock: Callable[[], datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    # Names this process in row leases, so several workers share fetches without overlap.
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")


def make_http_client(*, guarded: bool = False) -> httpx.Client:
    """An HTTP client for the networks: timeouts, a descriptive User-Agent, no auto-redirects.

    `guarded` clients connect only to public addresses, for URLs users give us (feeds).
    """
    return httpx.Client(
        timeout=httpx.Timeout(HTTP_TIMEOUT_S),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        transport=guarded_transport() if guarded else None,
    )
