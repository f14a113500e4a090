"""Stack Exchange for the source contract."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx

from bot.sources.base import SearchSpec
from bot.sources.stackexchange import StackExchangeSource
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "stackexchange"
SEARCH_PATH = "/2.3/search/advanced"


def _gzipped(name: str) -> httpx.Response:
    body = gzip.compress((FIXTURES / name).read_bytes())
    return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == SEARCH_PATH:
        page = request.url.params.get("page", "1")
        return _gzipped("search_page1.json" if page == "1" else "search_page2.json")
    if request.url.path.startswith("/2.3/users/"):
        return _gzipped("users_4417023.json")
    return httpx.Response(404)


CASE = ContractCase(
    network="stackexchange",
    spec=SearchSpec(query="acme", options={"site": "stackoverflow"}),
    make_source=lambda client: StackExchangeSource(client, sleep=lambda _s: None),
    handler=_handler,
    search_path=SEARCH_PATH,
)
