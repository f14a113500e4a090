"""RSS / Atom source: parsing feeds safely and polling them through a mock transport."""

from __future__ import annotations

import io
import logging
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError
from bot.sources.rss import SEEN_MAX, RssSource, parse_mentions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "rss"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
FEED_URL = "https://www.google.com/alerts/feeds/05718299374511629304/1440338734815183551"
SPEC = SearchSpec(query="acme", options={"feed_url": FEED_URL})
ALERT = "tag:google.com,2013:googlealerts/feed:"
OUTAGE = ALERT + "7731046112209484631"  # 2026-01-15T11:42:07Z
CAFE = ALERT + "12501224780620368192"  # 2026-01-15T08:15:00Z
PLANT = ALERT + "3390817262253917720"  # 2026-01-14T20:03:51Z
RESULTS = ALERT + "16079183529938541214"  # 2026-01-13T09:00:00Z, outside the first backfill

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded body from tests/fixtures/rss."""
    return (FIXTURES / name).read_bytes()


def by_id(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


def atom(*entries: str, head: str = "") -> bytes:
    """A minimal Atom feed around `entries`."""
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>tag:example.com,2026:feed</id>{head}{''.join(entries)}</feed>"
    ).encode()


def atom_entry(entry_id: str, published: str, *, link: str = "https://news.example.com/a") -> str:
    """One Atom entry."""
    return (
        f"<entry><id>{entry_id}</id><title>Acme {entry_id}</title>"
        f'<link href="{link}"/><published>{published}</published></entry>'
    )


class FakeFeed:
    """Serves a feed body with validators and answers conditional GETs with 304."""

    def __init__(self, body: bytes, *, etag: str | None = '"v1"', modified: str | None = None):
        self.body = body
        self.etag = etag
        self.modified = modified
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.etag and request.headers.get("if-none-match") == self.etag:
            return httpx.Response(304, headers={"ETag": self.etag})
        headers = {"Content-Type": "application/atom+xml; charset=utf-8"}
        if self.etag:
            headers["ETag"] = self.etag
        if self.modified:
            headers["Last-Modified"] = self.modified
        return httpx.Response(200, headers=headers, content=self.body)


@pytest.fixture
def make_source() -> Iterator[Callable[..., RssSource]]:
    """Build an RssSource over a MockTransport; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> RssSource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("sleep", lambda _s: None)
        # No DNS here: hostnames can't be checked, so most tests allow them; the address
        # checks themselves are tested with numeric hosts below.
        kwargs.setdefault("allow_private", True)
        return RssSource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


def alerts_feed(**kwargs: Any) -> FakeFeed:
    return FakeFeed(fixture_bytes("google_alerts.xml"), **kwargs)


# --- parsing: Google Alerts ----------------------------------------------------------------


def test_google_alert_title_loses_its_bold_tags() -> None:
    outage = by_id(parse_mentions(fixture_bytes("google_alerts.xml"), now=NOW))[OUTAGE]

    assert outage.network == "rss"
    assert outage.title == "Acme Cloud outage leaves retailers scrambling for a second day"


def test_google_alert_link_is_unwrapped_to_the_article() -> None:
    mentions = by_id(parse_mentions(fixture_bytes("google_alerts.xml"), now=NOW))

    assert mentions[OUTAGE].url == "https://www.example-news.com/tech/2026/01/15/acme-cloud-outage"
    assert mentions[OUTAGE].link_url == mentions[OUTAGE].url  # the article, not Google's redirect
    # The real URL's own query was percent-encoded inside `url=`.
    assert mentions[CAFE].url == "https://blog.example.de/2026/01/cafe-mueller-acme?ref=alert"
    assert mentions[PLANT].url.startswith("http://www.smalltown-gazette.example.org/news/")


def test_google_alert_without_author_is_credited_to_the_articles_domain() -> None:
    mentions = by_id(parse_mentions(fixture_bytes("google_alerts.xml"), now=NOW))

    assert mentions[OUTAGE].author.handle == "example-news.com"
    assert mentions[OUTAGE].author.url == "https://example-news.com"
    assert mentions[OUTAGE].author.display_name is None
    assert mentions[PLANT].author.handle == "smalltown-gazette.example.org"


