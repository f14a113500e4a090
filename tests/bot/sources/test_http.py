"""HttpGetter: the one GET every source uses, its redirects, retries and Link header."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.sources.http import HttpGetter

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def getter() -> Iterator[Callable[..., HttpGetter]]:
    """Build HttpGetters over MockTransports; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, *, follow_redirects: bool = False, **kwargs: Any) -> HttpGetter:
        client = httpx.Client(
            transport=httpx.MockTransport(handler), follow_redirects=follow_redirects
        )
        clients.append(client)
        return HttpGetter("Test", client, **kwargs)

    yield build
    for client in clients:
        client.close()


def test_a_page_carries_the_link_header_as_httpx_parses_it(
    getter: Callable[..., HttpGetter],
) -> None:
    link = (
        '<https://m.example/api/v1/timelines/tag/acme?max_id=7>; rel="next", '
        "<https://m.example/api/v1/timelines/tag/acme?min_id=9>; rel=prev"
    )

    page = getter(lambda _r: httpx.Response(200, headers={"Link": link})).get("https://m.example/")

    assert page.links["prev"]["url"] == "https://m.example/api/v1/timelines/tag/acme?min_id=9"
    assert page.links["next"]["url"].endswith("max_id=7")


def test_a_page_without_a_link_header_has_no_links(getter: Callable[..., HttpGetter]) -> None:
    assert getter(lambda _r: httpx.Response(200)).get("https://m.example/").links == {}
