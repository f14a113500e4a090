"""Reddit for the source contract."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.sources.base import SearchSpec
from bot.sources.reddit import RedditSource
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "reddit"


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/api/v1/access_token":
        return httpx.Response(200, content=(FIXTURES / "access_token.json").read_bytes())
    if request.url.path == "/search":
        after = request.url.params.get("after")
        name = "search_page0.json" if after is None else "search_page1.json"
        return httpx.Response(200, content=(FIXTURES / name).read_bytes())
    if request.url.path == "/r/all/comments":
        after = request.url.params.get("after")
        name = "comments_page0.json" if after is None else "comments_page1.json"
        return httpx.Response(200, content=(FIXTURES / name).read_bytes())
    if request.url.path.startswith("/user/"):
        return httpx.Response(200, content=(FIXTURES / "user_about.json").read_bytes())
    return httpx.Response(404)


CASE = ContractCase(
    network="reddit",
    spec=SearchSpec(query="acme"),
    make_source=lambda client: RedditSource(
        client,
        client_id="contract-client-id",
        client_secret="contract-client-secret",
        user_agent="python:overheard-tests:0.1 (contract)",
        sleep=lambda _s: None,
    ),
    handler=_handler,
    search_path="/search",
)
