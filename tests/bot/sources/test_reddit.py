"""Reddit source: parsing recorded-shape Listings and fetching through a mock transport."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError
from bot.sources.reddit import RedditSource, parse_authors, parse_mentions
from tests.conftest import Clock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reddit"
SPEC = SearchSpec(query="acme")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
NOW_S = 1768478400.0  # NOW as epoch seconds
CLIENT_ID = "p-jcoLKBynTLew"
CLIENT_SECRET = "gko_LXELoV07ZBNUXrvWZfzE3aI"
USER_AGENT = "python:overheard-tests:0.1 (by /u/overheard_dev)"
TOKEN = json.loads((FIXTURES / "access_token.json").read_text())["access_token"]
NEWEST = "t3_1q4c9rm"  # the newest submission in the fixtures, NOW - 8 min
PAGE1_AFTER = "t3_1q49x0c"

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded-shape body from tests/fixtures/reddit."""
    return (FIXTURES / name).read_bytes()


def by_id(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


def listing(*children: dict[str, Any], after: str | None = None) -> bytes:
    """A Listing body holding `children` as t3 things."""
    things = [{"kind": "t3", "data": child} for child in children]
    return json.dumps({"kind": "Listing", "data": {"after": after, "children": things}}).encode()


class FakeReddit:
    """Serves the token endpoint, search pages by `after` and user `about`; records requests."""

    def __init__(
        self,
        pages: dict[str | None, bytes] | None = None,
        *,
        search_headers: dict[str, str] | None = None,
        token_response: httpx.Response | None = None,
        comments: dict[str | None, bytes] | None = None,
    ) -> None:
        self.pages = pages if pages is not None else two_pages()
        self.comments = comments or {}  # comment listing pages by `after`; none by default
        self.search_headers = search_headers or {}
        self.token_response = token_response
        self.requests: list[httpx.Request] = []
        self.refuse_tokens: set[str] = set()  # bearer tokens the API answers 401 to
        self.tokens_issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/v1/access_token":
            if self.token_response is not None:
                return self.token_response
            self.tokens_issued += 1
            body = json.loads(fixture_bytes("access_token.json"))
            body["access_token"] = f"{TOKEN}-{self.tokens_issued}"
            return httpx.Response(200, json=body)
        bearer = request.headers.get("authorization", "").removeprefix("bearer ")
        if bearer in self.refuse_tokens:
            return httpx.Response(401, content=fixture_bytes("unauthorized.json"))
        if request.url.path.endswith("/search"):
            after = request.url.params.get("after")
            body = self.pages.get(after, fixture_bytes("search_empty.json"))
            return httpx.Response(200, content=body, headers=self.search_headers)
        if request.url.path.endswith("/comments"):
            after = request.url.params.get("after")
            return httpx.Response(
                200, content=self.comments.get(after, fixture_bytes("search_empty.json"))
            )
        if request.url.path == "/user/quiet_lantern/about":
            return httpx.Response(200, content=fixture_bytes("user_about.json"))
        return httpx.Response(404, json={"message": "Not Found", "error": 404})

    def searches(self) -> list[httpx.Request]:
        """The search requests, in order."""
        return [r for r in self.requests if r.url.path == "/search"]

    def token_requests(self) -> list[httpx.Request]:
        """The access-token requests, in order."""
        return [r for r in self.requests if r.url.path == "/api/v1/access_token"]


def two_pages() -> dict[str | None, bytes]:
    return {
        None: fixture_bytes("search_page0.json"),
        PAGE1_AFTER: fixture_bytes("search_page1.json"),
    }


@pytest.fixture
def make_source() -> Iterator[Callable[..., RedditSource]]:
    """Build a configured RedditSource over a MockTransport; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> RedditSource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("client_id", CLIENT_ID)
        kwargs.setdefault("client_secret", CLIENT_SECRET)
        kwargs.setdefault("user_agent", USER_AGENT)
        kwargs.setdefault("sleep", lambda _s: None)
        return RedditSource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


# --- parsing -------------------------------------------------------------------------------


def test_parse_mentions_maps_a_self_post() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[NEWEST]

    assert post.network == "reddit"
    assert post.url == (
        "https://www.reddit.com/r/devops/comments/1q4c9rm/acme_queue_dropping_messages_after_the/"
    )
    assert post.title == "Acme Queue dropping messages after the 3.2 upgrade?"
    assert post.author.handle == "quiet_lantern"
    assert post.author.url == "https://www.reddit.com/user/quiet_lantern/"
    assert post.likes == 14
    assert post.replies == 9
    assert post.reposts == 0
    assert post.conversation_id == NEWEST
    assert post.parent_id is None
    assert post.lang is None


def test_parse_mentions_gives_tz_aware_utc_times_from_created_utc() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[NEWEST]

    assert post.created_at == datetime(2026, 1, 15, 11, 52, tzinfo=UTC)
    assert post.created_at.utcoffset() == timedelta(0)


def test_parse_mentions_keeps_raw_json_text_as_typed_and_cleans_it() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))[NEWEST]

    # raw_json=1: "&" and "<" arrive as typed, not as entities; blank runs fold, ZWSP goes.
    assert post.text == (
        "We upgraded three clusters to **Acme Queue 3.2** on Monday & since then ~0.1% of "
        "messages never reach consumers.\n\nThings we tried:\n\n* rolling back the client "
        "(no change)\n* `max_inflight < 500`\n\nAnyone else? R&D says <3 the new dashboard, "
        "ops does not."
    )


def test_parse_mentions_strips_a_bidi_override_from_the_text() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page1.json")))["t3_1q3zz8f"]

    assert post.text.endswith("nicht mehr gepflegt.")
    assert "\u202e" not in post.text
    assert post.title == "Erfahrungen mit Acme (Übersetzung der Doku fehlt)"


def test_parse_mentions_uses_title_and_target_as_text_of_a_link_post() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))["t3_1q4b7ze"]

    assert post.text == (
        "Acme raises $40M to build open-source observability\nhttps://www.acme.dev/blog/series-b"
    )
    assert post.likes == 212
    assert post.link_url == "https://www.acme.dev/blog/series-b"


def test_parse_mentions_gives_a_self_post_no_linked_page() -> None:
    mentions = by_id(parse_mentions(fixture_bytes("search_page0.json")))

    assert mentions[NEWEST].link_url is None
    assert mentions["t3_1q4a2kd"].link_url is None  # removed text: still a self post


def test_parse_mentions_keeps_a_deleted_author_without_a_profile_url() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))["t3_1q4b7ze"]

    assert post.author.handle == "[deleted]"
    assert post.author.url is None


def test_parse_mentions_falls_back_to_the_title_when_the_text_was_removed() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))["t3_1q4a2kd"]

    assert post.text == "Acme’s new pricing — thoughts? 🤔"
    assert post.title == "Acme’s new pricing — thoughts? 🤔"


def test_parse_mentions_ignores_the_relative_target_of_a_crosspost() -> None:
    post = by_id(parse_mentions(fixture_bytes("search_page0.json")))["t3_1q49x0c"]

    assert post.text == "Moved our whole lab off Acme Queue, writeup inside"
    assert post.link_url is None
    assert post.reposts == 2
    assert post.url.startswith("https://www.reddit.com/r/homelab/comments/1q49x0c/")


def test_parse_mentions_skips_a_child_without_fullname_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.reddit"):
        mentions = parse_mentions(fixture_bytes("search_page0.json"))

    assert [m.external_id for m in mentions] == [NEWEST, "t3_1q4b7ze", "t3_1q4a2kd", PAGE1_AFTER]
    assert any("name=None" in r.getMessage() for r in caplog.records)


def test_parse_mentions_skips_a_submission_without_created_utc_and_logs_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = listing({"name": "t3_abc", "title": "Acme", "created_utc": None})

    with caplog.at_level(logging.WARNING, logger="bot.sources.reddit"):
        assert parse_mentions(body) == []
    assert any("t3_abc" in r.getMessage() for r in caplog.records)


def test_parse_mentions_skips_children_that_are_neither_posts_nor_comments() -> None:
    body = listing({"name": "t5_2qh4b", "display_name": "devops", "created_utc": NOW_S})

    assert parse_mentions(body) == []


def test_a_comments_listing_parses_into_comments_in_their_submissions_thread() -> None:
    comments = by_id(parse_mentions(fixture_bytes("comments_page0.json")))

    assert sorted(comments) == ["t1_m7q2jxx", "t1_m7q2jzz", "t1_m7q2k1x"]  # the deleted one is gone
    reply = comments["t1_m7q2k1x"]
    assert reply.conversation_id == "t3_1q4c9rm"  # threads under the submission's card
    assert reply.conversation_title == "Acme Queue dropping messages after the 3.2 upgrade?"
    assert reply.parent_id == "t1_m7q1zz0"
    assert reply.url == "https://www.reddit.com/r/devops/comments/1q4c9rm/some_title/m7q2k1x/"
    assert reply.text.startswith("Same here since 3.2")
    assert reply.created_at == NOW - timedelta(seconds=60)
    assert (reply.author.handle, reply.author.account_id) == ("tidal_ferret", "t2_5xq1ab")
    assert reply.author.url == "https://www.reddit.com/user/tidal_ferret/"
    assert reply.likes == 3 and reply.title is None


def test_parse_mentions_of_a_bare_submission_builds_its_comments_url() -> None:
    (post,) = parse_mentions(listing({"name": "t3_zz9", "created_utc": NOW_S}))

    assert post.url == "https://www.reddit.com/comments/zz9/"
    assert post.text == ""
    assert post.title is None
    assert post.author.handle == ""
    assert post.author.url is None
    assert post.likes is None


def test_parse_mentions_of_an_empty_listing_is_empty() -> None:
    assert parse_mentions(fixture_bytes("search_empty.json")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!doctype html><html><body>whoa there, pardner!</body></html>", "HTML"),
        (b'{"kind": "Listing", "data": {"children": [{"kind": "t3", "da', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"[]", "not an object"),
        (b'{"message": "Forbidden", "error": 403}', "Listing"),
        (b'{"kind": "Listing", "data": {"children": {}}}', "Listing"),
    ],
)
def test_parse_mentions_rejects_a_malformed_body_with_source_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body)


def test_parse_authors_reads_total_karma_followers_and_verification() -> None:
    (author,) = parse_authors(fixture_bytes("user_about.json"))

    assert author.handle == "quiet_lantern"
    assert author.display_name == "Quiet Lantern"
    assert author.url == "https://www.reddit.com/user/quiet_lantern/"
    assert author.karma == 5333
    assert author.followers == 37
    assert author.verified is True
    assert author.created_at == datetime(2020, 9, 27, 19, 22, 47, tzinfo=UTC)


def test_parse_authors_adds_link_and_comment_karma_without_a_total() -> None:
    (author,) = parse_authors(fixture_bytes("user_about_no_total.json"))

    assert author.karma == 310 + 2044
    assert author.followers is None
    assert author.verified is False


def test_parse_authors_of_a_suspended_user_keeps_only_the_name() -> None:
    (author,) = parse_authors(fixture_bytes("user_about_suspended.json"))

    assert author.handle == "spam_acct_991"
    assert author.karma is None
    assert author.created_at is None


def test_parse_authors_of_a_body_naming_nobody_is_empty() -> None:
    assert parse_authors(b'{"kind": "t2", "data": {}}') == []
    assert parse_authors(b'{"message": "Not Found", "error": 404}') == []


def test_parse_authors_rejects_an_html_page() -> None:
    with pytest.raises(SourceError, match="HTML"):
        parse_authors(b"<html><body>Our CDN was unable to reach our servers</body></html>")


# --- configuration and auth ----------------------------------------------------------------


def test_source_satisfies_the_source_protocol(make_source: Callable[..., RedditSource]) -> None:
    source: Source = make_source(FakeReddit())

    assert source.name == "reddit"
    assert source.missing_settings == ()


@pytest.mark.parametrize(
    ("client_id", "client_secret", "missing"),
    [
        (None, None, ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET")),
        (CLIENT_ID, None, ("REDDIT_CLIENT_SECRET",)),
        ("", CLIENT_SECRET, ("REDDIT_CLIENT_ID",)),
    ],
)
def test_an_unconfigured_source_names_its_missing_settings_and_refuses_to_fetch(
    make_source: Callable[..., RedditSource],
    client_id: str | None,
    client_secret: str | None,
    missing: tuple[str, ...],
) -> None:
    reddit = FakeReddit()
    source = make_source(reddit, client_id=client_id, client_secret=client_secret)

    assert source.missing_settings == missing
    with pytest.raises(SourceError, match=f"not configured: set {', '.join(missing)}"):
        source.fetch(SPEC, {}, now=NOW)
    with pytest.raises(SourceError, match="not configured"):
        source.fetch_author("quiet_lantern")
    assert reddit.requests == []


def test_the_token_request_is_a_client_credentials_grant_with_basic_auth(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()

    make_source(reddit).fetch(SPEC, {}, now=NOW)

    (token_request,) = reddit.token_requests()
    assert token_request.method == "POST"
    assert str(token_request.url) == "https://www.reddit.com/api/v1/access_token"
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token_request.headers["authorization"] == f"Basic {basic}"
    assert token_request.headers["user-agent"] == USER_AGENT
    assert parse_qs(token_request.content.decode()) == {"grant_type": ["client_credentials"]}


def test_every_api_request_carries_the_bearer_token_and_the_user_agent(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()
    source = make_source(reddit)

    source.fetch(SPEC, {}, now=NOW)
    source.fetch_author("quiet_lantern")

    api = [r for r in reddit.requests if r.url.host == "oauth.reddit.com"]
    assert [r.url.path for r in api] == [
        "/r/all/comments",
        "/search",
        "/search",
        "/user/quiet_lantern/about",
    ]
    for request in api:
        assert request.headers["authorization"] == f"bearer {TOKEN}-1"
        assert request.headers["user-agent"] == USER_AGENT


def test_the_token_is_reused_until_shortly_before_it_expires(
    make_source: Callable[..., RedditSource],
) -> None:
    clock = Clock(NOW)
    reddit = FakeReddit()
    source = make_source(reddit, clock=clock)

    source.fetch(SPEC, {}, now=NOW)
    clock.advance(seconds=86400 - 61)  # expires_in is 86400; renewal starts 60 s before
    source.fetch(SPEC, {}, now=NOW)
    assert len(reddit.token_requests()) == 1

    clock.advance(seconds=2)
    source.fetch(SPEC, {}, now=NOW)
    assert len(reddit.token_requests()) == 2
    assert reddit.searches()[-1].headers["authorization"] == f"bearer {TOKEN}-2"


def test_a_refused_token_is_renewed_once_and_the_request_retried(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()
    source = make_source(reddit)
    source.fetch(SPEC, {}, now=NOW)
    reddit.refuse_tokens.add(f"{TOKEN}-1")  # revoked on Reddit's side

    result = source.fetch(SPEC, {}, now=NOW)

    assert result.mentions
    assert len(reddit.token_requests()) == 2
    assert reddit.searches()[-1].headers["authorization"] == f"bearer {TOKEN}-2"


def test_a_second_refusal_after_renewal_raises_source_error(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()
    reddit.refuse_tokens.update({f"{TOKEN}-1", f"{TOKEN}-2"})

    with pytest.raises(SourceError, match="401"):
        make_source(reddit).fetch(SPEC, {}, now=NOW)

    assert len(reddit.token_requests()) == 2


def test_refused_credentials_raise_source_error_naming_the_settings_not_the_secret(
    make_source: Callable[..., RedditSource],
) -> None:
    refused = httpx.Response(401, content=fixture_bytes("unauthorized.json"))
    reddit = FakeReddit(token_response=refused)

    with pytest.raises(SourceError, match="REDDIT_CLIENT_ID") as caught:
        make_source(reddit).fetch(SPEC, {}, now=NOW)

    assert "401" in str(caught.value)
    assert CLIENT_SECRET not in str(caught.value)
    assert reddit.searches() == []


def test_a_grant_error_answered_with_200_raises_source_error(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit(token_response=httpx.Response(200, json={"error": "invalid_grant"}))

    with pytest.raises(SourceError, match="invalid_grant"):
        make_source(reddit).fetch(SPEC, {}, now=NOW)


def test_a_token_answer_without_a_token_raises_source_error(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit(token_response=httpx.Response(200, json={"token_type": "bearer"}))

    with pytest.raises(SourceError, match="access_token"):
        make_source(reddit).fetch(SPEC, {}, now=NOW)


def test_a_rate_limited_token_request_raises_rate_limited_with_the_reset(
    make_source: Callable[..., RedditSource],
) -> None:
    limited = httpx.Response(429, headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "42"})

    with pytest.raises(RateLimited) as caught:
        make_source(FakeReddit(token_response=limited)).fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 42


def test_a_token_request_timeout_raises_source_error(
    make_source: Callable[..., RedditSource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(SourceError, match="timed out on the token request") as caught:
        make_source(handler).fetch(SPEC, {}, now=NOW)

    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_a_token_body_over_the_cap_raises_source_error(
    make_source: Callable[..., RedditSource],
) -> None:
    huge = httpx.Response(200, content=b'{"access_token": "' + b"x" * 100_000 + b'"}')

    with pytest.raises(SourceError, match="cap"):
        make_source(FakeReddit(token_response=huge)).fetch(SPEC, {}, now=NOW)


def test_a_token_endpoint_server_error_raises_source_error(
    make_source: Callable[..., RedditSource],
) -> None:
    broken = httpx.Response(503, text="<html>Our servers are busy</html>")

    with pytest.raises(SourceError, match="503") as caught:
        make_source(FakeReddit(token_response=broken)).fetch(SPEC, {}, now=NOW)

    assert not isinstance(caught.value, RateLimited)


# --- paging and the cursor -----------------------------------------------------------------


def test_fetch_searches_newest_first_and_pages_with_after(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()

    make_source(reddit).fetch(SPEC, {}, now=NOW)

    expected = {
        "q": "acme",
        "sort": "new",
        "type": "link",
        "limit": "100",
        "raw_json": "1",
        "restrict_sr": "false",
    }
    assert [dict(r.url.params) for r in reddit.searches()] == [
        expected,
        {**expected, "after": PAGE1_AFTER},
    ]
    assert {r.url.host for r in reddit.searches()} == {"oauth.reddit.com"}


def test_first_fetch_stops_at_the_page_that_leaves_the_backfill_window(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()

    result = make_source(reddit).fetch(SPEC, {}, now=NOW)

    # Page 1 holds a post from 28 h ago and still names an `after`: paging stops there.
    assert len(reddit.searches()) == 2
    assert [m.external_id for m in result.mentions] == [
        "t3_1q3zz8f",
        PAGE1_AFTER,
        "t3_1q4a2kd",
        "t3_1q4b7ze",
        NEWEST,
    ]
    assert result.cursor == {"newest": NEWEST, "newest_created_utc": NOW_S - 8 * 60}


def test_a_short_backfill_reads_one_page_and_keeps_only_what_is_inside_it(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()

    result = make_source(reddit, backfill=timedelta(hours=1)).fetch(SPEC, {}, now=NOW)

    assert len(reddit.searches()) == 1
    assert [m.external_id for m in result.mentions] == ["t3_1q4b7ze", NEWEST]


def test_fetch_returns_mentions_oldest_first(make_source: Callable[..., RedditSource]) -> None:
    result = make_source(FakeReddit()).fetch(SPEC, {}, now=NOW)

    times = [m.created_at for m in result.mentions]
    assert times == sorted(times)


def test_later_fetch_stops_at_the_stored_newest_submission(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()
    cursor = {"newest": "t3_1q4a2kd", "newest_created_utc": NOW_S - 62 * 60}

    result = make_source(reddit, overlap=timedelta(0)).fetch(SPEC, cursor, now=NOW)

    assert len(reddit.searches()) == 1
    assert [m.external_id for m in result.mentions] == ["t3_1q4b7ze", NEWEST]
    assert result.cursor == {"newest": NEWEST, "newest_created_utc": NOW_S - 8 * 60}


def test_the_overlap_rereads_recent_submissions_but_never_the_stored_newest(
    make_source: Callable[..., RedditSource],
) -> None:
    cursor = {"newest": "t3_1q4b7ze", "newest_created_utc": NOW_S - 29 * 60}

    result = make_source(FakeReddit(), overlap=timedelta(minutes=40)).fetch(SPEC, cursor, now=NOW)

    # t3_1q4a2kd (62 min old) sits inside the overlap: Reddit may have indexed it late.
    assert [m.external_id for m in result.mentions] == ["t3_1q4a2kd", NEWEST]


def test_a_deleted_newest_submission_falls_back_to_its_time(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()
    cursor = {"newest": "t3_1q4bzzz", "newest_created_utc": NOW_S - 45 * 60}  # gone now

    result = make_source(reddit, overlap=timedelta(0)).fetch(SPEC, cursor, now=NOW)

    assert len(reddit.searches()) == 1
    assert [m.external_id for m in result.mentions] == ["t3_1q4b7ze", NEWEST]


def test_fetch_never_moves_the_cursor_backwards(
    make_source: Callable[..., RedditSource],
) -> None:
    ahead = {"newest": "t3_1q4zzzz", "newest_created_utc": NOW_S - 60}

    result = make_source(FakeReddit()).fetch(SPEC, ahead, now=NOW)

    assert result.cursor == ahead


def test_fetch_keeps_the_cursor_when_nothing_is_new(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit({None: fixture_bytes("search_empty.json")})
    source = make_source(reddit)
    cursor = {"newest": NEWEST, "newest_created_utc": NOW_S - 8 * 60}

    assert source.fetch(SPEC, cursor, now=NOW).cursor == cursor
    assert source.fetch(SPEC, {}, now=NOW).cursor == {}
    assert len(reddit.searches()) == 2


def test_the_cursor_survives_json_and_reading_it_back_finds_nothing_new(
    make_source: Callable[..., RedditSource],
) -> None:
    source = make_source(FakeReddit())
    first = source.fetch(SPEC, {}, now=NOW)

    second = source.fetch(SPEC, json.loads(json.dumps(first.cursor)), now=NOW)

    assert second.mentions == []
    assert second.cursor == first.cursor


def test_fetch_stops_at_max_pages_logs_it_and_moves_the_cursor(
    make_source: Callable[..., RedditSource], caplog: pytest.LogCaptureFixture
) -> None:
    # Endless recent submissions: every page names another `after`.
    pages: dict[str | None, bytes] = {
        (None if n == 0 else f"t3_p{n}"): listing(
            {"name": f"t3_q{n}", "created_utc": NOW_S - 60 - n, "title": "Acme"},
            after=f"t3_p{n + 1}",
        )
        for n in range(10)
    }
    reddit = FakeReddit(pages)

    with caplog.at_level(logging.WARNING, logger="bot.sources.reddit"):
        result = make_source(reddit, max_pages=3).fetch(SPEC, {}, now=NOW)

    assert [r.url.params.get("after") for r in reddit.searches()] == [None, "t3_p1", "t3_p2"]
    assert any("max_pages" in r.getMessage() for r in caplog.records)
    assert result.cursor == {"newest": "t3_q0", "newest_created_utc": NOW_S - 60}


def test_a_used_up_rate_limit_stops_paging_and_keeps_the_cursor(
    make_source: Callable[..., RedditSource], caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"X-Ratelimit-Used": "100", "X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Reset": "37"}
    reddit = FakeReddit(search_headers=headers)
    cursor = {"newest": "t3_1q3mm1a", "newest_created_utc": NOW_S - 30 * 3600}

    with caplog.at_level(logging.WARNING, logger="bot.sources.reddit"):
        result = make_source(reddit).fetch(SPEC, cursor, now=NOW)

    # The newest page is delivered, but the page between it and the cursor was not read:
    # moving the cursor would skip it for good.
    assert len(reddit.searches()) == 1
    assert [m.external_id for m in result.mentions] == [
        PAGE1_AFTER,
        "t3_1q4a2kd",
        "t3_1q4b7ze",
        NEWEST,
    ]
    assert result.cursor == cursor
    assert any("rate limit" in r.getMessage() and "37" in r.getMessage() for r in caplog.records)


def test_a_used_up_rate_limit_on_a_first_fetch_leaves_the_cursor_empty(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit(search_headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "37"})

    result = make_source(reddit).fetch(SPEC, {}, now=NOW)

    assert result.mentions
    assert result.cursor == {}


def test_a_used_up_rate_limit_after_catching_up_still_moves_the_cursor(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit(search_headers={"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "37"})
    cursor = {"newest": "t3_1q4a2kd", "newest_created_utc": NOW_S - 62 * 60}

    result = make_source(reddit, overlap=timedelta(0)).fetch(SPEC, cursor, now=NOW)

    assert result.cursor == {"newest": NEWEST, "newest_created_utc": NOW_S - 8 * 60}


@pytest.mark.parametrize(
    "cursor",
    [
        {"newest": "t3_1q4c9rm"},
        {"newest": "t1_c0mm3nt", "newest_created_utc": NOW_S},
        {"newest": "t3_1q4c9rm", "newest_created_utc": "yesterday"},
        {"newest": "t3_1q4c9rm", "newest_created_utc": True},
    ],
)
def test_fetch_rejects_a_malformed_cursor(
    make_source: Callable[..., RedditSource], cursor: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="Reddit cursor"):
        make_source(FakeReddit()).fetch(SPEC, cursor, now=NOW)


# --- I/O failures --------------------------------------------------------------------------


def search_answers(response: httpx.Response) -> Handler:
    """A handler whose token endpoint works and whose search always gives `response`."""
    reddit = FakeReddit()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/search":
            return response
        return reddit(request)

    return handler


def test_429_with_reddits_reset_header_raises_rate_limited_with_that_delay(
    make_source: Callable[..., RedditSource],
) -> None:
    headers = {"X-Ratelimit-Used": "101", "X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": "294"}
    source = make_source(search_answers(httpx.Response(429, headers=headers)))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert caught.value.retry_after_s == 294


def test_500_raises_source_error_naming_the_status(
    make_source: Callable[..., RedditSource],
) -> None:
    source = make_source(search_answers(httpx.Response(500, text="Internal Server Error")))

    with pytest.raises(SourceError, match="500") as caught:
        source.fetch(SPEC, {}, now=NOW)

    assert not isinstance(caught.value, RateLimited)


def test_403_raises_source_error(make_source: Callable[..., RedditSource]) -> None:
    blocked = httpx.Response(403, json={"message": "Forbidden", "error": 403})

    with pytest.raises(SourceError, match="403"):
        make_source(search_answers(blocked)).fetch(SPEC, {}, now=NOW)


def test_an_error_on_a_later_page_fails_the_whole_fetch(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("after") == PAGE1_AFTER:
            return httpx.Response(502, text="Bad Gateway")
        return reddit(request)

    with pytest.raises(SourceError, match="502"):
        make_source(handler).fetch(SPEC, {}, now=NOW)


def test_html_served_with_200_raises_source_error(
    make_source: Callable[..., RedditSource],
) -> None:
    page = httpx.Response(200, text="<!doctype html><title>Reddit - Dive into anything</title>")

    with pytest.raises(SourceError, match="HTML"):
        make_source(search_answers(page)).fetch(SPEC, {}, now=NOW)


def test_truncated_json_raises_source_error(make_source: Callable[..., RedditSource]) -> None:
    cut = httpx.Response(200, content=fixture_bytes("search_page0.json")[:900])

    with pytest.raises(SourceError, match="not valid JSON"):
        make_source(search_answers(cut)).fetch(SPEC, {}, now=NOW)


# --- authors -------------------------------------------------------------------------------


def test_fetch_author_returns_karma_from_about(make_source: Callable[..., RedditSource]) -> None:
    reddit = FakeReddit()

    author = make_source(reddit).fetch_author("quiet_lantern")

    assert author is not None
    assert author.karma == 5333
    about = [r for r in reddit.requests if r.url.path.startswith("/user/")]
    assert [str(r.url) for r in about] == [
        "https://oauth.reddit.com/user/quiet_lantern/about?raw_json=1"
    ]


def test_fetch_author_of_an_unknown_user_is_none(
    make_source: Callable[..., RedditSource],
) -> None:
    assert make_source(FakeReddit()).fetch_author("no_such_user_here") is None


def test_fetch_author_of_a_deleted_author_is_none_without_a_request(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()
    source = make_source(reddit)

    assert source.fetch_author("[deleted]") is None
    assert source.fetch_author("") is None
    assert reddit.requests == []


def test_fetch_author_quotes_the_handle_as_one_path_segment(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()

    make_source(reddit).fetch_author("../search?q=1")

    assert reddit.requests[-1].url.raw_path == b"/user/..%2Fsearch%3Fq%3D1/about?raw_json=1"


def test_fetch_author_renews_a_refused_token_too(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit()
    reddit.refuse_tokens.add(f"{TOKEN}-1")

    author = make_source(reddit).fetch_author("quiet_lantern")

    assert author is not None
    assert len(reddit.token_requests()) == 2


def comment_pages() -> dict[str | None, bytes]:
    return {
        None: fixture_bytes("comments_page0.json"),
        "t1_m7q2jxx": fixture_bytes("comments_page1.json"),
    }


def test_a_fetch_reads_new_comments_too_and_keeps_a_mark_for_them(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit(pages={}, comments=comment_pages())
    source = make_source(reddit)

    result = source.fetch(SPEC, {}, now=NOW)

    ids = [m.external_id for m in result.mentions]
    # Every comment in the window, oldest first: the fetching service keeps those about acme.
    assert ids == ["t1_m7q1aaa", "t1_m7q2jxx", "t1_m7q2jzz", "t1_m7q2k1x"]
    assert result.cursor == {"comments_newest": "t1_m7q2k1x", "comments_newest_utc": NOW_S - 60}
    assert [r.url.path for r in reddit.requests if r.url.path.endswith("/comments")] == [
        "/r/all/comments",
        "/r/all/comments",
    ]


def test_the_comment_stream_is_read_once_for_every_watch_and_only_new_comments_are_handed_on(
    make_source: Callable[..., RedditSource],
) -> None:
    clock = Clock(NOW)
    reddit = FakeReddit(pages={}, comments=comment_pages())
    source = make_source(reddit, clock=clock)
    first = source.fetch(SPEC, {}, now=NOW)

    other_watch = source.fetch(SearchSpec(query="globex"), {}, now=NOW)
    again = source.fetch(SPEC, first.cursor, now=NOW)

    streams = [r for r in reddit.requests if r.url.path.endswith("/comments")]
    assert len(streams) == 2  # both pages, once: the other watch and the re-fetch used them
    assert len(other_watch.mentions) == 4
    assert again.mentions == [] and again.cursor == first.cursor  # nothing newer

    clock.advance(seconds=31)  # the stream is stale: read from the top down to what is known
    source.fetch(SPEC, first.cursor, now=clock.now)
    assert len([r for r in reddit.requests if r.url.path.endswith("/comments")]) == 3


def test_a_watch_limited_to_subreddits_searches_and_reads_comments_there_only(
    make_source: Callable[..., RedditSource],
) -> None:
    reddit = FakeReddit(pages={}, comments=comment_pages())
    source = make_source(reddit)

    source.fetch(SearchSpec(query="acme", options={"subreddits": "devops+selfhosted"}), {}, now=NOW)

    paths = {r.url.path for r in reddit.requests if r.url.host == "oauth.reddit.com"}
    assert paths == {"/r/devops+selfhosted/comments", "/r/devops+selfhosted/search"}
    (search,) = reddit.searches() or [r for r in reddit.requests if r.url.path.endswith("/search")]
    assert search.url.params["restrict_sr"] == "true"


@pytest.mark.parametrize(
    ("given", "stored"),
    [("acme", "acme"), ("r/SelfHosted, acme", "acme+selfhosted"), ("devops+acme", "acme+devops")],
)
def test_subreddit_options_are_checked_and_normalised(given: str, stored: str) -> None:
    from bot.sources.reddit import SUBREDDITS

    assert SUBREDDITS.check is not None
    assert SUBREDDITS.check(given, allow_private=False) == stored


@pytest.mark.parametrize("given", ["a", "../etc", "acme?x=1", "x" * 30, ","])
def test_a_bad_subreddit_is_refused(given: str) -> None:
    from bot.sources.network import OptionError
    from bot.sources.reddit import SUBREDDITS

    assert SUBREDDITS.check is not None
    with pytest.raises(OptionError, match="subreddit"):
        SUBREDDITS.check(given, allow_private=False)


def test_every_watch_shares_reddits_hundred_requests_a_minute(
    make_source: Callable[..., RedditSource],
) -> None:
    clock = Clock(NOW)
    reddit = FakeReddit(pages={})
    source = make_source(reddit, clock=clock)
    for i in range(50):  # each fetch: the comment stream (empty, read each 31 s) and one search
        source.fetch(SearchSpec(query=f"q{i}"), {}, now=clock.now)
        clock.advance(seconds=0.5)
    api = [r for r in reddit.requests if r.url.host == "oauth.reddit.com"]
    assert len(api) == 51  # 50 searches and the stream once

    for i in range(49):
        source.fetch(SearchSpec(query=f"more{i}"), {}, now=clock.now)
    with pytest.raises(RateLimited) as limited:
        source.fetch(SearchSpec(query="one too many"), {}, now=clock.now)
    assert len([r for r in reddit.requests if r.url.host == "oauth.reddit.com"]) == 100
    assert 30 <= limited.value.retry_after_s <= 60

    clock.advance(seconds=61)
    source.fetch(SPEC, {}, now=clock.now)  # a new minute
