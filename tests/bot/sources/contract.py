"""What every source promises, as data each network's test module fills in (see cases/)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.sources.base import SearchSpec, Source

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True)
class ContractCase:
    """One network's recorded answers and how to build its source over a given client."""

    network: str
    spec: SearchSpec
    # Build the source over this client (a MockTransport); credentials filled in, no sleeping.
    make_source: Callable[[httpx.Client], Source]
    # Serves recorded responses for a first fetch that yields at least one mention.
    handler: Handler
    # The path of the request that returns mentions, where failures are injected.
    search_path: str
