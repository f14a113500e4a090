"""RSS / Atom (a Google Alert) for the source contract."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.sources.base import SearchSpec
from bot.sources.rss import RssSource
from tests.bot.sources.contract import ContractCase

FIXTURES = Path(__file__).parents[3] / "fixtures" / "rss"
FEED_PATH = "/alerts/feeds/05718299374511629304/1440338734815183551"


def _handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == FEED_PATH:
        return httpx.Response(200, content=(FIXTURES / "google_alerts.xml").read_bytes())
    return httpx.Response(404)


CASE = ContractCase(
    network="rss",
    spec=SearchSpec(query="acme", options={"feed_url": f"https://www.google.com{FEED_PATH}"}),
    # No DNS in tests: the address check is exercised in test_rss.py with numeric hosts.
    make_source=lambda client: RssSource(client, sleep=lambda _s: None, allow_private=True),
    handler=_handler,
    search_path=FEED_PATH,
)