def test_google_alert_content_is_plain_text_with_entities_decoded() -> None:
    mentions = by_id(parse_mentions(fixture_bytes("google_alerts.xml"), now=NOW))

    assert mentions[OUTAGE].text == (
        "Shoppers could not check out at dozens of stores on Thursday after Acme Cloud's "
        "payments API went down for the second time this week\xa0..."
    )
    assert mentions[CAFE].text == (
        "Das Café setzt seit Montag auf Acme Pay & Kasse.\n"
        'Inhaberin Jana Müller: "Endlich keine Warteschlangen"\xa0...'
    )
    assert mentions[CAFE].title == "Café Müller stellt auf Acme um – „endlich schnelle Kassen“"


def test_google_alert_published_time_is_utc() -> None:
    outage = by_id(parse_mentions(fixture_bytes("google_alerts.xml"), now=NOW))[OUTAGE]

    assert outage.created_at == datetime(2026, 1, 15, 11, 42, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/url?url=https://news.example.com/a",
        "https://www.google.com/search?url=https://news.example.com/a",
        "https://www.google.com.evil.example/url?url=https://news.example.com/a",
        "https://www.google.com/url?url=javascript:alert(1)",
    ],
)
def test_only_a_google_url_redirect_to_an_http_page_is_unwrapped(link: str) -> None:
    escaped = link.replace("&", "&amp;")
    (mention,) = parse_mentions(
        atom(atom_entry("urn:x:1", "2026-01-15T10:00:00Z", link=escaped)), now=NOW
    )

    assert mention.url == link


# --- parsing: RSS 2.0, Atom, RSS 1.0 -------------------------------------------------------


def rss_blog() -> dict[str, FetchedMention]:
    body = fixture_bytes("rss2_blog.xml")
    return by_id(parse_mentions(body, now=NOW, feed_url="https://widgetweekly.example/feed/"))


def test_rss_item_maps_guid_creator_date_and_channel_language() -> None:
    post = rss_blog()["https://widgetweekly.example/?p=4182"]

    assert post.url == "https://widgetweekly.example/2026/01/15/moved-to-acme/"
    assert post.link_url == post.url
    assert post.title == "Why we moved our shop to Acme – and what broke"
    assert post.author.handle == "widgetweekly.example"
    assert post.author.display_name == "Priya Raman"
    assert post.created_at == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert post.lang == "en"


def test_rss_description_is_stripped_to_plain_paragraphs() -> None:
    post = rss_blog()["https://widgetweekly.example/?p=4182"]

    assert post.text.startswith(
        "After three years on our own servers we switched to Acme. "
        "Here’s the honest version & the bill.\n"
    )
    assert "<" not in post.text


def test_rss_bare_guid_is_made_global_with_the_channel_link() -> None:
    mentions = rss_blog()

    assert "4179" not in mentions
    pricing = mentions["https://widgetweekly.example/#4179"]
    assert pricing.title == "Acme's new pricing, annotated"  # double-escaped entity decoded


def test_rss_relative_link_is_resolved_against_the_feed_url() -> None:
    pricing = rss_blog()["https://widgetweekly.example/#4179"]

    assert pricing.url == "https://widgetweekly.example/2026/01/14/acme-pricing/"


def test_rss_pubdate_in_a_named_us_zone_becomes_utc() -> None:
    pricing = rss_blog()["https://widgetweekly.example/#4179"]

    assert pricing.created_at == datetime(2026, 1, 14, 22, 5, tzinfo=UTC)


def test_rss_author_email_gives_only_the_name_in_parentheses() -> None:
    mentions = rss_blog()

    assert mentions["https://widgetweekly.example/#4179"].author.display_name == "Sam O'Neil"


def test_rss_item_without_guid_is_identified_by_its_link_and_dated_now() -> None:
    bookmark = rss_blog()["https://widgetweekly.example/links/acme-status/"]

    assert bookmark.created_at == NOW
    assert bookmark.text == "Handy when checkout stalls: status.acme.example"  # content:encoded


def test_rss_item_without_guid_or_link_gets_a_stable_hash_id_and_the_site_url() -> None:
    first = [m for m in rss_blog().values() if m.external_id.startswith("urn:sha256:")]
    again = [m for m in rss_blog().values() if m.external_id.startswith("urn:sha256:")]

    assert len(first) == 1
    assert first[0].external_id == again[0].external_id
    assert first[0].url == "https://widgetweekly.example/"
    assert first[0].author.display_name is None  # a bare e-mail is not shown as a name


