"""Hacker News source: parsing recorded Algolia answers and fetching through a mock transport."""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError
from bot.sources.hackernews import HackerNewsSource, parse_author, parse_mentions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hackernews"
SPEC = SearchSpec(query="acme")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
NOW_I = 1768478400  # NOW as epoch seconds
NEWEST_I = 1768477800  # created_at_i of the newest hit in the fixtures (comment 46621907)

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded body from tests/fixtures/hackernews."""
    return (FIXTURES / name).read_bytes()


def by_id(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


class FakeAlgolia:
    """Serves recorded pages by the `page` param and remembers every request it saw."""

    def __init__(self, pages: list[bytes], user: bytes | None = None) -> None:
        self.pages = pages
        self.user = user
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/v1/search_by_date":
            return httpx.Response(200, content=self.pages[int(request.url.params["page"])])
        if request.url.path.startswith("/api/v1/users/") and self.user is not None:
            return httpx.Response(200, content=self.user)
        return httpx.Response(404, json={"status": 404, "error": "Not Found"})

    def params(self) -> list[dict[str, str]]:
        """Return the query params of every request, in order."""
        return [dict(r.url.params) for r in self.requests]


@pytest.fixture
def make_source() -> Iterator[Callable[..., HackerNewsSource]]:
    """Build a HackerNewsSource over a MockTransport; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> HackerNewsSource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("sleep", lambda _s: None)
        return HackerNewsSource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


def two_pages() -> FakeAlgolia:
    return FakeAlgolia([fixture_bytes("search_page0.json"), fixture_bytes("search_page1.json")])


# --- parsing -------------------------------------------------------------------------------


def test_parse_mentions_maps_a_comment_with_its_story_title_as_context() -> None:
    comment = by_id(parse_mentions(fixture_bytes("search_page0.json")))["46621907"]

    assert comment.network == "hackernews"
    assert comment.url == "https://news.ycombinator.com/item?id=46621907"
    assert comment.title is None  # a comment has no title of its own
    assert comment.conversation_title == "Acme raises $40M to build open-source observability"
    assert comment.link_url == "https://www.acme.dev/blog/series-b"  # what its story links to
    assert comment.author.handle == "fernwood"
    assert comment.author.url == "https://news.ycombinator.com/user?id=fernwood"
    assert comment.parent_id == "46618752"
    assert comment.conversation_id == "46618752"
    assert comment.likes is None  # comments carry no points
    assert comment.replies is None
    assert comment.lang is None


def test_parse_mentions_gives_tz_aware_utc_times_from_created_at_i() -> None:
    comment = by_id(parse_mentions(fixture_bytes("search_page0.json")))["46621907"]

    assert comment.created_at == datetime(2026, 1, 15, 11, 50, tzinfo=UTC)
    assert comment.created_at.utcoffset() == timedelta(0)


def test_parse_mentions_strips_html_and_decodes_entities_keeping_paragraphs() -> None:
    mentions = by_id(parse_mentions(fixture_bytes("search_page0.json")))

    assert mentions["46621907"].text == (
        "We moved off Acme last year. Support was fine, but the pricing page changed three "
        "times in a month & nobody could tell us why.\n"
        "Their own changelog still links the old tiers: https://www.acme.dev/pricing"
    )
    assert mentions["46621102"].text == (
        'We run Acme Queue at ~2k msgs/s. The "exactly once" mode is slower than you\'d '
        "expect, so we use at-least-once plus an idempotency key."
    )
    for mention in mentions.values():
        assert "<" not in mention.text
        assert "&#x" not in mention.text
        assert "&quot;" not in mention.text


def test_parse_mentions_maps_a_text_story_to_its_own_conversation() -> None:
    story = by_id(parse_mentions(fixture_bytes("search_page0.json")))["46620310"]

    assert story.title == "Ask HN: Is anyone running Acme Queue in production?"
    assert story.text == (
        "I'm evaluating Acme Queue for a payments pipeline.\n"
        'Would love to hear "war stories" from anyone running it past 1k msgs/s.'
    )
    assert story.likes == 14
    assert story.replies == 9
    assert story.parent_id is None
    assert story.conversation_id == "46620310"
    assert story.link_url is None  # an Ask HN links nowhere


