"""X source: parsing recorded-shape recent-search answers and fetching through a mock transport."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError
from bot.sources.x import XSource, build_query, parse_authors, parse_mentions, snowflake_time

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "x"
SPEC = SearchSpec(query="acme")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
BEARER = "AAAAAAAAAAAAAAAAAAAAAInventedBearerTokenForTests%3Dxyz"
SEARCH_URL = "https://api.x.com/2/tweets/search/recent"
TOKEN1 = "b26v89c19zqg8o3frr3wy4ot6kfmw2tqmn1qpbmrwn3y5"  # next_token of page 0
REPLY = "2011769130977436339"  # newest post in the fixtures, 11:55:12
LONG = "2011765569069694977"  # a long post (note_tweet), 11:41:03
NO_TIME = "2011760471648039153"  # a post without created_at, 11:20:47.800
QUOTE = "2011725670249599799"
OLDEST = "2011440666244039234"
STALE = "2008825936081846277"  # minted 2026-01-07T09:00Z, outside the 7-day window

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded-shape body from tests/fixtures/x."""
    return (FIXTURES / name).read_bytes()


def by_id(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


class FakeX:
    """Serves search pages by `next_token` and remembers every request it saw."""

    def __init__(
        self, pages: dict[str | None, bytes] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        self.pages = pages if pages is not None else two_pages()
        self.headers = headers or {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path != "/2/tweets/search/recent":
            return httpx.Response(404, json={"title": "Not Found Error", "type": "about:blank"})
        body = self.pages[request.url.params.get("next_token")]
        return httpx.Response(200, content=body, headers=self.headers)

    def params(self) -> list[dict[str, str]]:
        """Return the query params of every request, in order."""
        return [dict(r.url.params) for r in self.requests]


def two_pages() -> dict[str | None, bytes]:
    return {None: fixture_bytes("search_page0.json"), TOKEN1: fixture_bytes("search_page1.json")}


def empty() -> FakeX:
    return FakeX({None: fixture_bytes("search_empty.json")})


def answer(response: httpx.Response) -> Handler:
    """Return a handler that always gives `response`."""
    return lambda request: response


@pytest.fixture
def make_source() -> Iterator[Callable[..., XSource]]:
    """Build a configured XSource over a MockTransport; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> XSource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("bearer_token", BEARER)
        kwargs.setdefault("sleep", lambda _s: None)
        return XSource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


# --- parsing -------------------------------------------------------------------------------


def test_parse_mentions_maps_a_reply_with_its_author_joined_from_includes() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[REPLY]

    assert post.network == "x"
    assert post.url == f"https://x.com/ops_maren/status/{REPLY}"
    assert post.created_at == datetime(2026, 1, 15, 11, 55, 12, tzinfo=UTC)
    assert post.lang == "en"
    assert post.parent_id == "2011767820907446273"
    assert post.conversation_id == "2011767820907446273"
    assert (post.likes, post.reposts, post.replies) == (3, 0, 1)
    assert post.title is None
    author = post.author
    assert author.handle == "ops_maren"
    assert author.display_name == "Maren 🛠️ on-call"
    assert author.url == "https://x.com/ops_maren"
    assert (author.followers, author.following, author.posts) == (2318, 611, 14502)
    assert author.created_at == datetime(2021, 11, 5, 19, 22, 41, tzinfo=UTC)
    assert author.verified is False


def test_parse_mentions_decodes_the_entities_x_puts_in_post_text() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[REPLY]

    assert post.text == (
        "@acme_support still seeing dropped messages after the 3.2 upgrade & the status page "
        "says all green <3 https://t.co/Qm8xZp2LkV"
    )


def test_parse_mentions_reads_the_full_text_of_a_long_post() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[LONG]

    assert post.text.startswith("Wir haben Acme Queue jetzt seit drei Monaten in Produktion.")
    assert post.text.endswith("die Preisseite hat sich zweimal geändert.")
    assert "– Support antwortet schnell & kompetent\n" in post.text
    assert post.lang == "de"
    assert post.author.verified is True  # verified_type "blue"
    assert post.parent_id is None
    assert post.conversation_id == LONG


def test_parse_mentions_derives_a_missing_created_at_from_the_snowflake_id() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[NO_TIME]

    assert post.created_at == datetime(2026, 1, 15, 11, 20, 47, 800_000, tzinfo=UTC)


def test_parse_mentions_drops_the_undetermined_language_code() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[NO_TIME]

    assert post.lang is None
    assert post.text == "🚀🚀🚀 @acme https://t.co/ZZt0pQ9vXa"
    assert post.author.display_name is None  # an empty name


def test_parse_mentions_skips_a_post_without_an_id_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.x"):
        mentions = parse_mentions(fixture_bytes("search_page0.json"))

    assert [m.external_id for m in mentions] == [REPLY, LONG, NO_TIME]
    assert any("without a numeric id" in r.getMessage() for r in caplog.records)


def test_parse_mentions_keeps_posts_beside_partial_errors_and_logs_the_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.x"):
        (post,) = parse_mentions(fixture_bytes("search_partial_errors.json"))

    assert post.external_id == "2011743913374716177"
    assert post.text == "Acme’s dashboard is down for anyone else?"
    # Its author could not be shown: no handle, and the handle-free web URL.
    assert post.author.handle == ""
    assert post.url == "https://x.com/i/web/status/2011743913374716177"
    assert any("Could not find user" in r.getMessage() for r in caplog.records)


def test_parse_mentions_maps_a_quote_without_a_parent() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page1.json")))[QUOTE]

    assert post.parent_id is None
    assert post.conversation_id == QUOTE


def test_parse_mentions_of_no_matches_is_empty() -> None:
    assert parse_mentions(fixture_bytes("search_empty.json")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><head><title>Over capacity</title></head></html>", "HTML"),
        (b'{"data": [{"id": "1", "te', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[]", "not an object"),
        (b'{"data": {"id": "1"}, "meta": {}}', "not a list"),
        (fixture_bytes("unauthorized.json"), "neither 'data' nor 'meta': Unauthorized"),
    ],
)
def test_parse_mentions_rejects_a_malformed_body_with_source_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body)


def test_parse_authors_reads_includes_users() -> None:
    authors = {a.handle: a for a in parse_authors(fixture_bytes("search_page1.json"))}

    assert set(authors) == {"ops_maren", "acme_support"}
    support = authors["acme_support"]
    assert support.display_name == "Acme Support"
    assert support.followers == 183004
    assert support.verified is True  # verified_type "business"
    assert support.created_at == datetime(2013, 12, 14, 4, 35, 55, tzinfo=UTC)


def test_parse_authors_of_a_body_without_includes_is_empty() -> None:
    assert parse_authors(fixture_bytes("search_empty.json")) == []
    assert parse_authors(b'{"includes": {"users": [{"id": "1"}, "junk"]}}') == []


def test_snowflake_time_reads_the_milliseconds_in_an_id() -> None:
    assert snowflake_time(int(STALE)) == datetime(2026, 1, 7, 9, 0, tzinfo=UTC)


# --- the query -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "query"),
    [
        (SearchSpec(query="acme"), "acme -is:retweet"),
        (SearchSpec(query="acme", lang="de"), "acme -is:retweet lang:de"),
        (SearchSpec(query='"acme queue" -is:retweet'), '"acme queue" -is:retweet'),
        (SearchSpec(query="acme lang:en", lang="de"), "acme lang:en -is:retweet"),
        (SearchSpec(query="acme OR @acmehq", lang="en"), "(acme OR @acmehq) -is:retweet lang:en"),
    ],
)
def test_build_query_leaves_out_retweets_and_adds_the_language_once(
    spec: SearchSpec, query: str
) -> None:
    assert build_query(spec) == query


# --- configuration -------------------------------------------------------------------------


def test_source_satisfies_the_source_protocol(make_source: Callable[..., XSource]) -> None:
    source: Source = make_source(FakeX())

    assert source.name == "x"
    assert source.missing_settings == ()


@pytest.mark.parametrize("token", [None, ""])
def test_a_source_without_a_bearer_token_says_so_and_refuses_to_fetch(
    make_source: Callable[..., XSource], token: str | None
) -> None:
    x = FakeX()
    source = make_source(x, bearer_token=token)

    assert source.missing_settings == ("X_BEARER_TOKEN",)
    with pytest.raises(SourceError, match="not configured: set X_BEARER_TOKEN"):
        source.fetch(SPEC, {}, now=NOW)
    assert x.requests == []


def test_every_request_carries_the_bearer_token(make_source: Callable[..., XSource]) -> None:
    x = FakeX()

    make_source(x).fetch(SPEC, {}, now=NOW)

    assert [r.headers["authorization"] for r in x.requests] == [f"Bearer {BEARER}"] * 2


def test_fetch_author_is_none_without_a_request(make_source: Callable[..., XSource]) -> None:
    x = FakeX()

    assert make_source(x).fetch_author("ops_maren") is None
    assert x.requests == []


# --- paging and the cursor -----------------------------------------------------------------


def test_first_fetch_backfills_from_start_time_and_drains_next_token(
    make_source: Callable[..., XSource],
) -> None:
    x = FakeX()

    make_source(x).fetch(SPEC, {}, now=NOW)

    first = {
        "query": "acme -is:retweet",
        "max_results": "100",
        "start_time": "2026-01-14T12:00:00Z",
        "expansions": "author_id",
        "tweet.fields": (
            "created_at,lang,public_metrics,conversation_id,referenced_tweets,author_id,note_tweet"
        ),
        "user.fields": "username,name,created_at,public_metrics,verified,verified_type",
    }
    assert [str(r.url).split("?")[0] for r in x.requests] == [SEARCH_URL] * 2
    assert x.params() == [first, {**first, "next_token": TOKEN1}]


def test_a_backfill_beyond_seven_days_is_clamped_to_the_search_window(
    make_source: Callable[..., XSource],
) -> None:
    x = empty()

    make_source(x, backfill=timedelta(days=30)).fetch(SPEC, {}, now=NOW)

    assert x.params()[0]["start_time"] == "2026-01-08T12:05:00Z"


def test_later_fetch_asks_for_posts_after_since_id_only(
    make_source: Callable[..., XSource],
) -> None:
    x = empty()

    make_source(x).fetch(SPEC, {"since_id": QUOTE}, now=NOW)

    (params,) = x.params()
    assert params["since_id"] == QUOTE
    assert "start_time" not in params


def test_a_cursor_older_than_the_search_window_reads_the_whole_window(
    make_source: Callable[..., XSource], caplog: pytest.LogCaptureFixture
) -> None:
    x = empty()

    with caplog.at_level(logging.WARNING, logger="bot.sources.x"):
        result = make_source(x).fetch(SPEC, {"since_id": STALE}, now=NOW)

    (params,) = x.params()
    assert "since_id" not in params  # X would answer 400 to it
    assert params["start_time"] == "2026-01-08T12:05:00Z"
    assert any(STALE in r.getMessage() for r in caplog.records)
    assert result.cursor == {"since_id": STALE}


def test_fetch_returns_mentions_oldest_first_and_authors_by_username(
    make_source: Callable[..., XSource],
) -> None:
    result = make_source(FakeX()).fetch(SPEC, {}, now=NOW)

    assert [m.external_id for m in result.mentions] == [OLDEST, QUOTE, NO_TIME, LONG, REPLY]
    assert set(result.authors) == {"ops_maren", "hannah_codes", "nachtfalter_91", "acme_support"}
    assert result.authors["hannah_codes"].followers == 48120


def test_fetch_moves_the_cursor_to_the_newest_id(make_source: Callable[..., XSource]) -> None:
    result = make_source(FakeX()).fetch(SPEC, {"since_id": OLDEST}, now=NOW)

    assert result.cursor == {"since_id": REPLY}
    assert json.loads(json.dumps(result.cursor)) == result.cursor


def test_fetch_compares_ids_as_numbers_and_never_moves_the_cursor_backwards(
    make_source: Callable[..., XSource],
) -> None:
    # As strings "999…" sorts after "2011…"; as numbers it is far older. Here the stored id is
    # a larger number than anything in the answer.
    ahead = str(int(REPLY) + 1)

    result = make_source(FakeX()).fetch(SPEC, {"since_id": ahead}, now=NOW)

    assert result.cursor == {"since_id": ahead}


def test_fetch_takes_meta_newest_id_even_if_that_post_was_not_returned(
    make_source: Callable[..., XSource],
) -> None:
    page = json.loads(fixture_bytes("search_page1.json"))
    page["meta"]["newest_id"] = "2011767820907446273"  # withheld from us, still seen by X
    x = FakeX({None: json.dumps(page).encode()})

    result = make_source(x).fetch(SPEC, {"since_id": OLDEST}, now=NOW)

    assert result.cursor == {"since_id": "2011767820907446273"}


def test_fetch_keeps_the_cursor_when_nothing_is_new(make_source: Callable[..., XSource]) -> None:
    source = make_source(empty())

    assert source.fetch(SPEC, {"since_id": QUOTE}, now=NOW).cursor == {"since_id": QUOTE}
    assert source.fetch(SPEC, {}, now=NOW).cursor == {}


def test_fetch_accepts_a_cursor_stored_as_a_number(make_source: Callable[..., XSource]) -> None:
    x = empty()

    make_source(x).fetch(SPEC, {"since_id": int(QUOTE)}, now=NOW)

    assert x.params()[0]["since_id"] == QUOTE


@pytest.mark.parametrize("since_id", ["latest", "", -5, True, None, "١٢٣"])
def test_fetch_rejects_a_malformed_cursor(
    make_source: Callable[..., XSource], since_id: object
) -> None:
    with pytest.raises(ValueError, match="since_id"):
        make_source(FakeX()).fetch(SPEC, {"since_id": since_id}, now=NOW)


def test_fetch_stops_at_max_pages_logs_it_and_moves_the_cursor(
    make_source: Callable[..., XSource], caplog: pytest.LogCaptureFixture
) -> None:
    page = json.loads(fixture_bytes("search_page1.json"))
    page["meta"]["next_token"] = "more"
    x = FakeX({None: fixture_bytes("search_page0.json"), "more": json.dumps(page).encode()})
    x.pages[TOKEN1] = json.dumps(page).encode()

    with caplog.at_level(logging.WARNING, logger="bot.sources.x"):
        result = make_source(x, max_pages=3).fetch(SPEC, {"since_id": OLDEST}, now=NOW)

    assert [p.get("next_token") for p in x.params()] == [None, TOKEN1, "more"]
    assert any("max_pages" in r.getMessage() for r in caplog.records)
    assert result.cursor == {"since_id": REPLY}


def test_a_used_up_rate_limit_stops_paging_and_keeps_the_cursor(
    make_source: Callable[..., XSource], caplog: pytest.LogCaptureFixture
) -> None:
    reset = str(int(time.time()) + 600)
    headers = {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": reset,
    }
    x = FakeX(headers=headers)

    with caplog.at_level(logging.WARNING, logger="bot.sources.x"):
        result = make_source(x).fetch(SPEC, {"since_id": OLDEST}, now=NOW)

    # Page 0 is delivered; page 1 (between it and the cursor) is unread, so no cursor move.
    assert len(x.requests) == 1
    assert [m.external_id for m in result.mentions] == [NO_TIME, LONG, REPLY]
    assert result.cursor == {"since_id": OLDEST}
    assert any("rate limit" in r.getMessage() for r in caplog.records)


def test_a_used_up_rate_limit_on_the_last_page_still_moves_the_cursor(
    make_source: Callable[..., XSource],
) -> None:
    x = FakeX({None: fixture_bytes("search_page1.json")}, headers={"x-rate-limit-remaining": "0"})

    result = make_source(x).fetch(SPEC, {"since_id": OLDEST}, now=NOW)

    assert result.cursor == {"since_id": QUOTE}


# --- I/O failures --------------------------------------------------------------------------


def test_429_with_x_rate_limit_reset_waits_until_that_unix_time(
    make_source: Callable[..., XSource],
) -> None:
    headers = {
        "x-rate-limit-limit": "450",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(int(time.time()) + 600),
    }
    body = fixture_bytes("too_many_requests.json")
    source = make_source(answer(httpx.Response(429, headers=headers, content=body)))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert 590 <= caught.value.retry_after_s <= 600
    assert "usage cap" not in str(caught.value)


def test_429_for_the_usage_cap_says_so_and_waits_at_least_an_hour(
    make_source: Callable[..., XSource],
) -> None:
    headers = {"x-rate-limit-remaining": "447", "x-rate-limit-reset": str(int(time.time()) + 60)}
    body = fixture_bytes("usage_capped.json")
    source = make_source(answer(httpx.Response(429, headers=headers, content=body)))

    with pytest.raises(RateLimited, match="usage cap exceeded") as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert "Monthly product cap" in str(caught.value)
    assert caught.value.retry_after_s >= 3600


def test_a_plain_429_after_a_usage_cap_429_is_not_called_a_usage_cap(
    make_source: Callable[..., XSource],
) -> None:
    answers = iter(
        [
            httpx.Response(429, content=fixture_bytes("usage_capped.json")),
            httpx.Response(429, headers={"Retry-After": "30"}),
        ]
    )
    source = make_source(lambda request: next(answers))

    with pytest.raises(RateLimited, match="usage cap"):
        source.fetch(SPEC, {}, now=NOW)
    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert "usage cap" not in str(caught.value)
    assert caught.value.retry_after_s == 30


def test_401_raises_source_error_with_the_problem_and_the_setting_to_check(
    make_source: Callable[..., XSource],
) -> None:
    refused = httpx.Response(401, content=fixture_bytes("unauthorized.json"))

    with pytest.raises(SourceError, match="HTTP 401") as caught:
        make_source(answer(refused)).fetch(SPEC, {}, now=NOW)

    assert "Unauthorized" in str(caught.value)
    assert "X_BEARER_TOKEN" in str(caught.value)
    assert BEARER not in str(caught.value)


def test_400_raises_source_error_with_the_problems_own_message(
    make_source: Callable[..., XSource],
) -> None:
    invalid = httpx.Response(400, content=fixture_bytes("invalid_request.json"))

    with pytest.raises(SourceError, match="Invalid Request") as caught:
        make_source(answer(invalid)).fetch(SPEC, {}, now=NOW)

    assert "'since_id' must be a tweet id created after" in str(caught.value)
    assert not isinstance(caught.value, RateLimited)


def test_an_error_status_without_a_problem_body_still_raises_source_error(
    make_source: Callable[..., XSource],
) -> None:
    with pytest.raises(SourceError, match="HTTP 403 for /2/tweets/search/recent: b'Forbidden'"):
        make_source(answer(httpx.Response(403, text="Forbidden"))).fetch(SPEC, {}, now=NOW)


def test_500_raises_source_error_naming_the_status(make_source: Callable[..., XSource]) -> None:
    source = make_source(answer(httpx.Response(500, text="Internal Server Error")))

    with pytest.raises(SourceError, match="500") as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert not isinstance(caught.value, RateLimited)


def test_an_error_on_a_later_page_fails_the_whole_fetch(
    make_source: Callable[..., XSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("next_token") is None:
            return httpx.Response(200, content=fixture_bytes("search_page0.json"))
        return httpx.Response(503, json={"title": "Service Unavailable"})

    with pytest.raises(SourceError, match="503"):
        make_source(handler).fetch(SPEC, {}, now=NOW)


def test_html_served_with_200_raises_source_error(make_source: Callable[..., XSource]) -> None:
    page = httpx.Response(200, text="<!DOCTYPE html><html><body>Something went wrong</body></html>")

    with pytest.raises(SourceError, match="HTML"):
        make_source(answer(page)).fetch(SPEC, {}, now=NOW)


def test_a_problem_object_served_with_200_raises_source_error(
    make_source: Callable[..., XSource],
) -> None:
    problem = httpx.Response(200, content=fixture_bytes("too_many_requests.json"))

    with pytest.raises(SourceError, match="Too Many Requests"):
        make_source(answer(problem)).fetch(SPEC, {}, now=NOW)


def test_truncated_json_raises_source_error(make_source: Callable[..., XSource]) -> None:
    cut = httpx.Response(200, content=fixture_bytes("search_page0.json")[:700])

    with pytest.raises(SourceError, match="not valid JSON"):
        make_source(answer(cut)).fetch(SPEC, {}, now=NOW)


def test_transport_timeout_raises_source_error(make_source: Callable[..., XSource]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SourceError, match=r"timed out on https://api\.x\.com/") as caught:
        make_source(handler).fetch(SPEC, {}, now=NOW)

    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
