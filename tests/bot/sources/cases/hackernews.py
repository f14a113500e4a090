"""Hacker News for the source contract."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.sources.base import SearchSpec
from bot.sources.hackernews import HackerNewsSource
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "hackernews"


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/v1/search_by_date":
        page = request.url.params.get("page", "0")
        name = "search_page0.json" if page == "0" else "search_page1.json"
        return httpx.Response(200, content=(FIXTURES / name).read_bytes())
    if request.url.path.startswith("/api/v1/users/"):
        return httpx.Response(200, content=(FIXTURES / "user_pg.json").read_bytes())
    return httpx.Response(404)


CASE = ContractCase(
    network="hackernews",
    spec=SearchSpec(query="acme"),
    make_source=lambda client: HackerNewsSource(client, sleep=lambda _s: None),
    handler=_handler,
    search_path="/api/v1/search_by_date",
)