def test_rss_javascript_link_is_never_used() -> None:
    pick = rss_blog()["urn:uuid:0b1e6c58-2f4e-4a4c-9d0e-7a7c2f3b9e11"]

    assert pick.url == "https://widgetweekly.example/"


def test_rss_item_with_nothing_to_identify_it_is_skipped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.rss"):
        mentions = rss_blog()

    assert len(mentions) == 5
    assert any("no id, link or title" in r.getMessage() for r in caplog.records)


def test_atom_entry_resolves_xml_base_and_prefers_the_alternate_link() -> None:
    post = by_id(parse_mentions(fixture_bytes("atom_blog.xml"), now=NOW))[
        "tag:blog.example.net,2026:/posts/acme-und-ich"
    ]

    assert post.url == "https://blog.example.net/posts/acme-und-ich"
    assert post.title == "Acme & ich: ein Jahr später"
    assert post.text == "Ein Jahr mit Acme: was blieb, was ging."  # xhtml summary
    assert post.created_at == datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
    assert post.lang == "de"


def test_atom_entry_inherits_the_feed_author_unless_it_names_its_own() -> None:
    mentions = by_id(parse_mentions(fixture_bytes("atom_blog.xml"), now=NOW))
    post = mentions["tag:blog.example.net,2026:/posts/acme-und-ich"]
    guest = mentions["tag:blog.example.net,2026:/posts/acme-heart"]

    assert post.author.display_name == "Jörg Weiß"
    assert post.author.url == "https://blog.example.net/about"
    assert guest.author.display_name == "Guest: Ana Lima"
    assert guest.author.url == "https://blog.example.net"


def test_atom_entry_without_published_uses_updated_and_its_own_language() -> None:
    guest = by_id(parse_mentions(fixture_bytes("atom_blog.xml"), now=NOW))[
        "tag:blog.example.net,2026:/posts/acme-heart"
    ]

    assert guest.created_at == datetime(2026, 1, 14, 23, 59, 59, tzinfo=UTC)
    assert guest.lang == "en"
    assert guest.title == "I <3 Acme's CLI"  # a text title is not parsed as HTML


def test_rss_1_0_rdf_feed_in_latin_1_is_read() -> None:
    (topic,) = parse_mentions(fixture_bytes("rdf_latin1.xml"), now=NOW)

    assert topic.external_id == "https://forum.example.fr/t/1201"
    assert topic.title == "Problème avec Acme après la mise à jour"
    assert topic.author.display_name == "lucie_b"
    assert topic.created_at == datetime(2026, 1, 15, 6, 30, tzinfo=UTC)
    assert topic.lang == "fr"


def test_an_entry_dated_in_the_future_is_dated_now() -> None:
    (mention,) = parse_mentions(atom(atom_entry("urn:x:1", "2099-01-01T00:00:00Z")), now=NOW)

    assert mention.created_at == NOW


def test_an_overlong_id_is_hashed_to_fit_the_database() -> None:
    (mention,) = parse_mentions(
        atom(atom_entry("urn:x:" + "a" * 2000, "2026-01-15T00:00:00Z")), now=NOW
    )

    assert mention.external_id.startswith("urn:sha256:")
    assert len(mention.external_id) < 100


# --- parsing: hostile and broken bodies ----------------------------------------------------


def test_billion_laughs_is_refused_quickly_and_in_little_memory() -> None:
    body = fixture_bytes("billion_laughs.xml")
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(SourceError, match="DTD"):
            parse_mentions(body, now=NOW)
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert elapsed < 1.0
    assert peak < 5_000_000  # expanded, the entity would be 3 GB of "lol"


def test_external_entities_are_refused_and_never_read() -> None:
    with pytest.raises(SourceError, match="DTD") as caught:
        parse_mentions(fixture_bytes("external_entity.xml"), now=NOW)

    assert "root:" not in str(caught.value)


def test_a_feed_with_an_external_dtd_is_refused() -> None:
    with pytest.raises(SourceError, match="DTD"):
        parse_mentions(fixture_bytes("rss091_doctype.xml"), now=NOW)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (fixture_bytes("error_page.html"), "HTML"),
        (b"<html><body>Bad gateway</body></html>", "HTML"),
        (b"<?xml version='1.0'?><opml version='2.0'><body/></opml>", "not RSS or Atom"),
        (b'<rss version="2.0"></rss>', "no <channel>"),
        (b"", "not well-formed"),
        (b'{"items": []}', "not well-formed"),
        (
            b"<rss><channel><item><title>Acme &nbsp; news</title></item></channel></rss>",
            "well-formed",
        ),
        (b'<?xml version="1.0" encoding="klingon"?><rss/>', "not well-formed"),
    ],
)
def test_parse_rejects_a_body_that_is_not_a_feed_with_source_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body, now=NOW)


