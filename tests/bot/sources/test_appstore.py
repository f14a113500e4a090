"""App Store source: parsing review feeds and paging them through a mock transport."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sources.appstore import SEEN_MAX, AppStoreSource, parse_mentions, stars
from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "appstore"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
APP_ID = "1459523498"
SPEC = SearchSpec(query="acme", options={"app_id": APP_ID, "country": "us"})
PAGE1_IDS = ["11872051903", "11871988204", "11871402277"]
PAGE2_IDS = ["11870337810", "11869110234"]  # the second is older than the first backfill
_PAGE = re.compile(r"^/(?P<cc>[a-z]{2})/rss/customerreviews/page=(?P<page>\d+)/id=(?P<app>\d+)/")

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded body from tests/fixtures/appstore."""
    return (FIXTURES / name).read_bytes()


def by_id(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


def parse(name: str) -> list[FetchedMention]:
    return parse_mentions(fixture_bytes(name), app_id=APP_ID, country="us", now=NOW)


class FakeAppStore:
    """Serves recorded pages by the page number in the path, an empty feed past the last."""

    def __init__(self, pages: list[bytes]) -> None:
        self.pages = pages
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        match = _PAGE.match(request.url.path)
        if match is None:
            return httpx.Response(404, text="Not Found")
        page = int(match.group("page"))
        body = (
            self.pages[page - 1] if page <= len(self.pages) else fixture_bytes("reviews_empty.json")
        )
        return httpx.Response(200, content=body, headers={"Content-Type": "text/javascript"})

    def pages_asked(self) -> list[int]:
        """Return the page number of every request, in order."""
        return [int(_PAGE.match(r.url.path).group("page")) for r in self.requests]  # type: ignore[union-attr]


def two_pages() -> FakeAppStore:
    return FakeAppStore([fixture_bytes("reviews_page1.json"), fixture_bytes("reviews_page2.json")])


def feed_of(entries: list[dict[str, Any]], *, last: int | None = None) -> bytes:
    """A reviews feed holding `entries`, with a rel="last" link when `last` is given."""
    feed: dict[str, Any] = {"entry": entries}
    if last is not None:
        href = f"https://itunes.apple.com/us/rss/customerreviews/page={last}/id={APP_ID}/sortby=mostrecent/xml"
        feed["link"] = [{"attributes": {"rel": "last", "href": href}}]
    return json.dumps({"feed": feed}).encode()


def review_entry(review_id: int, *, updated: str = "2026-01-15T10:00:00-07:00") -> dict[str, Any]:
    return {
        "author": {"name": {"label": f"user{review_id}"}},
        "updated": {"label": updated},
        "im:rating": {"label": "3"},
        "id": {"label": str(review_id)},
        "title": {"label": "ok"},
        "content": {"label": "fine", "attributes": {"type": "text"}},
    }


@pytest.fixture
def make_source() -> Iterator[Callable[..., AppStoreSource]]:
    """Build an AppStoreSource over a MockTransport; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> AppStoreSource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("sleep", lambda _s: None)
        return AppStoreSource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


# --- parsing -------------------------------------------------------------------------------


def test_a_review_carries_its_rating_as_a_field_and_as_stars_leading_the_text() -> None:
    review = by_id(parse("reviews_page1.json"))["appstore:us:11872051903"]

    assert review.network == "appstore"
    assert review.rating == 2
    assert review.text == (
        "★★☆☆☆ (2/5)\n"
        "Checkout spins forever\n"
        "Since 4.12 the checkout button just spins. Reinstalled twice. "
        'Support says "we\'re aware" but no fix yet.'
    )
    assert review.title is None
    assert review.likes is None


def test_a_review_maps_author_link_and_its_updated_time_in_utc() -> None:
    review = by_id(parse("reviews_page1.json"))["appstore:us:11872051903"]

    assert review.author.handle == "tired_of_spinners"
    assert review.author.display_name == "tired_of_spinners"
    assert review.author.url == "https://itunes.apple.com/us/reviews/id871204551"
    assert review.url == f"https://itunes.apple.com/us/review?id={APP_ID}&type=Purple%20Software"
    assert review.created_at == datetime(2026, 1, 15, 10, 41, 9, tzinfo=UTC)


def test_review_text_is_plain_so_angle_brackets_and_ampersands_stay() -> None:
    review = by_id(parse("reviews_page1.json"))["appstore:us:11871402277"]

    assert "Charged twice <again>" in review.text
    assert "one order & the app" in review.text


def test_unicode_names_and_multi_line_reviews_survive() -> None:
    review = by_id(parse("reviews_page1.json"))["appstore:us:11871988204"]

    assert review.author.handle == "Mañana Café 🇲🇽"
    assert review.text.endswith("¡Gracias!\nLa actualización arregló los recibos.")


def test_the_apps_own_entry_is_skipped_and_undated_reviews_are_dated_now() -> None:
    reviews = parse("reviews_no_dates.json")

    assert [r.external_id for r in reviews] == [
        "appstore:us:11872051903",
        "appstore:us:11871988204",
    ]
    assert all(r.created_at == NOW for r in reviews)


def test_a_feed_with_a_single_review_gives_it_as_an_object() -> None:
    (review,) = parse("reviews_single.json")

    assert review.external_id == "appstore:us:11872100000"
    assert review.rating == 5


def test_a_feed_without_entries_has_no_reviews() -> None:
    assert parse("reviews_empty.json") == []


def test_reviews_with_a_broken_id_or_rating_are_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.appstore"):
        reviews = parse("reviews_page2.json")

    assert [r.external_id for r in reviews] == [f"appstore:us:{i}" for i in PAGE2_IDS]
    messages = [r.getMessage() for r in caplog.records]
    assert any("11871399998" in m and "seven" in m for m in messages)
    assert any("numeric id" in m for m in messages)


def test_a_review_without_link_or_author_falls_back_to_the_apps_review_page() -> None:
    entry = review_entry(42)
    del entry["author"]

    (review,) = parse_mentions(feed_of([entry]), app_id=APP_ID, country="gb", now=NOW)

    assert review.url == f"https://apps.apple.com/gb/app/id{APP_ID}?see-all=reviews"
    assert review.external_id == "appstore:gb:42"
    assert review.author.handle == ""


def test_a_review_dated_in_the_future_is_dated_now() -> None:
    entry = review_entry(42, updated="2031-01-01T00:00:00-07:00")

    (review,) = parse_mentions(feed_of([entry]), app_id=APP_ID, now=NOW)

    assert review.created_at == NOW


@pytest.mark.parametrize(("rating", "text"), [(1, "★☆☆☆☆ (1/5)"), (5, "★★★★★ (5/5)")])
def test_stars_spell_the_rating_out_of_five(rating: int, text: str) -> None:
    assert stars(rating) == text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>Service Unavailable</body></html>", "HTML"),
        (b'{"feed": {"entry": [{"id": {"lab', "not valid JSON"),
        (b"[]", "not an object"),
        (b'{"errorMessage": "Invalid value(s) for key(s): [id]"}', "feed"),
        (b'{"feed": {"entry": "none"}}', "entry"),
    ],
)
def test_parse_rejects_a_malformed_body_with_source_error(body: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body, app_id=APP_ID, now=NOW)


# --- fetching ------------------------------------------------------------------------------


def test_source_satisfies_the_source_protocol(
    make_source: Callable[..., AppStoreSource],
) -> None:
    source: Source = make_source(two_pages())

    assert source.name == "appstore"
    assert source.missing_settings == ()
    assert source.fetch_author("tired_of_spinners") is None


def test_fetch_asks_for_the_most_recent_json_pages_of_the_app_in_its_storefront(
    make_source: Callable[..., AppStoreSource],
) -> None:
    store = two_pages()

    make_source(store).fetch(SPEC, {}, now=NOW)

    assert [str(r.url) for r in store.requests] == [
        f"https://itunes.apple.com/us/rss/customerreviews/page={n}/id={APP_ID}/sortby=mostrecent/json"
        for n in (1, 2)
    ]


def test_first_fetch_returns_reviews_within_the_backfill_oldest_first(
    make_source: Callable[..., AppStoreSource],
) -> None:
    result = make_source(two_pages()).fetch(SPEC, {}, now=NOW)

    assert [m.external_id for m in result.mentions] == [
        "appstore:us:11870337810",
        "appstore:us:11871402277",
        "appstore:us:11871988204",
        "appstore:us:11872051903",
    ]


def test_first_fetch_stops_at_the_backfill_edge_and_remembers_every_review_read(
    make_source: Callable[..., AppStoreSource],
) -> None:
    pages = [fixture_bytes("reviews_page2.json")] * 3  # the edge is on page 1 here
    store = FakeAppStore(pages)

    result = make_source(store).fetch(SPEC, {}, now=NOW)

    assert store.pages_asked() == [1]
    assert result.cursor == {"seen": PAGE2_IDS}


def test_first_fetch_of_an_undated_feed_takes_only_the_first_page(
    make_source: Callable[..., AppStoreSource],
) -> None:
    store = FakeAppStore([fixture_bytes("reviews_no_dates.json")] * 10)

    result = make_source(store).fetch(SPEC, {}, now=NOW)

    assert store.pages_asked() == [1]
    assert len(result.mentions) == 2


def test_later_fetch_returns_only_unseen_reviews_and_stops_at_a_page_of_known_ones(
    make_source: Callable[..., AppStoreSource],
) -> None:
    store = two_pages()
    cursor = {"seen": PAGE1_IDS[1:] + PAGE2_IDS}

    result = make_source(store).fetch(SPEC, cursor, now=NOW)

    assert [m.external_id for m in result.mentions] == ["appstore:us:11872051903"]
    assert store.pages_asked() == [1, 2]
    assert result.cursor == {"seen": PAGE1_IDS + PAGE2_IDS}


def test_later_fetch_with_nothing_new_asks_for_one_page_and_keeps_the_cursor(
    make_source: Callable[..., AppStoreSource],
) -> None:
    store = two_pages()
    cursor = {"seen": PAGE1_IDS + PAGE2_IDS}

    result = make_source(store).fetch(SPEC, cursor, now=NOW)

    assert result.mentions == []
    assert store.pages_asked() == [1]
    assert result.cursor == cursor


def test_later_fetch_takes_an_old_review_it_never_saw(
    make_source: Callable[..., AppStoreSource],
) -> None:
    # After the first run age does not matter: a review not seen before is news to us.
    body = feed_of([review_entry(7, updated="2026-01-02T10:00:00-07:00"), review_entry(1)])

    result = make_source(FakeAppStore([body])).fetch(SPEC, {"seen": ["1"]}, now=NOW)

    assert [m.external_id for m in result.mentions] == ["appstore:us:7"]


def test_fetch_stops_at_the_feeds_last_page(make_source: Callable[..., AppStoreSource]) -> None:
    store = FakeAppStore([feed_of([review_entry(n)], last=1) for n in (1, 2, 3)])

    make_source(store).fetch(SPEC, {"seen": []}, now=NOW)

    assert store.pages_asked() == [1]


def test_fetch_stops_at_an_empty_page(make_source: Callable[..., AppStoreSource]) -> None:
    store = FakeAppStore([feed_of([review_entry(1)])])

    result = make_source(store).fetch(SPEC, {"seen": []}, now=NOW)

    assert store.pages_asked() == [1, 2]
    assert [m.external_id for m in result.mentions] == ["appstore:us:1"]


def test_fetch_reads_at_most_max_pages_and_logs_when_all_were_new(
    make_source: Callable[..., AppStoreSource], caplog: pytest.LogCaptureFixture
) -> None:
    store = FakeAppStore([feed_of([review_entry(n)]) for n in range(1, 11)])

    with caplog.at_level(logging.WARNING, logger="bot.sources.appstore"):
        result = make_source(store, max_pages=3).fetch(SPEC, {"seen": []}, now=NOW)

    assert store.pages_asked() == [1, 2, 3]
    assert len(result.mentions) == 3
    assert any("max_pages=3" in r.getMessage() for r in caplog.records)


def test_an_empty_app_still_ends_the_first_run(make_source: Callable[..., AppStoreSource]) -> None:
    store = FakeAppStore([fixture_bytes("reviews_empty.json")])

    result = make_source(store).fetch(SPEC, {}, now=NOW)

    assert result.mentions == []
    assert result.cursor == {"seen": []}  # so the first review to come is news


def test_seen_ids_are_bounded_keeping_the_newest(
    make_source: Callable[..., AppStoreSource],
) -> None:
    old = [str(n) for n in range(10_000, 10_000 + SEEN_MAX)]

    result = make_source(two_pages()).fetch(SPEC, {"seen": old}, now=NOW)

    assert len(result.cursor["seen"]) == SEEN_MAX
    assert result.cursor["seen"][:3] == PAGE1_IDS


@pytest.mark.parametrize(
    ("app_id", "country", "path"),
    [
        ("id1459523498", "us", f"/us/rss/customerreviews/page=1/id={APP_ID}/"),
        (" 1459523498 ", "GB", f"/gb/rss/customerreviews/page=1/id={APP_ID}/"),
    ],
)
def test_fetch_accepts_an_id_prefix_and_an_uppercase_country(
    make_source: Callable[..., AppStoreSource], app_id: str, country: str, path: str
) -> None:
    store = FakeAppStore([fixture_bytes("reviews_empty.json")])
    spec = SearchSpec(query="acme", options={"app_id": app_id, "country": country})

    make_source(store).fetch(spec, {}, now=NOW)

    assert store.requests[0].url.path.startswith(path)


@pytest.mark.parametrize(
    ("app_id", "country", "message"),
    [
        (None, "us", "has no app id"),
        ("", "us", "has no app id"),
        ("acme-pay", "us", "app's number"),
        ("1459523498/../../x", "us", "app's number"),
        (APP_ID, "usa", "two-letter"),
        (APP_ID, "u1", "two-letter"),
        (APP_ID, "", "two-letter"),
    ],
)
def test_fetch_rejects_a_bad_app_id_or_country_before_any_request(
    make_source: Callable[..., AppStoreSource], app_id: str | None, country: str, message: str
) -> None:
    store = two_pages()
    options = {"country": country} if app_id is None else {"app_id": app_id, "country": country}
    spec = SearchSpec(query="acme", options=options)

    with pytest.raises(SourceError, match=message):
        make_source(store).fetch(spec, {}, now=NOW)

    assert store.requests == []


@pytest.mark.parametrize("cursor", [{"seen": "11872051903"}, {"seen": [11872051903]}])
def test_fetch_rejects_a_malformed_cursor(
    make_source: Callable[..., AppStoreSource], cursor: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="App Store cursor"):
        make_source(two_pages()).fetch(SPEC, cursor, now=NOW)


def test_max_pages_beyond_what_the_feed_serves_is_refused() -> None:
    with httpx.Client() as client, pytest.raises(ValueError, match="max_pages"):
        AppStoreSource(client, max_pages=11)


# --- I/O failures --------------------------------------------------------------------------


def answer(response: httpx.Response) -> Handler:
    """Return a handler that always gives `response`."""
    return lambda request: response


def test_429_raises_rate_limited_with_the_retry_after(
    make_source: Callable[..., AppStoreSource],
) -> None:
    source = make_source(answer(httpx.Response(429, headers={"Retry-After": "45"})))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 45


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_http_errors_raise_source_error_naming_the_status(
    make_source: Callable[..., AppStoreSource], status: int
) -> None:
    source = make_source(answer(httpx.Response(status, text="error")))

    with pytest.raises(SourceError, match=str(status)):
        source.fetch(SPEC, {}, now=NOW)


def test_an_error_on_a_later_page_fails_the_whole_fetch(
    make_source: Callable[..., AppStoreSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "/page=1/" in request.url.path:
            return httpx.Response(200, content=fixture_bytes("reviews_page1.json"))
        return httpx.Response(502, text="Bad Gateway")

    with pytest.raises(SourceError, match="502"):
        make_source(handler).fetch(SPEC, {"seen": []}, now=NOW)


def test_an_html_page_served_with_200_raises_source_error(
    make_source: Callable[..., AppStoreSource],
) -> None:
    page = httpx.Response(200, text="<!DOCTYPE html><html><body>Apple</body></html>")

    with pytest.raises(SourceError, match="HTML"):
        make_source(answer(page)).fetch(SPEC, {}, now=NOW)
