"""X for the source contract."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.sources.base import SearchSpec
from bot.sources.x import SEARCH_PATH, XSource
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "x"


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == SEARCH_PATH:
        token = request.url.params.get("next_token")
        name = "search_page0.json" if token is None else "search_page1.json"
        return httpx.Response(200, content=(FIXTURES / name).read_bytes())
    return httpx.Response(404, json={"title": "Not Found Error", "type": "about:blank"})


CASE = ContractCase(
    network="x",
    spec=SearchSpec(query="acme"),
    make_source=lambda client: XSource(
        client, bearer_token="contract-bearer-token", sleep=lambda _s: None
    ),
    handler=_handler,
    search_path=SEARCH_PATH,
)