def test_parse_rejects_the_recorded_feed_cut_short() -> None:
    body = fixture_bytes("google_alerts.xml")

    with pytest.raises(SourceError, match="not well-formed"):
        parse_mentions(body[: len(body) // 2], now=NOW)


# --- fetching: address checks --------------------------------------------------------------


def test_source_satisfies_the_source_protocol(make_source: Callable[..., RssSource]) -> None:
    source: Source = make_source(alerts_feed())

    assert source.name == "rss"
    assert source.missing_settings == ()
    assert source.fetch_author("example-news.com") is None


def test_fetch_without_a_feed_url_raises_source_error(
    make_source: Callable[..., RssSource],
) -> None:
    feed = alerts_feed()

    with pytest.raises(SourceError, match="RSS watch has no feed URL"):
        make_source(feed).fetch(SearchSpec(query="acme"), {}, now=NOW)

    assert feed.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/feed",
        "http://10.1.2.3/feed",
        "file:///etc/passwd",
        "https://user:secret@93.184.215.14/feed",
    ],
)
def test_a_feed_url_inside_our_network_is_refused_before_any_request(
    make_source: Callable[..., RssSource], url: str
) -> None:
    feed = alerts_feed()
    source = make_source(feed, allow_private=False)

    with pytest.raises(SourceError, match="refused"):
        source.fetch(SearchSpec(query="acme", options={"feed_url": url}), {}, now=NOW)

    assert feed.requests == []


def test_a_redirect_from_a_public_feed_to_the_metadata_service_is_refused(
    make_source: Callable[..., RssSource],
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})

    source = make_source(handler, allow_private=False)

    with pytest.raises(SourceError, match="refused redirect"):
        source.fetch(
            SearchSpec(query="acme", options={"feed_url": "https://93.184.215.14/feed"}),
            {},
            now=NOW,
        )

    assert seen == ["https://93.184.215.14/feed"]


def test_allow_private_lets_a_local_feed_through(make_source: Callable[..., RssSource]) -> None:
    feed = alerts_feed()
    spec = SearchSpec(query="acme", options={"feed_url": "http://127.0.0.1:8080/alerts.xml"})

    result = make_source(feed, allow_private=True).fetch(spec, {}, now=NOW)

    assert result.mentions
    assert str(feed.requests[0].url) == "http://127.0.0.1:8080/alerts.xml"


# --- fetching: incremental -----------------------------------------------------------------


def test_first_fetch_returns_entries_within_the_backfill_oldest_first(
    make_source: Callable[..., RssSource],
) -> None:
    result = make_source(alerts_feed()).fetch(SPEC, {}, now=NOW)

    assert [m.external_id for m in result.mentions] == [PLANT, CAFE, OUTAGE]


def test_first_fetch_remembers_every_entry_newest_first_with_the_validators(
    make_source: Callable[..., RssSource],
) -> None:
    feed = alerts_feed(modified="Thu, 15 Jan 2026 11:42:07 GMT")

    cursor = make_source(feed).fetch(SPEC, {}, now=NOW).cursor

    assert cursor == {
        "seen": [OUTAGE, CAFE, PLANT, RESULTS],
        "newest": "2026-01-15T11:42:07+00:00",
        "etag": '"v1"',
        "last_modified": "Thu, 15 Jan 2026 11:42:07 GMT",
    }


def test_fetch_asks_for_feeds_in_the_accept_header(make_source: Callable[..., RssSource]) -> None:
    feed = alerts_feed()

    make_source(feed).fetch(SPEC, {}, now=NOW)

    assert "application/atom+xml" in feed.requests[0].headers["accept"]
    assert "if-none-match" not in feed.requests[0].headers


def test_later_fetch_sends_the_validators_and_a_304_changes_nothing(
    make_source: Callable[..., RssSource],
) -> None:
    feed = alerts_feed()
    cursor = {
        "seen": [OUTAGE],
        "newest": "2026-01-15T11:42:07+00:00",
        "etag": '"v1"',
        "last_modified": "Thu, 15 Jan 2026 11:42:07 GMT",
    }

    result = make_source(feed).fetch(SPEC, cursor, now=NOW + timedelta(minutes=30))

    assert feed.requests[0].headers["if-none-match"] == '"v1"'
    assert feed.requests[0].headers["if-modified-since"] == "Thu, 15 Jan 2026 11:42:07 GMT"
    assert result.mentions == []
    assert result.cursor == cursor


