"""App Store reviews for the source contract."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.sources.appstore import AppStoreSource
from bot.sources.base import SearchSpec
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "appstore"
APP_ID = "1459523498"
PAGES = {1: "reviews_page1.json", 2: "reviews_page2.json"}


def _page_path(page: int) -> str:
    return f"/us/rss/customerreviews/page={page}/id={APP_ID}/sortby=mostrecent/json"


def _handler(request: httpx.Request) -> httpx.Response:
    for page, name in PAGES.items():
        if request.url.path == _page_path(page):
            return httpx.Response(200, content=(FIXTURES / name).read_bytes())
    if request.url.path.startswith("/us/rss/customerreviews/"):
        return httpx.Response(200, content=(FIXTURES / "reviews_empty.json").read_bytes())
    return httpx.Response(404)


CASE = ContractCase(
    network="appstore",
    spec=SearchSpec(query="acme", options={"app_id": APP_ID, "country": "us"}),
    make_source=lambda client: AppStoreSource(client, sleep=lambda _s: None),
    handler=_handler,
    search_path=_page_path(1),
)
