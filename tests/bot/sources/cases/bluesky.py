"""Bluesky (session, searchPosts, getProfiles) for the source contract."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.sources.base import SearchSpec
from bot.sources.bluesky import BlueskySource
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "bluesky"


def _handler(request: httpx.Request) -> httpx.Response:
    method = request.url.path.removeprefix("/xrpc/")
    if method == "com.atproto.server.createSession":
        name = "create_session.json"
    elif method == "app.bsky.feed.searchPosts":
        cursor = request.url.params.get("cursor")
        name = "search_acme_page1.json" if cursor == "3" else "search_acme_page0.json"
    elif method == "app.bsky.actor.getProfiles":
        name = "profiles.json"
    else:
        return httpx.Response(400, content=(FIXTURES / "error_profile_not_found.json").read_bytes())
    return httpx.Response(200, content=(FIXTURES / name).read_bytes())


CASE = ContractCase(
    network="bluesky",
    spec=SearchSpec(query="acme"),
    make_source=lambda client: BlueskySource(
        client,
        handle="overheard-bot.bsky.social",
        app_password="contract-app-password",
        sleep=lambda _s: None,
    ),
    handler=_handler,
    search_path="/xrpc/app.bsky.feed.searchPosts",
)