def test_refetching_an_unchanged_feed_without_validators_finds_nothing_new(
    make_source: Callable[..., RssSource],
) -> None:
    source = make_source(alerts_feed(etag=None))
    first = source.fetch(SPEC, {}, now=NOW)

    second = source.fetch(SPEC, first.cursor, now=NOW + timedelta(minutes=30))

    assert second.mentions == []
    assert second.cursor == first.cursor


def test_later_fetch_returns_only_the_entry_not_seen_before(
    make_source: Callable[..., RssSource],
) -> None:
    old = atom(atom_entry("urn:x:1", "2026-01-15T09:00:00Z"))
    grown = atom(
        atom_entry("urn:x:2", "2026-01-15T11:00:00Z", link="https://news.example.com/b"),
        atom_entry("urn:x:1", "2026-01-15T09:00:00Z"),
    )
    cursor = make_source(FakeFeed(old, etag=None)).fetch(SPEC, {}, now=NOW).cursor

    result = make_source(FakeFeed(grown, etag=None)).fetch(SPEC, cursor, now=NOW)

    assert [m.external_id for m in result.mentions] == ["urn:x:2"]
    assert result.cursor["seen"] == ["urn:x:2", "urn:x:1"]
    assert result.cursor["newest"] == "2026-01-15T11:00:00+00:00"


def test_later_fetch_keeps_a_backdated_new_entry_but_not_an_ancient_one(
    make_source: Callable[..., RssSource],
) -> None:
    body = atom(
        atom_entry("urn:x:backdated", "2026-01-12T20:00:00Z"),  # posted late, dated earlier
        atom_entry("urn:x:ancient", "2025-06-01T00:00:00Z"),  # fell off a long `seen` list
    )
    cursor = {"seen": ["urn:x:1"], "newest": "2026-01-15T09:00:00+00:00"}
    source = make_source(FakeFeed(body, etag=None), backfill=timedelta(hours=1))

    result = source.fetch(SPEC, cursor, now=NOW)

    assert [m.external_id for m in result.mentions] == ["urn:x:backdated"]
    assert "urn:x:ancient" in result.cursor["seen"]


def test_the_newest_mark_never_moves_backwards(make_source: Callable[..., RssSource]) -> None:
    body = atom(atom_entry("urn:x:9", "2026-01-10T00:00:00Z"))
    cursor = {"seen": ["urn:x:1"], "newest": "2026-01-15T09:00:00+00:00", "etag": '"old"'}

    result = make_source(FakeFeed(body, etag=None)).fetch(SPEC, cursor, now=NOW)

    assert result.cursor["newest"] == "2026-01-15T09:00:00+00:00"
    assert "etag" not in result.cursor  # the new answer had no ETag: the old one is stale


def test_seen_ids_are_bounded_keeping_the_newest(make_source: Callable[..., RssSource]) -> None:
    start = datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    entries = [
        atom_entry(f"urn:x:{n}", (start - timedelta(seconds=n)).isoformat()) for n in range(600)
    ]
    old_seen = [f"urn:old:{n}" for n in range(SEEN_MAX)]

    result = make_source(FakeFeed(atom(*entries), etag=None)).fetch(
        SPEC, {"seen": old_seen}, now=NOW
    )

    assert len(result.cursor["seen"]) == SEEN_MAX
    assert result.cursor["seen"][:2] == ["urn:x:0", "urn:x:1"]
    assert len(result.mentions) == 600


def test_an_entry_listed_twice_in_one_feed_is_one_mention(
    make_source: Callable[..., RssSource],
) -> None:
    entry = atom_entry("urn:x:1", "2026-01-15T09:00:00Z")

    result = make_source(FakeFeed(atom(entry, entry), etag=None)).fetch(SPEC, {}, now=NOW)

    assert [m.external_id for m in result.mentions] == ["urn:x:1"]


