"""Every source, through the same checks: shapes, cursors, failures, configuration."""

from __future__ import annotations

import importlib
import json
import pkgutil
import unicodedata
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.sources.base import RateLimited, SourceError
from tests.bot.sources import cases
from tests.bot.sources.contract import ContractCase, Handler

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
CASES: list[ContractCase] = [
    importlib.import_module(f"{cases.__name__}.{info.name}").CASE
    for info in pkgutil.iter_modules(cases.__path__)
]


def run(case: ContractCase, handler: Handler, cursor: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        return case.make_source(client).fetch(case.spec, cursor or {}, now=NOW)


def failing(case: ContractCase, response: httpx.Response) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == case.search_path:
            return response
        return case.handler(request)

    return handler


@pytest.fixture(params=CASES, ids=[c.network for c in CASES])
def case(request: pytest.FixtureRequest) -> ContractCase:
    return request.param  # type: ignore[no-any-return]


def test_every_mention_is_complete_and_normalised(case: ContractCase) -> None:
    result = run(case, case.handler)

    assert result.mentions
    for m in result.mentions:
        assert m.network == case.network
        assert m.external_id.strip()
        assert m.url.startswith(("https://", "http://"))
        assert m.created_at.tzinfo is not None and m.created_at.utcoffset() == timedelta(0)
        assert m.created_at < NOW + timedelta(days=1)
        assert isinstance(m.text, str)
        assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in m.text)
        assert "<p>" not in m.text and "&amp;" not in m.text
        assert m.author.handle is not None
    assert len({m.external_id for m in result.mentions}) == len(result.mentions)


def recording(case: ContractCase, searches: list[tuple[str, bytes]]) -> Handler:
    """The case's handler, noting each search request (URL and body) it answers."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == case.search_path:
            searches.append((str(request.url), request.content))
        return case.handler(request)

    return handler


def test_a_cursor_stored_as_json_resumes_where_the_first_fetch_stopped(
    case: ContractCase,
) -> None:
    first_searches: list[tuple[str, bytes]] = []
    second_searches: list[tuple[str, bytes]] = []
    first = run(case, recording(case, first_searches))
    stored = json.loads(json.dumps(first.cursor))  # what the database gives back

    second = run(case, recording(case, second_searches), stored)

    # The network answers the same again: nothing newer, so the position holds.
    assert second.cursor == first.cursor
    # The stored cursor is really read: the network is asked only for what is newer, or what
    # the first fetch returned is not returned again.
    asked_from_the_cursor = second_searches[0] != first_searches[0]
    repeated = {m.external_id for m in first.mentions} & {m.external_id for m in second.mentions}
    assert asked_from_the_cursor or not repeated


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(429, headers={"Retry-After": "30"}), RateLimited),
        (httpx.Response(500, text="oops"), SourceError),
        (httpx.Response(200, text="<html><body>Bad gateway</body></html>"), SourceError),
        (httpx.Response(200, content=b'{"data": [{"id": "1", "te'), SourceError),
        (httpx.Response(403, text="forbidden"), SourceError),
    ],
    ids=["429", "500", "html", "truncated", "403"],
)
def test_failures_raise_source_errors_never_anything_else(
    case: ContractCase, response: httpx.Response, error: type[Exception]
) -> None:
    with pytest.raises(error):
        run(case, failing(case, response))


def test_a_source_says_which_settings_it_misses(case: ContractCase) -> None:
    with httpx.Client(transport=httpx.MockTransport(case.handler)) as client:
        source = case.make_source(client)

    assert source.name == case.network
    assert source.missing_settings == ()
