"""Stack Exchange source: parsing recorded-shape answers and paging through a mock transport."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError
from bot.sources.stackexchange import StackExchangeSource, parse_authors, parse_mentions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stackexchange"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
NOW_I = 1768478400  # NOW as epoch seconds
NEWEST_I = 1768476000  # creation_date of the newest question in the fixtures (79871234)
SPEC = SearchSpec(query="acme", options={"site": "stackoverflow"})
SO = "stackexchange:stackoverflow:"

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded body from tests/fixtures/stackexchange."""
    return (FIXTURES / name).read_bytes()


def by_id(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


def gzipped(body: bytes, status: int = 200) -> httpx.Response:
    """A response compressed the way the API always sends it."""
    return httpx.Response(
        status,
        content=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json; charset=utf-8"},
    )


class FakeApi:
    """Serves recorded search pages by the `page` param (gzipped) and remembers requests."""

    def __init__(self, pages: list[bytes], users: bytes | None = None) -> None:
        self.pages = pages
        self.users = users
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/2.3/search/advanced":
            return gzipped(self.pages[int(request.url.params["page"]) - 1])
        if request.url.path.startswith("/2.3/users/") and self.users is not None:
            return gzipped(self.users)
        no_method = (
            b'{"error_id": 404, "error_message": "no method found", "error_name": "no_method"}'
        )
        return gzipped(no_method, status=404)

    def params(self) -> list[dict[str, str]]:
        """Return the query params of every request, in order."""
        return [dict(r.url.params) for r in self.requests]


class Clock:
    """Real time for the source's backoff bookkeeping, moved by hand."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def make_source() -> Iterator[Callable[..., StackExchangeSource]]:
    """Build a StackExchangeSource over a MockTransport; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> StackExchangeSource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("sleep", lambda _s: None)
        kwargs.setdefault("clock", Clock())
        return StackExchangeSource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


def two_pages() -> FakeApi:
    return FakeApi([fixture_bytes("search_page1.json"), fixture_bytes("search_page2.json")])


# --- parsing -------------------------------------------------------------------------------


def test_a_question_maps_title_link_score_answers_and_its_own_thread() -> None:
    question = by_id(parse_mentions(fixture_bytes("search_page1.json")))[SO + "79871234"]

    assert question.network == "stackexchange"
    assert question.url == (
        "https://stackoverflow.com/questions/79871234/"
        "how-do-i-stop-acmes-sdk-from-logging-retrying-on-every-request"
    )
    assert question.likes == 2
    assert question.replies == 1
    assert question.conversation_id == SO + "79871234"
    assert question.created_at == datetime(2026, 1, 15, 11, 20, tzinfo=UTC)


def test_titles_and_names_have_their_html_entities_decoded() -> None:
    mentions = by_id(parse_mentions(fixture_bytes("search_page1.json")))
    question = mentions[SO + "79871234"]

    assert question.title == 'How do I stop Acme\'s SDK from logging "retrying" on every request?'
    assert question.author.display_name == "José Pérez"
    assert mentions[SO + "79870555"].title == "Acme API gibt 403 für Dateinamen mit Umlauten zurück"


def test_the_body_is_plain_text_with_code_kept_as_text() -> None:
    question = by_id(parse_mentions(fixture_bytes("search_page1.json")))[SO + "79871234"]

    assert question.text == (
        "I'm using acme-sdk 3.2 with Python 3.12 and every call prints a warning:\n\n"
        "WARNING acme.http: retrying (1/3) & backing off\n\n"
        'Setting logging.getLogger("acme").setLevel(logging.ERROR) doesn\'t help. '
        "What am I missing?"
    )


def test_the_owner_is_an_author_keyed_by_user_id_and_site_with_reputation_as_karma() -> None:
    author = by_id(parse_mentions(fixture_bytes("search_page1.json")))[SO + "79871234"].author

    assert author.handle == "4417023@stackoverflow"
    assert author.karma == 1289
    assert author.url == "https://stackoverflow.com/users/4417023/jose-perez"


def test_a_deleted_owner_keeps_only_the_old_name() -> None:
    question = by_id(parse_mentions(fixture_bytes("search_page1.json")))[SO + "79871102"]

    assert question.author.handle == ""
    assert question.author.display_name == "user29182310"
    assert question.author.karma is None
    assert question.likes == -1


def test_a_display_name_with_escaped_angle_brackets_is_literal_text() -> None:
    question = by_id(parse_mentions(fixture_bytes("search_page2.json")))[SO + "79869981"]

    assert question.author.display_name == "Nadia Okafor <ops>"


def test_items_without_id_or_date_are_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.stackexchange"):
        mentions = parse_mentions(fixture_bytes("search_page2.json"))

    assert [m.external_id for m in mentions] == [SO + "79870555", SO + "79869981"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("without question_id" in m for m in messages)
    assert any("79869900" in m and "creation_date" in m for m in messages)


def test_the_site_names_the_id_and_a_missing_link_is_rebuilt_for_it() -> None:
    body = json.dumps(
        {"items": [{"question_id": 9, "creation_date": NOW_I, "title": "Acme?"}]}
    ).encode()

    (on_ru,) = parse_mentions(body, site="ru.stackoverflow")
    (on_unix,) = parse_mentions(body, site="unix")
    (on_mo,) = parse_mentions(body, site="mathoverflow.net")

    assert on_ru.external_id == "stackexchange:ru.stackoverflow:9"
    assert on_ru.url == "https://ru.stackoverflow.com/q/9"
    assert on_ru.lang == "ru"
    assert on_unix.url == "https://unix.stackexchange.com/q/9"
    assert on_mo.url == "https://mathoverflow.net/q/9"
    assert on_unix.text == "Acme?"  # no body: the title stands in


def test_parse_authors_reads_reputation_and_account_age() -> None:
    (author,) = parse_authors(fixture_bytes("users_4417023.json"))

    assert author.handle == "4417023@stackoverflow"
    assert author.karma == 1301
    assert author.created_at == datetime(2016, 6, 22, 16, 0, tzinfo=UTC)
    assert author.display_name == "José Pérez"


def test_a_throttle_violation_is_rate_limited_for_as_long_as_the_message_says() -> None:
    with pytest.raises(RateLimited) as caught:
        parse_mentions(fixture_bytes("error_throttle.json"))

    assert caught.value.retry_after_s == 82734
    assert "throttle_violation" in str(caught.value)


def test_another_api_error_is_a_source_error_with_its_name_and_message() -> None:
    with pytest.raises(SourceError, match=r"bad_parameter.*site is required") as caught:
        parse_mentions(fixture_bytes("error_bad_parameter.json"))

    assert not isinstance(caught.value, RateLimited)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>Oops</body></html>", "HTML"),
        (b'{"items": [{"question_id": 1, "ti', "not valid JSON"),
        (b"[]", "not an object"),
        (b'{"has_more": false}', "items"),
        (b'{"items": {"0": {}}}', "items"),
    ],
)
def test_parse_rejects_a_malformed_body_with_source_error(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body)