def test_parse_mentions_uses_title_and_link_as_text_of_a_link_story() -> None:
    story = by_id(parse_mentions(fixture_bytes("search_page0.json")))["46618752"]

    assert story.title == "Acme raises $40M to build open-source observability"
    assert story.text == (
        "Acme raises $40M to build open-source observability\nhttps://www.acme.dev/blog/series-b"
    )
    assert story.likes == 212
    assert story.replies == 131
    assert story.link_url == "https://www.acme.dev/blog/series-b"
    assert story.conversation_title == story.title


def test_parse_mentions_skips_a_hit_without_object_id_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.hackernews"):
        mentions = parse_mentions(fixture_bytes("search_page1.json"))

    assert [m.external_id for m in mentions] == ["46618752", "46615530"]
    assert any("objectID" in r.getMessage() for r in caplog.records)


def test_parse_mentions_skips_a_hit_without_any_time_and_logs_its_object_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = json.dumps(
        {"hits": [{"objectID": "1", "author": "a", "_tags": ["story"], "title": "t"}]}
    ).encode()

    with caplog.at_level(logging.WARNING, logger="bot.sources.hackernews"):
        assert parse_mentions(body) == []
    assert any("1" in r.getMessage() for r in caplog.records)


def test_parse_mentions_falls_back_to_the_iso_created_at() -> None:
    body = json.dumps(
        {
            "hits": [
                {
                    "objectID": "7",
                    "created_at": "2026-01-15T09:30:00.000Z",
                    "author": "a",
                    "_tags": ["story"],
                    "title": "Acme",
                }
            ]
        }
    ).encode()

    (mention,) = parse_mentions(body)

    assert mention.created_at == datetime(2026, 1, 15, 9, 30, tzinfo=UTC)


def test_parse_mentions_of_an_empty_answer_is_empty() -> None:
    assert parse_mentions(fixture_bytes("search_empty.json")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "HTML"),
        (b'{"hits": [{"objectID": "1", "crea', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
        (b"[1, 2]", "not an object"),
        (b"null", "not an object"),
        (b'{"message": "Invalid query"}', "hits"),
        (b'{"hits": {"0": {}}}', "hits"),
    ],
)
def test_parse_mentions_rejects_a_malformed_body_with_source_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body)


