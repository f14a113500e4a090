"""The composition root's product: every long-lived collaborator, built once and passed down."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from bot.config import Settings
from bot.services.chat import ChatBackend
from bot.sources.base import Source


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
    # Hold cards to Settings.post_interval_s per channel (Slack's pace); a terminal needs none.
    pace_posts: bool = True
    # Names this process in row leases, so several workers share fetches without overlap.
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # Set when the worker is told to stop: fetches give back their leases between batches.
    stopping: threading.Event = field(default_factory=threading.Event)