# --- fetching ------------------------------------------------------------------------------


def test_source_satisfies_the_source_protocol_and_needs_no_key(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    source: Source = make_source(two_pages())

    assert source.name == "stackexchange"
    assert source.missing_settings == ()


def test_fetch_pages_newest_first_with_the_same_search_on_each_request(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = two_pages()

    make_source(api).fetch(SPEC, {}, now=NOW)

    assert [r.url.path for r in api.requests] == ["/2.3/search/advanced"] * 2
    assert api.params() == [
        {
            "q": "acme",
            "site": "stackoverflow",
            "sort": "creation",
            "order": "desc",
            "fromdate": str(NOW_I - 24 * 3600),
            "pagesize": "100",
            "page": str(page),
            "filter": "withbody",
        }
        for page in (1, 2)
    ]


def test_fetch_sends_the_key_when_one_is_configured(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = FakeApi([fixture_bytes("search_empty.json")])

    make_source(api, key="U4DMV*8nvpm3EOpvf69Rxw((").fetch(SPEC, {}, now=NOW)

    assert api.params()[0]["key"] == "U4DMV*8nvpm3EOpvf69Rxw(("


def test_fetch_searches_stackoverflow_unless_the_watch_names_a_site(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = FakeApi([fixture_bytes("search_empty.json")])
    source = make_source(api)

    source.fetch(SearchSpec(query="acme"), {}, now=NOW)
    source.fetch(SearchSpec(query="acme", options={"site": "ServerFault"}), {}, now=NOW)

    assert [p["site"] for p in api.params()] == ["stackoverflow", "serverfault"]
    assert "key" not in api.params()[0]


@pytest.mark.parametrize("site", ["stack overflow", "../users", "-so", "so/", "a" * 80])
def test_fetch_rejects_a_site_that_is_not_a_site_name(
    make_source: Callable[..., StackExchangeSource], site: str
) -> None:
    api = two_pages()

    with pytest.raises(SourceError, match="site"):
        make_source(api).fetch(SearchSpec(query="acme", options={"site": site}), {}, now=NOW)

    assert api.requests == []


def test_gzip_bodies_are_decoded(make_source: Callable[..., StackExchangeSource]) -> None:
    result = make_source(two_pages()).fetch(SPEC, {}, now=NOW)

    assert {m.external_id for m in result.mentions} == {
        SO + "79871234",
        SO + "79871102",
        SO + "79870555",
        SO + "79869981",
    }


def test_fetch_returns_mentions_oldest_first_without_duplicates_across_pages(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    result = make_source(two_pages()).fetch(SPEC, {}, now=NOW)

    ids = [m.external_id for m in result.mentions]
    assert ids == [SO + "79869981", SO + "79870555", SO + "79871102", SO + "79871234"]


def test_fetch_returns_owners_as_authors_so_no_second_call_is_needed(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    result = make_source(two_pages()).fetch(SPEC, {}, now=NOW)

    assert set(result.authors) == {
        "4417023@stackoverflow",
        "30117822@stackoverflow",
        "1144035@stackoverflow",
    }
    assert result.authors["1144035@stackoverflow"].karma == 52310


def test_a_complete_fetch_moves_the_cursor_to_the_newest_question(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    result = make_source(two_pages()).fetch(SPEC, {"fromdate": 1768390000}, now=NOW)

    assert result.cursor == {"fromdate": NEWEST_I}


def test_later_fetch_starts_from_the_cursor_minus_the_overlap(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = FakeApi([fixture_bytes("search_empty.json")])

    make_source(api).fetch(SPEC, {"fromdate": 1768470000}, now=NOW)

    assert api.params()[0]["fromdate"] == str(1768470000 - 600)


def test_fetch_never_moves_the_cursor_backwards(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    ahead = NEWEST_I + 120
    result = make_source(two_pages()).fetch(SPEC, {"fromdate": ahead}, now=NOW)

    assert result.cursor == {"fromdate": ahead}


def test_a_first_fetch_that_finds_nothing_resumes_from_its_window_start(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = FakeApi([fixture_bytes("search_empty.json")])

    result = make_source(api).fetch(SPEC, {}, now=NOW)

    assert result.mentions == []
    assert result.cursor == {"fromdate": NOW_I - 24 * 3600}


def test_a_backoff_mid_paging_stops_and_keeps_the_cursor_where_it_was(
    make_source: Callable[..., StackExchangeSource], caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeApi([fixture_bytes("search_backoff.json"), fixture_bytes("search_page2.json")])

    with caplog.at_level(logging.WARNING, logger="bot.sources.stackexchange"):
        result = make_source(api).fetch(SPEC, {"fromdate": 1768390000}, now=NOW)

    assert len(api.requests) == 1
    assert len(result.mentions) == 3  # what was read is kept; downstream dedupes the rerun
    assert result.cursor == {"fromdate": 1768390000}  # page 2 was never read: no gap
    assert any("10 s backoff" in r.getMessage() for r in caplog.records)


def test_a_backoff_on_a_first_fetch_keeps_the_start_of_its_window(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = FakeApi([fixture_bytes("search_backoff.json")])

    result = make_source(api).fetch(SPEC, {}, now=NOW)

    assert result.cursor == {"fromdate": NOW_I - 24 * 3600}


def test_the_next_request_waits_out_the_backoff_even_in_another_fetch(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    clock = Clock()
    api = FakeApi([fixture_bytes("search_backoff.json")])
    source = make_source(api, clock=clock)
    source.fetch(SPEC, {}, now=NOW)
    clock.now += timedelta(seconds=4)

    with pytest.raises(RateLimited) as caught:
        source.fetch(SearchSpec(query="other", options={"site": "stackoverflow"}), {}, now=NOW)

    assert caught.value.retry_after_s == pytest.approx(6)
    assert len(api.requests) == 1
    clock.now += timedelta(seconds=6)
    source.fetch(SPEC, {}, now=NOW)
    assert len(api.requests) == 2


def test_a_backoff_on_the_last_page_still_holds_the_next_fetch(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    last = json.loads(fixture_bytes("search_empty.json"))
    last["backoff"] = 30
    source = make_source(FakeApi([json.dumps(last).encode()]))

    source.fetch(SPEC, {}, now=NOW)

    with pytest.raises(RateLimited):
        source.fetch(SPEC, {}, now=NOW)


def test_an_empty_quota_stops_paging_and_keeps_the_cursor(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    page = json.loads(fixture_bytes("search_page1.json"))
    page["quota_remaining"] = 0
    api = FakeApi([json.dumps(page).encode(), fixture_bytes("search_page2.json")])

    result = make_source(api).fetch(SPEC, {"fromdate": 1768390000}, now=NOW)

    assert len(api.requests) == 1
    assert result.cursor == {"fromdate": 1768390000}


def test_fetch_stops_at_max_pages_keeping_the_cursor_and_logging_it(
    make_source: Callable[..., StackExchangeSource], caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeApi([fixture_bytes("search_page1.json")] * 5)

    with caplog.at_level(logging.WARNING, logger="bot.sources.stackexchange"):
        result = make_source(api, max_pages=3).fetch(SPEC, {"fromdate": 1768390000}, now=NOW)

    assert [p["page"] for p in api.params()] == ["1", "2", "3"]
    assert result.cursor == {"fromdate": 1768390000}
    assert any("max_pages=3" in r.getMessage() for r in caplog.records)


def test_fetch_rejects_a_malformed_cursor(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    with pytest.raises(ValueError, match="fromdate"):
        make_source(two_pages()).fetch(SPEC, {"fromdate": "yesterday"}, now=NOW)


# --- errors --------------------------------------------------------------------------------


def answer(response: httpx.Response) -> Handler:
    """Return a handler that always gives `response`."""
    return lambda request: response


def test_a_throttle_violation_answered_with_http_400_raises_rate_limited(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    source = make_source(answer(gzipped(fixture_bytes("error_throttle.json"), status=400)))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 82734


def test_an_api_error_answered_with_http_400_raises_source_error_naming_it(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    source = make_source(answer(gzipped(fixture_bytes("error_bad_parameter.json"), status=400)))

    with pytest.raises(SourceError, match="bad_parameter") as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert not isinstance(caught.value, RateLimited)


def test_an_http_error_without_an_api_error_body_names_the_status(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    source = make_source(answer(httpx.Response(403, text="<html>Forbidden</html>")))

    with pytest.raises(SourceError, match="HTTP 403"):
        source.fetch(SPEC, {}, now=NOW)


def test_429_raises_rate_limited(make_source: Callable[..., StackExchangeSource]) -> None:
    source = make_source(answer(httpx.Response(429, headers={"Retry-After": "300"})))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 300


def test_503_is_retried_then_raises_source_error(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, text="Service Unavailable")

    with pytest.raises(SourceError, match="503"):
        make_source(handler, retries=2).fetch(SPEC, {}, now=NOW)

    assert len(calls) == 3


def test_an_error_on_a_later_page_fails_the_whole_fetch(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params["page"] == "1":
            return gzipped(fixture_bytes("search_page1.json"))
        return gzipped(fixture_bytes("error_throttle.json"), status=400)

    with pytest.raises(RateLimited):
        make_source(handler).fetch(SPEC, {}, now=NOW)


# --- authors -------------------------------------------------------------------------------


def test_fetch_author_reads_the_user_on_their_site(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = FakeApi([], users=fixture_bytes("users_4417023.json"))

    author = make_source(api, key="k").fetch_author("4417023@stackoverflow")

    assert author is not None
    assert author.karma == 1301
    assert api.requests[0].url.path == "/2.3/users/4417023"
    assert api.params() == [{"site": "stackoverflow", "key": "k"}]


def test_fetch_author_of_a_vanished_user_is_none(
    make_source: Callable[..., StackExchangeSource],
) -> None:
    api = FakeApi([], users=fixture_bytes("users_empty.json"))

    assert make_source(api).fetch_author("4417023@stackoverflow") is None


@pytest.mark.parametrize("handle", ["", "José Pérez", "12@", "@stackoverflow", "1@../x", "1;2@so"])
def test_fetch_author_asks_nothing_for_a_handle_it_did_not_make(
    make_source: Callable[..., StackExchangeSource], handle: str
) -> None:
    api = FakeApi([], users=fixture_bytes("users_4417023.json"))

    assert make_source(api).fetch_author(handle) is None
    assert api.requests == []
