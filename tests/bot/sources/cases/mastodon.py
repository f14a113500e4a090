"""Mastodon (full-text search and a hashtag timeline) for the source contract."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.sources.base import SearchSpec
from bot.sources.mastodon import MastodonSource
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "mastodon"
NEWEST_TAG_ID = 115898980761604914  # the newest status in tag_acme.json


def _handler(request: httpx.Request) -> httpx.Response:
    params = request.url.params
    if request.url.path == "/api/v2/search":
        name = "search_empty.json" if "offset" in params else "search_acme.json"
        return httpx.Response(200, content=(FIXTURES / name).read_bytes())
    if request.url.path == "/api/v1/timelines/tag/acme":
        if int(params.get("min_id", "0")) >= NEWEST_TAG_ID:
            return httpx.Response(200, json=[])
        return httpx.Response(200, content=(FIXTURES / "tag_acme.json").read_bytes())
    return httpx.Response(404, content=(FIXTURES / "error_record_not_found.json").read_bytes())


CASE = ContractCase(
    network="mastodon",
    spec=SearchSpec(query="acme", hashtags=("acme",)),
    make_source=lambda client: MastodonSource(
        client, access_token="contract-token", sleep=lambda _s: None
    ),
    handler=_handler,
    search_path="/api/v2/search",
)