def test_parse_mentions_rejects_the_recorded_page_cut_short() -> None:
    body = fixture_bytes("search_page0.json")

    with pytest.raises(SourceError):
        parse_mentions(body[: len(body) // 2])


def test_parse_author_reads_karma_and_profile_url() -> None:
    author = parse_author(fixture_bytes("user_pg.json"))

    assert author is not None
    assert author.handle == "pg"
    assert author.karma == 157316
    assert author.url == "https://news.ycombinator.com/user?id=pg"
    assert author.created_at is None


def test_parse_author_reads_created_at_i_when_present() -> None:
    author = parse_author(b'{"username": "acme_fan", "karma": 12, "created_at_i": 1700000000}')

    assert author is not None
    assert author.created_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_parse_author_without_username_is_none() -> None:
    assert parse_author(b'{"karma": 3}') is None


def test_parse_author_rejects_an_html_page() -> None:
    with pytest.raises(SourceError, match="HTML"):
        parse_author(fixture_bytes("error_page.html"))


# --- fetching ------------------------------------------------------------------------------


def test_source_satisfies_the_source_protocol(make_source: Callable[..., HackerNewsSource]) -> None:
    source: Source = make_source(two_pages())

    assert source.name == "hackernews"


def test_fetch_pages_until_nb_pages_with_the_same_filters_on_each_request(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    algolia = two_pages()

    make_source(algolia).fetch(SPEC, {}, now=NOW)

    assert [r.url.path for r in algolia.requests] == ["/api/v1/search_by_date"] * 2
    assert algolia.params() == [
        {
            "query": "acme",
            "tags": "(story,comment)",
            "numericFilters": f"created_at_i>{NOW_I - 24 * 3600}",
            "hitsPerPage": "100",
            "page": str(page),
            "typoTolerance": "false",
        }
        for page in (0, 1)
    ]


def test_first_fetch_looks_back_the_backfill_window(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    algolia = FakeAlgolia([fixture_bytes("search_empty.json")])

    make_source(algolia, backfill=timedelta(hours=6)).fetch(SPEC, {}, now=NOW)

    assert algolia.params()[0]["numericFilters"] == f"created_at_i>{NOW_I - 6 * 3600}"


def test_later_fetch_starts_from_the_cursor_minus_the_overlap(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    algolia = FakeAlgolia([fixture_bytes("search_empty.json")])

    make_source(algolia).fetch(SPEC, {"created_at_i": 1768470000}, now=NOW)

    assert algolia.params()[0]["numericFilters"] == f"created_at_i>{1768470000 - 600}"


def test_fetch_collapses_duplicates_across_pages_and_skips_broken_hits(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    result = make_source(two_pages()).fetch(SPEC, {}, now=NOW)

    ids = [m.external_id for m in result.mentions]
    assert sorted(ids) == ["46615530", "46618752", "46620310", "46621102", "46621907"]
    assert len(ids) == len(set(ids))


def test_fetch_returns_mentions_oldest_first(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    result = make_source(two_pages()).fetch(SPEC, {}, now=NOW)

    times = [m.created_at for m in result.mentions]
    assert times == sorted(times)


def test_fetch_moves_the_cursor_to_the_newest_item_seen(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    result = make_source(two_pages()).fetch(SPEC, {"created_at_i": 1768400000}, now=NOW)

    assert result.cursor == {"created_at_i": NEWEST_I}


def test_fetch_never_moves_the_cursor_backwards(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    # Everything returned is inside the overlap window, older than the stored cursor.
    ahead = NEWEST_I + 60
    result = make_source(two_pages()).fetch(SPEC, {"created_at_i": ahead}, now=NOW)

    assert result.cursor == {"created_at_i": ahead}


def test_fetch_keeps_the_cursor_when_nothing_is_new(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    algolia = FakeAlgolia([fixture_bytes("search_empty.json")])
    source = make_source(algolia)

    assert source.fetch(SPEC, {"created_at_i": 1768470000}, now=NOW).cursor == {
        "created_at_i": 1768470000
    }
    assert source.fetch(SPEC, {}, now=NOW).cursor == {}
    assert len(algolia.requests) == 2  # no paging past an empty answer


def test_fetch_stops_at_max_pages_and_logs_that_it_did(
    make_source: Callable[..., HackerNewsSource], caplog: pytest.LogCaptureFixture
) -> None:
    page = json.loads(fixture_bytes("search_page0.json"))
    page["nbPages"] = 50
    algolia = FakeAlgolia([json.dumps(page).encode()] * 50)

    with caplog.at_level(logging.WARNING, logger="bot.sources.hackernews"):
        make_source(algolia, max_pages=3).fetch(SPEC, {}, now=NOW)

    assert [p["page"] for p in algolia.params()] == ["0", "1", "2"]
    assert any("max_pages" in r.getMessage() for r in caplog.records)


def test_fetch_stops_at_an_empty_page_even_when_nb_pages_promises_more(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    empty = json.loads(fixture_bytes("search_empty.json"))
    empty["nbPages"] = 5
    algolia = FakeAlgolia([json.dumps(empty).encode()] * 5)

    make_source(algolia).fetch(SPEC, {}, now=NOW)

    assert len(algolia.requests) == 1


def test_fetch_rejects_a_malformed_cursor(make_source: Callable[..., HackerNewsSource]) -> None:
    with pytest.raises(ValueError, match="created_at_i"):
        make_source(two_pages()).fetch(SPEC, {"created_at_i": "soon"}, now=NOW)


# --- I/O failures --------------------------------------------------------------------------


def answer(response: httpx.Response) -> Handler:
    """Return a handler that always gives `response`."""
    return lambda request: response


def test_429_with_retry_after_raises_rate_limited_with_that_delay(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    source = make_source(answer(httpx.Response(429, headers={"Retry-After": "120"})))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 120


def test_429_with_an_unreadable_retry_after_waits_60_seconds(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    source = make_source(answer(httpx.Response(429, headers={"Retry-After": "soon"})))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 60


def test_429_with_an_http_date_waits_until_that_moment(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=300)
    headers = {"Retry-After": email.utils.format_datetime(when, usegmt=True)}
    source = make_source(answer(httpx.Response(429, headers=headers)))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert 290 <= caught.value.retry_after_s <= 300


def test_500_raises_source_error_naming_the_status(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    source = make_source(answer(httpx.Response(500, text="Internal Server Error")))

    with pytest.raises(SourceError, match="500") as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert not isinstance(caught.value, RateLimited)


def test_an_error_on_a_later_page_fails_the_whole_fetch(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] == "0":
            return httpx.Response(200, content=fixture_bytes("search_page0.json"))
        return httpx.Response(503, text="Service Unavailable")

    with pytest.raises(SourceError, match="503"):
        make_source(handler).fetch(SPEC, {}, now=NOW)


def test_html_error_page_served_with_200_raises_source_error(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    page = fixture_bytes("error_page.html")
    source = make_source(answer(httpx.Response(200, content=page)))

    with pytest.raises(SourceError, match="HTML"):
        source.fetch(SPEC, {}, now=NOW)


def test_truncated_json_raises_source_error(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    cut = fixture_bytes("search_page0.json")[:700]
    source = make_source(answer(httpx.Response(200, content=cut)))

    with pytest.raises(SourceError, match="not valid JSON"):
        source.fetch(SPEC, {}, now=NOW)


def test_body_declared_over_the_cap_raises_source_error_before_reading_it(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    read: list[bytes] = []

    def body() -> Iterator[bytes]:
        read.append(b"chunk")
        yield fixture_bytes("search_page0.json")

    response = httpx.Response(200, headers={"Content-Length": "6000000"}, content=body())
    source = make_source(answer(response), max_body_bytes=5_000_000)

    with pytest.raises(SourceError, match="6000000 bytes"):
        source.fetch(SPEC, {}, now=NOW)

    assert read == []


def test_streamed_body_over_the_cap_stops_reading_and_raises_source_error(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for n in range(1000):
            sent.append(n)
            yield b'{"hits": [' + b" " * 1000

    source = make_source(answer(httpx.Response(200, content=endless())), max_body_bytes=10_000)

    with pytest.raises(SourceError, match="cap"):
        source.fetch(SPEC, {}, now=NOW)

    assert len(sent) < 20  # stopped soon after the cap, not after 1 MB


def test_transport_timeout_raises_source_error(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SourceError, match="timed out on https://hn") as caught:
        make_source(handler).fetch(SPEC, {}, now=NOW)

    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_connection_failure_raises_source_error(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(SourceError, match="connection refused"):
        make_source(handler).fetch(SPEC, {}, now=NOW)


# --- authors -------------------------------------------------------------------------------


def test_fetch_author_returns_karma(make_source: Callable[..., HackerNewsSource]) -> None:
    algolia = FakeAlgolia([], user=fixture_bytes("user_pg.json"))

    author = make_source(algolia).fetch_author("pg")

    assert author is not None
    assert author.karma == 157316
    assert [r.url.path for r in algolia.requests] == ["/api/v1/users/pg"]


def test_fetch_author_of_an_unknown_user_is_none(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    assert make_source(FakeAlgolia([])).fetch_author("nobody_here") is None


def test_fetch_author_quotes_the_handle_as_one_path_segment(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    algolia = FakeAlgolia([])

    make_source(algolia).fetch_author("../search?x=1")

    assert algolia.requests[0].url.raw_path == b"/api/v1/users/..%2Fsearch%3Fx%3D1"


def test_fetch_author_on_a_server_error_raises_source_error(
    make_source: Callable[..., HackerNewsSource],
) -> None:
    source = make_source(answer(httpx.Response(502, text="Bad Gateway")))

    with pytest.raises(SourceError, match="502"):
        source.fetch_author("pg")