def test_relative_links_resolve_against_the_final_url_after_a_redirect(
    make_source: Callable[..., RssSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old-feed":
            return httpx.Response(301, headers={"Location": "https://blog.example.org/feed.xml"})
        body = atom('<entry><id>urn:x:1</id><title>Acme</title><link href="/p/1"/></entry>')
        return httpx.Response(200, content=body)

    spec = SearchSpec(query="acme", options={"feed_url": "https://old.example.org/old-feed"})
    (mention,) = make_source(handler).fetch(spec, {}, now=NOW).mentions

    assert mention.url == "https://blog.example.org/p/1"


@pytest.mark.parametrize(
    "cursor",
    [{"seen": "urn:x:1"}, {"seen": [1, 2]}, {"seen": [], "newest": "yesterday"}],
)
def test_fetch_rejects_a_malformed_cursor(
    make_source: Callable[..., RssSource], cursor: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="RSS cursor"):
        make_source(alerts_feed()).fetch(SPEC, cursor, now=NOW)


# --- fetching: failures --------------------------------------------------------------------


def answer(response: httpx.Response) -> Handler:
    """Return a handler that always gives `response`."""
    return lambda request: response


def test_a_hostile_feed_served_by_the_network_raises_source_error(
    make_source: Callable[..., RssSource],
) -> None:
    source = make_source(answer(httpx.Response(200, content=fixture_bytes("billion_laughs.xml"))))
    started = time.perf_counter()

    with pytest.raises(SourceError, match="DTD"):
        source.fetch(SPEC, {}, now=NOW)

    assert time.perf_counter() - started < 1.0


def test_a_50_mb_feed_declared_up_front_is_refused_before_reading(
    make_source: Callable[..., RssSource],
) -> None:
    read: list[int] = []

    def body() -> Iterator[bytes]:
        read.append(1)
        yield b"<rss>"

    response = httpx.Response(200, headers={"Content-Length": str(50_000_000)}, content=body())

    with pytest.raises(SourceError, match="50000000 bytes"):
        make_source(answer(response)).fetch(SPEC, {}, now=NOW)

    assert read == []


def test_a_50_mb_streamed_feed_is_cut_off_at_the_cap_before_parsing(
    make_source: Callable[..., RssSource],
) -> None:
    sent: list[int] = []
    chunk = b"<item>" + b"x" * (1_000_000 - 6)

    def endless() -> Iterator[bytes]:
        yield b'<rss version="2.0"><channel>'
        for n in range(50):
            sent.append(n)
            yield chunk

    source = make_source(answer(httpx.Response(200, content=endless())))

    with pytest.raises(SourceError, match="cap"):
        source.fetch(SPEC, {}, now=NOW)

    assert len(sent) <= 6  # 5 MB cap: stopped right after it, not after 50 MB


def test_429_raises_rate_limited_with_the_retry_after(
    make_source: Callable[..., RssSource],
) -> None:
    source = make_source(answer(httpx.Response(429, headers={"Retry-After": "900"})))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 900


@pytest.mark.parametrize("status", [404, 410, 500, 503])
def test_http_errors_raise_source_error_naming_the_status(
    make_source: Callable[..., RssSource], status: int
) -> None:
    source = make_source(answer(httpx.Response(status, text="nope")))

    with pytest.raises(SourceError, match=str(status)) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert not isinstance(caught.value, RateLimited)


def test_a_failed_fetch_raises_rather_than_returning_a_moved_cursor(
    make_source: Callable[..., RssSource],
) -> None:
    cut = fixture_bytes("google_alerts.xml")[:900]

    with pytest.raises(SourceError):
        make_source(answer(httpx.Response(200, content=cut))).fetch(SPEC, {"seen": []}, now=NOW)


# --- parsing: older dialects and extensions ------------------------------------------------
# Each of these feeds was missed, in whole or in part, before feedparser read the bytes the
# defusedxml check had passed (tests/fixtures/rss/README.md lists what each one shows).


def dialect(name: str) -> dict[str, FetchedMention]:
    body = (FIXTURES / "dialects" / name).read_bytes()
    return by_id(parse_mentions(body, now=NOW, feed_url="https://feeds.example.com/feed"))


def test_rss_0_90_items_are_read() -> None:
    mentions = dialect("rss090.xml")

    floppy = mentions["http://retro.example.org/news/acme-floppy"]
    assert floppy.url == "http://retro.example.org/news/acme-floppy"
    assert floppy.title == "Acme floppy emulator ships"
    assert len(mentions) == 2


def test_atom_0_3_entries_are_read_with_their_issued_date_and_the_feed_author() -> None:
    mentions = dialect("atom03.xml")

    sdk = mentions["tag:devnotes.example.com,2026:acme-sdk-3"]
    assert sdk.url == "https://devnotes.example.com/2026/01/acme-sdk-3"
    assert sdk.text == "What changed when we moved to Acme SDK 3."
    assert sdk.created_at == datetime(2026, 1, 15, 7, 30, tzinfo=UTC)
    assert sdk.author.display_name == "Kim Lee"
    assert sdk.lang == "en"
    limits = mentions["tag:devnotes.example.com,2026:acme-limits"]
    assert limits.text == "Three tiers, one surprise."


def test_rss_2_0_in_the_userland_namespace_is_read() -> None:
    (post,) = dialect("rss2_userland_ns.xml").values()

    assert post.external_id == "http://weblog.example.net/2026/01/15#a1"
    assert post.text == "Acme announced today that it has bought a weblog host."
    assert post.created_at == datetime(2026, 1, 15, 9, 12, tzinfo=UTC)
    assert post.lang == "en"


def test_dates_spelled_in_other_ways_are_read() -> None:
    mentions = dialect("rss2_odd_dates.xml")

    assert {url.rsplit("/", 1)[1]: m.created_at for url, m in mentions.items()} == {
        "1": datetime(2026, 1, 15, 9, 30, tzinfo=UTC),  # an offset written +01:00
        "2": datetime(2026, 1, 15, 0, 0, tzinfo=UTC),  # a day without a time
        "3": datetime(2026, 1, 15, 7, 45, tzinfo=UTC),  # Greek day and month names
        # A zone abbreviation neither parser knows is taken as UTC (CET is an hour ahead).
        "4": datetime(2026, 1, 15, 10, 0, tzinfo=UTC),
    }


def test_a_youtube_video_feed_gives_the_media_description_as_text() -> None:
    (video,) = dialect("youtube_media.xml").values()

    assert video.external_id == "yt:video:AcMeVid0001"
    assert video.url == "https://www.youtube.com/watch?v=AcMeVid0001"
    assert video.text.startswith("The battery is great, the camera less so.")
    assert video.title == "Acme Phone X review: two weeks later"
    assert video.author.display_name == "Gadget Reviews"


def test_an_rss_item_with_only_media_rss_text_gives_it() -> None:
    (photo,) = dialect("rss2_media_only.xml").values()

    assert photo.text == "Queue round the block for the new Acme store."
    assert photo.created_at == datetime(2026, 1, 15, 2, 22, 5, tzinfo=UTC)


def test_a_podcast_episode_gives_its_itunes_summary_and_author() -> None:
    (episode,) = dialect("podcast_itunes.xml").values()

    assert episode.external_id == "https://smallbiz.example.fm/#smallbiz-212"
    assert episode.text == "Dana talks with a bakery owner who moved her payments to Acme."
    assert episode.author.display_name == "Dana Cole"


def test_an_rss_item_linked_only_by_atom_link_keeps_its_link() -> None:
    (incident,) = dialect("rss2_atom_link.xml").values()

    assert incident.url == "https://status.example.io/incidents/k2x9"
    assert incident.external_id == "https://status.example.io/incidents/k2x9"


def test_feedparser_only_ever_sees_bytes_the_xml_check_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[object] = []
    real_parse = feedparser.parse

    def spy(data: object, **kwargs: Any) -> Any:
        seen.append(data)
        return real_parse(data, **kwargs)

    monkeypatch.setattr(feedparser, "parse", spy)
    for name in ("billion_laughs.xml", "external_entity.xml", "rss091_doctype.xml"):
        with pytest.raises(SourceError, match="DTD"):
            parse_mentions(fixture_bytes(name), now=NOW)
    with pytest.raises(SourceError, match="well-formed"):
        parse_mentions(b"/etc/passwd", now=NOW)  # feedparser would open a path given as bytes
    assert seen == []

    parse_mentions(fixture_bytes("google_alerts.xml"), now=NOW)

    (data,) = seen
    assert isinstance(data, io.BytesIO)  # never a string it could take for a URL or a path


def test_a_date_written_with_slashes_keeps_its_day_instead_of_falling_out_of_the_window() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
      <item><title>acme news</title><link>https://news.example/a</link>
        <pubDate>2026/01/15 10:30:00</pubDate></item></channel></rss>"""

    (mention,) = parse_mentions(body, now=NOW, feed_url="https://feeds.example.com/feed")

    assert mention.created_at == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
