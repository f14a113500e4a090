"""Bluesky source: parsing recorded postViews and profiles; sessions, search and paging."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError
from bot.sources.bluesky import BlueskySource, parse_authors, parse_mentions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bluesky"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SPEC = SearchSpec(query="acme")
HANDLE = "overheard-bot.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
ACCESS_ONE = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.ACCESS-ONE.sig"
REFRESH_ONE = "eyJ0eXAiOiJyZWZyZXNoK2p3dCIsImFsZyI6IkVTMjU2SyJ9.REFRESH-ONE.sig"
ACCESS_TWO = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.ACCESS-TWO.sig"
ACCESS_THREE = "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NksifQ.ACCESS-THREE.sig"
REFRESH_THREE = "eyJ0eXAiOiJyZWZyZXNoK2p3dCIsImFsZyI6IkVTMjU2SyJ9.REFRESH-THREE.sig"
TOKENS = ("ACCESS-ONE", "REFRESH-ONE", "ACCESS-TWO", "REFRESH-TWO", "ACCESS-THREE", "REFRESH-THREE")
ALICE_URI = "at://did:plc:7iza6de2dwap2sbkpav7c6c6/app.bsky.feed.post/3mbz5qf6k2c2x"
ACME_URI = "at://did:plc:q4lmvw3xeb2ukxgzx5a7onsf/app.bsky.feed.post/3mbz4xvd7lk2s"
JONAS_URI = "at://did:plc:3n4rz6w2d7hyqvb5lmxk2ocs/app.bsky.feed.post/3mbz4bq2hzc2u"
TINKER_URI = "at://did:plc:ygxpl5gtwdlf4emjzgwr5h2b/app.bsky.feed.post/3mbyyk3w2fs2e"
GHOST_URI = "at://did:plc:d7lg2ttbnmyrnqxrmdxkp6s4/app.bsky.feed.post/3mbxqo6j4ak2y"
JONAS_DID = "did:plc:3n4rz6w2d7hyqvb5lmxk2ocs"
SEARCH_PATH = "/xrpc/app.bsky.feed.searchPosts"

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded body from tests/fixtures/bluesky."""
    return (FIXTURES / name).read_bytes()


def recorded_posts() -> list[dict[str, Any]]:
    """Every postView of the two recorded search pages, newest first."""
    pages = ("search_acme_page0.json", "search_acme_page1.json")
    return [post for name in pages for post in json.loads(fixture_bytes(name))["posts"]]


def sort_at(post: dict[str, Any]) -> datetime:
    """The earlier of createdAt and indexedAt, as the search sorts and filters by."""
    times = [
        datetime.fromisoformat(t)
        for t in (post.get("record", {}).get("createdAt"), post.get("indexedAt"))
        if t
    ]
    return min(times)


def by_uri(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


def xrpc_error(status: int, fixture: str) -> httpx.Response:
    return httpx.Response(status, content=fixture_bytes(fixture))


class FakeBluesky:
    """A PDS proxying to an AppView: sessions, searchPosts over recorded posts, profiles.

    `expired` access tokens are answered with ExpiredToken (400 from the PDS, or 401 as the
    AppView does); `page_size` caps each search page; the search cursor is an offset.
    """

    def __init__(
        self,
        *,
        posts: list[dict[str, Any]] | None = None,
        page_size: int = 100,
        expired: frozenset[str] = frozenset(),
        expired_status: int = 400,
        refresh_ok: bool = True,
        honour_since: bool = True,
    ) -> None:
        self.posts = recorded_posts() if posts is None else posts
        self.page_size = page_size
        self.expired = expired
        self.expired_status = expired_status
        self.refresh_ok = refresh_ok
        self.honour_since = honour_since
        self.valid_access = {ACCESS_ONE, ACCESS_TWO, ACCESS_THREE}
        self.sign_ins = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        method = request.url.path.removeprefix("/xrpc/")
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if method == "com.atproto.server.createSession":
            body = json.loads(request.content)
            if body != {"identifier": HANDLE, "password": PASSWORD}:
                return xrpc_error(401, "error_invalid_password.json")
            session = json.loads(fixture_bytes("create_session.json"))
            self.sign_ins += 1
            if self.sign_ins > 1:  # a new sign-in gets new tokens
                session["accessJwt"], session["refreshJwt"] = ACCESS_THREE, REFRESH_THREE
            return httpx.Response(200, json=session)
        if method == "com.atproto.server.refreshSession":
            if bearer != REFRESH_ONE or not self.refresh_ok:
                return httpx.Response(
                    400, json={"error": "ExpiredToken", "message": "Token has been revoked"}
                )
            return httpx.Response(200, content=fixture_bytes("refresh_session.json"))
        if bearer in self.expired:
            return xrpc_error(self.expired_status, "error_expired_token.json")
        if bearer not in self.valid_access:
            return httpx.Response(401, json={"error": "AuthMissing", "message": "Not signed in"})
        params = request.url.params
        if method == "app.bsky.feed.searchPosts":
            return self._search(params)
        if method == "app.bsky.actor.getProfiles":
            wanted = params.get_list("actors")
            profiles = json.loads(fixture_bytes("profiles.json"))["profiles"]
            return httpx.Response(
                200, json={"profiles": [p for p in profiles if p["did"] in wanted]}
            )
        if method == "app.bsky.actor.getProfile" and params.get("actor") == "acme.com":
            return httpx.Response(200, content=fixture_bytes("profile_acme.json"))
        return xrpc_error(400, "error_profile_not_found.json")

    def _search(self, params: httpx.QueryParams) -> httpx.Response:
        since = datetime.fromisoformat(params["since"])
        until = datetime.fromisoformat(params["until"]) if "until" in params else None
        hits = sorted(
            (
                p
                for p in self.posts
                if (not self.honour_since or sort_at(p) >= since)
                and (until is None or sort_at(p) < until)
            ),
            key=sort_at,
            reverse=True,
        )
        offset = int(params.get("cursor", "0"))
        limit = min(int(params["limit"]), self.page_size)
        page = hits[offset : offset + limit]
        answer: dict[str, Any] = {"posts": page, "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            answer["cursor"] = str(offset + limit)
        return httpx.Response(200, json=answer)

    def methods(self) -> list[str]:
        """Return the XRPC method of every request, in order."""
        return [r.url.path.removeprefix("/xrpc/") for r in self.requests]

    def bearers(self, method: str) -> list[str]:
        """Return the Authorization header of every call to `method`."""
        return [
            r.headers.get("authorization", "")
            for r in self.requests
            if r.url.path == f"/xrpc/{method}"
        ]

    def params(self, method: str) -> list[dict[str, str]]:
        """Return the query params of every call to `method`."""
        return [dict(r.url.params) for r in self.requests if r.url.path == f"/xrpc/{method}"]


@pytest.fixture
def make_source() -> Iterator[Callable[..., BlueskySource]]:
    """Build a signed-in BlueskySource over a MockTransport; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> BlueskySource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("sleep", lambda _s: None)
        kwargs.setdefault("handle", HANDLE)
        kwargs.setdefault("app_password", PASSWORD)
        return BlueskySource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


def signed_in(handler: Handler) -> Handler:
    """Answer createSession as the fake does and everything else with `handler`."""
    fake = FakeBluesky()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/xrpc/com.atproto.server."):
            return fake(request)
        return handler(request)

    return answer


# --- parsing -------------------------------------------------------------------------------


def test_parse_mentions_maps_a_post_to_its_at_uri_and_bsky_app_address() -> None:
    alice = by_uri(parse_mentions(fixture_bytes("search_acme_page0.json")))[ALICE_URI]

    assert alice.network == "bluesky"
    assert alice.url == "https://bsky.app/profile/alice.bsky.social/post/3mbz5qf6k2c2x"
    assert alice.text == (
        "Acme's new status page is 👌 — finally shows per-region incidents. https://status.acme.dev"
    )
    assert alice.lang == "en"
    assert alice.created_at == datetime(2026, 1, 15, 11, 58, 3, 123000, tzinfo=UTC)
    assert alice.author.handle == "alice.bsky.social"
    assert alice.author.display_name == "Alice 🦋"
    assert alice.author.url == "https://bsky.app/profile/alice.bsky.social"
    assert alice.author.created_at == datetime(2023, 5, 2, 17, 41, 8, 337000, tzinfo=UTC)
    assert alice.author.followers is None  # search results carry no counts
    assert alice.title is None


def test_parse_mentions_counts_likes_replies_and_quotes_as_reposts() -> None:
    alice = by_uri(parse_mentions(fixture_bytes("search_acme_page0.json")))[ALICE_URI]

    assert (alice.likes, alice.reposts, alice.replies) == (14, 3, 1)


def test_parse_mentions_links_a_reply_to_its_parent_and_root_and_a_post_to_itself() -> None:
    mentions = by_uri(parse_mentions(fixture_bytes("search_acme_page0.json")))

    reply = mentions[ACME_URI]
    assert (
        reply.parent_id == "at://did:plc:ygxpl5gtwdlf4emjzgwr5h2b/app.bsky.feed.post/3mbz4qwe2ts2k"
    )
    assert reply.conversation_id == (
        "at://did:plc:ygxpl5gtwdlf4emjzgwr5h2b/app.bsky.feed.post/3mbz4lk3vcc2h"
    )
    assert reply.author.verified is True
    assert mentions[ALICE_URI].parent_id is None
    assert mentions[ALICE_URI].conversation_id == ALICE_URI


def test_parse_mentions_names_an_author_whose_handle_is_invalid_by_their_did() -> None:
    jonas = by_uri(parse_mentions(fixture_bytes("search_acme_page0.json")))[JONAS_URI]

    assert jonas.author.handle == JONAS_DID
    assert jonas.author.url == f"https://bsky.app/profile/{JONAS_DID}"
    assert jonas.url == f"https://bsky.app/profile/{JONAS_DID}/post/3mbz4bq2hzc2u"
    assert jonas.text == "acme ist schon wieder down?? 😩 #acme"
    assert jonas.lang == "de"
    assert jonas.reposts == 0  # no quoteCount: the reposts alone


def test_parse_mentions_dates_a_post_claiming_a_future_time_by_when_it_was_indexed() -> None:
    jonas = by_uri(parse_mentions(fixture_bytes("search_acme_page0.json")))[JONAS_URI]

    assert jonas.created_at == datetime(2026, 1, 15, 11, 30, 0, 250000, tzinfo=UTC)


def test_parse_mentions_skips_a_post_without_uri_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.bluesky"):
        mentions = parse_mentions(fixture_bytes("search_acme_page1.json"))

    assert [m.external_id for m in mentions] == [TINKER_URI, GHOST_URI]
    assert any("uri" in r.getMessage() for r in caplog.records)


def test_parse_mentions_reads_nanosecond_times_and_keeps_plain_text_as_written() -> None:
    tinker = by_uri(parse_mentions(fixture_bytes("search_acme_page1.json")))[TINKER_URI]

    assert tinker.created_at == datetime(2026, 1, 15, 10, 2, 11, 123456, tzinfo=UTC)
    assert tinker.text == "Tried Acme & loved it <3\n\nthe CLI login loop though…"
    assert tinker.lang is None
    assert tinker.author.display_name is None
    assert tinker.author.created_at is None


def test_parse_mentions_of_an_image_post_without_indexed_at_uses_its_created_at() -> None:
    ghost = by_uri(parse_mentions(fixture_bytes("search_acme_page1.json")))[GHOST_URI]

    assert ghost.text == ""
    assert ghost.created_at == datetime(2026, 1, 14, 13, 0, tzinfo=UTC)
    assert ghost.author.display_name is None
    assert (ghost.likes, ghost.reposts, ghost.replies) == (3, 1, 0)


def embedding(embed: object) -> FetchedMention:
    post = {
        "uri": "at://did:plc:abc/app.bsky.feed.post/3mbz",
        "record": {"text": "acme", "createdAt": "2026-01-15T10:00:00Z", "embed": embed},
    }
    (mention,) = parse_mentions(json.dumps({"posts": [post]}).encode())
    return mention


def test_parse_mentions_reads_the_page_a_link_card_points_to() -> None:
    card = {
        "$type": "app.bsky.embed.external",
        "external": {"uri": "https://www.acme.dev/blog/series-b", "title": "", "description": ""},
    }
    quote_with_card = {
        "$type": "app.bsky.embed.recordWithMedia",
        "record": {"$type": "app.bsky.embed.record", "record": {"uri": ALICE_URI}},
        "media": card,
    }

    assert embedding(card).link_url == "https://www.acme.dev/blog/series-b"
    assert embedding(quote_with_card).link_url == "https://www.acme.dev/blog/series-b"
    assert embedding({"$type": "app.bsky.embed.images", "images": []}).link_url is None
    assert embedding({**card, "external": {"uri": "javascript:alert(1)"}}).link_url is None
    assert embedding(None).link_url is None


@pytest.mark.parametrize(
    "uri",
    [
        "at://did:plc:abc/app.bsky.feed.repost/3mbz",
        "at://alice.bsky.social/app.bsky.feed.post/3mbz",
        "https://bsky.app/profile/alice.bsky.social/post/3mbz",
        "at://did:plc:abc/app.bsky.feed.post/",
        None,
    ],
)
def test_parse_mentions_skips_a_post_whose_uri_is_not_a_post_record(uri: str | None) -> None:
    post = {"uri": uri, "record": {"text": "acme", "createdAt": "2026-01-15T10:00:00Z"}}

    assert parse_mentions(json.dumps({"posts": [post]}).encode()) == []


def test_parse_mentions_treats_every_key_as_optional() -> None:
    post = {
        "uri": "at://did:plc:abc/app.bsky.feed.post/3mbz",
        "indexedAt": "2026-01-15T10:00:00.000Z",
        "author": None,
        "record": None,
        "likeCount": None,
    }

    (mention,) = parse_mentions(json.dumps({"posts": [post, "junk", None]}).encode())

    assert mention.author.handle == "did:plc:abc"
    assert mention.text == ""
    assert mention.likes is None
    assert mention.reposts is None
    assert mention.created_at == datetime(2026, 1, 15, 10, 0, tzinfo=UTC)


def test_parse_mentions_of_an_empty_search_is_empty() -> None:
    assert parse_mentions(fixture_bytes("search_empty.json")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "HTML"),
        (b'{"posts": [{"uri": "at://', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"error": "BadQueryString", "message": "bad"}', "posts"),
        (b'{"posts": {"uri": "at://x"}}', "posts"),
        (b"[]", "not an object"),
    ],
)
def test_parse_mentions_rejects_a_malformed_body_with_source_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body)


def test_parse_authors_reads_counts_join_date_and_verification() -> None:
    authors = {a.handle: a for a in parse_authors(fixture_bytes("profiles.json"))}

    acme = authors["acme.com"]
    assert (acme.followers, acme.following, acme.posts) == (48211, 35, 1290)
    assert acme.verified is True
    assert acme.created_at == datetime(2023, 9, 14, 8, 0, 12, tzinfo=UTC)
    assert authors[JONAS_DID].verified is False
    assert authors["tinker.dev"].verified is None
    assert authors["tinker.dev"].display_name is None
    assert authors["alice.bsky.social"].karma is None


@pytest.mark.parametrize("body", [b'{"profiles": null}', b"{}", b"<html></html>"])
def test_parse_authors_rejects_a_body_without_profiles(body: bytes) -> None:
    with pytest.raises(SourceError):
        parse_authors(body)


# --- configuration and the session -----------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "password", "missing"),
    [
        (None, None, ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD")),
        (HANDLE, None, ("BLUESKY_APP_PASSWORD",)),
        ("", PASSWORD, ("BLUESKY_HANDLE",)),
        (HANDLE, PASSWORD, ()),
    ],
)
def test_a_source_names_each_credential_it_misses(
    make_source: Callable[..., BlueskySource],
    handle: str | None,
    password: str | None,
    missing: tuple[str, ...],
) -> None:
    source: Source = make_source(FakeBluesky(), handle=handle, app_password=password)

    assert source.name == "bluesky"
    assert source.missing_settings == missing


def test_fetch_without_credentials_is_not_configured_and_asks_nothing(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky()
    source = make_source(fake, app_password=None)

    with pytest.raises(SourceError, match="not configured: set BLUESKY_APP_PASSWORD"):
        source.fetch(SPEC, {}, now=NOW)
    with pytest.raises(SourceError, match="not configured"):
        source.fetch_author("acme.com")

    assert fake.requests == []


def test_fetch_signs_in_once_and_sends_the_access_token_as_bearer(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky()
    source = make_source(fake)

    source.fetch(SPEC, {}, now=NOW)
    source.fetch(SPEC, {}, now=NOW)

    sign_ins = [r for r in fake.requests if r.url.path.endswith("createSession")]
    assert len(sign_ins) == 1
    assert sign_ins[0].method == "POST"
    assert json.loads(sign_ins[0].content) == {"identifier": HANDLE, "password": PASSWORD}
    assert set(fake.bearers("app.bsky.feed.searchPosts")) == {f"Bearer {ACCESS_ONE}"}
    assert set(fake.bearers("app.bsky.actor.getProfiles")) == {f"Bearer {ACCESS_ONE}"}


@pytest.mark.parametrize("status", [400, 401], ids=["pds-400", "appview-401"])
def test_an_expired_access_token_is_refreshed_and_the_call_retried_once(
    make_source: Callable[..., BlueskySource], status: int
) -> None:
    fake = FakeBluesky(expired=frozenset({ACCESS_ONE}), expired_status=status)

    result = make_source(fake).fetch(SPEC, {}, now=NOW)

    assert len(result.mentions) == 5
    assert fake.methods()[:4] == [
        "com.atproto.server.createSession",
        "app.bsky.feed.searchPosts",
        "com.atproto.server.refreshSession",
        "app.bsky.feed.searchPosts",
    ]
    assert fake.bearers("com.atproto.server.refreshSession") == [f"Bearer {REFRESH_ONE}"]
    assert fake.bearers("app.bsky.feed.searchPosts") == [
        f"Bearer {ACCESS_ONE}",
        f"Bearer {ACCESS_TWO}",
    ]


def test_a_refused_refresh_signs_in_again(make_source: Callable[..., BlueskySource]) -> None:
    fake = FakeBluesky(expired=frozenset({ACCESS_ONE}), refresh_ok=False)

    result = make_source(fake).fetch(SPEC, {}, now=NOW)

    assert len(result.mentions) == 5
    assert fake.methods()[:5] == [
        "com.atproto.server.createSession",
        "app.bsky.feed.searchPosts",
        "com.atproto.server.refreshSession",
        "com.atproto.server.createSession",
        "app.bsky.feed.searchPosts",
    ]
    assert fake.bearers("app.bsky.feed.searchPosts")[1] == f"Bearer {ACCESS_THREE}"


def test_a_renewed_session_is_kept_for_the_next_fetches(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky(expired=frozenset({ACCESS_ONE}))
    source = make_source(fake)

    source.fetch(SPEC, {}, now=NOW)
    source.fetch(SPEC, {}, now=NOW)

    assert fake.methods().count("com.atproto.server.createSession") == 1
    assert fake.methods().count("com.atproto.server.refreshSession") == 1
    assert fake.bearers("app.bsky.feed.searchPosts")[-1] == f"Bearer {ACCESS_TWO}"


def test_concurrent_fetches_sign_in_once_and_renew_the_session_once(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky(expired=frozenset({ACCESS_ONE}))
    both_expired = threading.Barrier(2)

    def handler(request: httpx.Request) -> httpx.Response:
        response = fake(request)
        if request.url.path == SEARCH_PATH and request.headers["authorization"].endswith(
            ACCESS_ONE
        ):
            both_expired.wait(timeout=5)  # both fetches hold the old token before either renews
        return response

    source = make_source(handler)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _n: source.fetch(SPEC, {}, now=NOW), range(2)))

    assert [len(r.mentions) for r in results] == [5, 5]
    assert fake.methods().count("com.atproto.server.createSession") == 1
    assert fake.methods().count("com.atproto.server.refreshSession") == 1


def test_a_token_still_refused_after_renewal_raises_source_error(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky(expired=frozenset({ACCESS_ONE, ACCESS_TWO}))

    with pytest.raises(SourceError, match="ExpiredToken"):
        make_source(fake).fetch(SPEC, {}, now=NOW)

    assert fake.methods().count("app.bsky.feed.searchPosts") == 2


def test_a_wrong_app_password_raises_source_error_naming_the_xrpc_error(
    make_source: Callable[..., BlueskySource], caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBluesky()

    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(SourceError, match="AuthenticationRequired: Invalid identifier") as caught,
    ):
        make_source(fake, app_password="wrong-password").fetch(SPEC, {}, now=NOW)

    assert "wrong-password" not in str(caught.value)
    assert "wrong-password" not in caplog.text
    assert fake.methods() == ["com.atproto.server.createSession"]


def test_no_token_or_password_reaches_an_error_a_log_or_a_repr(
    make_source: Callable[..., BlueskySource], caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBluesky(expired=frozenset({ACCESS_ONE, ACCESS_THREE}), refresh_ok=False)
    source = make_source(fake)

    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as caught:
        source.fetch(SPEC, {}, now=NOW)

    said = caplog.text + str(caught.value) + repr(source)
    assert not [secret for secret in (PASSWORD, *TOKENS) if secret in said]
    assert not [token for token in TOKENS if token in repr(vars(source))]


def test_a_rate_limited_sign_in_raises_rate_limited_until_the_reset(
    make_source: Callable[..., BlueskySource],
) -> None:
    reset = int(time.time()) + 300
    headers = {"ratelimit-limit": "30", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)}
    response = httpx.Response(
        429, headers=headers, json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    )

    with pytest.raises(RateLimited) as caught:
        make_source(lambda request: response).fetch(SPEC, {}, now=NOW)

    assert 290 <= caught.value.retry_after_s <= 300


def test_a_sign_in_that_times_out_raises_source_error(
    make_source: Callable[..., BlueskySource],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(SourceError, match=r"timed out on com\.atproto\.server\.createSession"):
        make_source(handler).fetch(SPEC, {}, now=NOW)


def test_a_sign_in_answer_over_the_size_cap_is_refused(
    make_source: Callable[..., BlueskySource],
) -> None:
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for n in range(10_000):
            sent.append(n)
            yield b" " * 10_000

    with pytest.raises(SourceError, match="more than"):
        make_source(lambda r: httpx.Response(200, content=endless())).fetch(SPEC, {}, now=NOW)

    assert len(sent) < 150  # stopped soon after 1 MB


def test_a_redirected_sign_in_is_not_followed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": "https://elsewhere.example/login"})

    client = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    source = BlueskySource(client, handle=HANDLE, app_password=PASSWORD, sleep=lambda _s: None)

    with client, pytest.raises(SourceError, match="307"):
        source.fetch(SPEC, {}, now=NOW)

    assert [r.url.host for r in seen] == ["bsky.social"]


@pytest.mark.parametrize(
    "body",
    [b'{"did": "did:plc:x", "handle": "x.bsky.social"}', b"<html>login</html>", b"[]"],
)
def test_a_sign_in_answer_without_tokens_raises_source_error(
    make_source: Callable[..., BlueskySource], body: bytes
) -> None:
    with pytest.raises(SourceError):
        make_source(lambda r: httpx.Response(200, content=body)).fetch(SPEC, {}, now=NOW)


# --- search ----------------------------------------------------------------------------------


def test_first_search_asks_for_the_latest_posts_since_the_backfill(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky()

    make_source(fake).fetch(SearchSpec(query='"acme cloud" -jobs', lang="de"), {}, now=NOW)

    assert fake.params("app.bsky.feed.searchPosts") == [
        {
            "q": '"acme cloud" -jobs',
            "sort": "latest",
            "since": "2026-01-14T12:00:00.000Z",
            "lang": "de",
            "limit": "100",
        }
    ]
    assert b"q=%22acme%20cloud%22%20-jobs" in fake.requests[1].url.query


def test_search_pages_with_the_opaque_cursor_until_there_is_none(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky(page_size=2)

    result = make_source(fake).fetch(SPEC, {}, now=NOW)

    assert [p.get("cursor") for p in fake.params("app.bsky.feed.searchPosts")] == [None, "2", "4"]
    assert all("lang" not in p for p in fake.params("app.bsky.feed.searchPosts"))
    assert len(result.mentions) == 5


def test_fetch_returns_mentions_oldest_first_and_moves_the_cursor_to_the_newest(
    make_source: Callable[..., BlueskySource],
) -> None:
    result = make_source(FakeBluesky()).fetch(SPEC, {}, now=NOW)

    assert [m.external_id for m in result.mentions] == [
        GHOST_URI,
        TINKER_URI,
        JONAS_URI,
        ACME_URI,
        ALICE_URI,
    ]
    assert result.cursor == {"since": "2026-01-15T11:58:03.123Z"}


def test_later_search_looks_back_ten_minutes_from_the_newest_post_seen(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky()

    result = make_source(fake).fetch(SPEC, {"since": "2026-01-15T11:50:00.000Z"}, now=NOW)

    assert fake.params("app.bsky.feed.searchPosts")[0]["since"] == "2026-01-15T11:40:00.000Z"
    assert {m.external_id for m in result.mentions} == {ALICE_URI, ACME_URI}


def test_search_cursor_never_moves_backwards(make_source: Callable[..., BlueskySource]) -> None:
    result = make_source(FakeBluesky()).fetch(SPEC, {"since": "2026-01-15T11:59:00.000Z"}, now=NOW)

    assert result.cursor == {"since": "2026-01-15T11:59:00.000Z"}


def test_first_fetch_that_finds_nothing_leaves_the_cursor_empty(
    make_source: Callable[..., BlueskySource],
) -> None:
    result = make_source(FakeBluesky(posts=[])).fetch(SPEC, {}, now=NOW)

    assert result.mentions == []
    assert result.cursor == {}
    assert result.authors == {}


def test_search_cut_short_keeps_a_backlog_that_later_fetches_drain(
    make_source: Callable[..., BlueskySource], caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBluesky(page_size=1)
    source = make_source(fake, max_pages=3)

    with caplog.at_level(logging.WARNING, logger="bot.sources.bluesky"):
        first = source.fetch(SPEC, {}, now=NOW)

    assert [m.external_id for m in first.mentions] == [JONAS_URI, ACME_URI, ALICE_URI]
    assert first.cursor == {
        "since": "2026-01-15T11:58:03.123Z",
        "backlog": {"since": "2026-01-14T12:00:00.000Z", "until": "2026-01-15T11:30:00.251Z"},
    }
    assert any("max_pages=3" in r.getMessage() for r in caplog.records)

    found = {m.external_id for m in first.mentions}
    cursor = first.cursor
    for _run in range(8):
        result = source.fetch(SPEC, json.loads(json.dumps(cursor)), now=NOW)
        found |= {m.external_id for m in result.mentions}
        cursor = result.cursor
    assert found == {ALICE_URI, ACME_URI, JONAS_URI, TINKER_URI, GHOST_URI}
    assert cursor == {"since": "2026-01-15T11:58:03.123Z"}
    backlog_reads = [p for p in fake.params("app.bsky.feed.searchPosts") if "until" in p]
    assert {p["since"] for p in backlog_reads} == {"2026-01-14T12:00:00.000Z"}


def test_search_stops_paging_when_the_server_ignores_since(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky(page_size=2, honour_since=False)

    result = make_source(fake).fetch(SPEC, {"since": "2026-01-15T11:55:00.000Z"}, now=NOW)

    assert len(fake.params("app.bsky.feed.searchPosts")) == 2  # the second page is all older
    assert result.cursor == {"since": "2026-01-15T11:58:03.123Z"}


def test_a_bad_query_raises_source_error_naming_the_xrpc_error(
    make_source: Callable[..., BlueskySource],
) -> None:
    source = make_source(signed_in(lambda r: xrpc_error(400, "error_bad_query.json")))

    with pytest.raises(SourceError, match="400 BadQueryString: Error: q: expected a string"):
        source.fetch(SPEC, {}, now=NOW)


@pytest.mark.parametrize(
    "cursor",
    [{"since": "yesterday"}, {"since": 1768478400}, {"backlog": ["2026-01-15"]}],
)
def test_fetch_rejects_a_malformed_cursor(
    make_source: Callable[..., BlueskySource], cursor: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="Bluesky cursor"):
        make_source(FakeBluesky()).fetch(SPEC, cursor, now=NOW)


# --- authors ---------------------------------------------------------------------------------


def test_fetch_returns_profile_metrics_keyed_by_the_handles_the_mentions_carry(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky()

    result = make_source(fake).fetch(SPEC, {}, now=NOW)

    assert set(result.authors) == {"alice.bsky.social", "acme.com", JONAS_DID, "tinker.dev"}
    assert result.authors["acme.com"].followers == 48211
    assert result.authors[JONAS_DID].posts == 65
    assert "ghost.bsky.social" not in result.authors  # a deleted account has no profile
    (profiles_call,) = [r for r in fake.requests if r.url.path.endswith("getProfiles")]
    assert profiles_call.url.params.get_list("actors") == [
        "did:plc:d7lg2ttbnmyrnqxrmdxkp6s4",
        "did:plc:ygxpl5gtwdlf4emjzgwr5h2b",
        JONAS_DID,
        "did:plc:q4lmvw3xeb2ukxgzx5a7onsf",
        "did:plc:7iza6de2dwap2sbkpav7c6c6",
    ]


def test_profiles_are_asked_for_25_actors_at_a_time(
    make_source: Callable[..., BlueskySource],
) -> None:
    template = json.loads(fixture_bytes("search_acme_page0.json"))["posts"][0]
    posts = []
    for n in range(30):
        did = f"did:plc:author{n:02d}"
        post = json.loads(json.dumps(template))
        post["uri"] = f"at://{did}/app.bsky.feed.post/3mbz{n:02d}"
        post["author"] = {"did": did, "handle": f"author{n:02d}.bsky.social"}
        post["record"]["createdAt"] = f"2026-01-15T11:{n:02d}:00.000Z"
        post["indexedAt"] = f"2026-01-15T11:{n:02d}:01.000Z"
        posts.append(post)
    fake = FakeBluesky(posts=posts)

    make_source(fake).fetch(SPEC, {}, now=NOW)

    calls = [r for r in fake.requests if r.url.path.endswith("getProfiles")]
    assert [len(r.url.params.get_list("actors")) for r in calls] == [25, 5]


def test_a_failing_profile_lookup_fails_the_fetch_so_it_is_retried_whole(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("getProfiles"):
            return httpx.Response(429, headers={"ratelimit-reset": str(int(time.time()) + 60)})
        return fake(request)

    with pytest.raises(RateLimited):
        make_source(handler).fetch(SPEC, {}, now=NOW)


def test_fetch_author_reads_one_profile(make_source: Callable[..., BlueskySource]) -> None:
    fake = FakeBluesky()

    author = make_source(fake).fetch_author("acme.com")

    assert author is not None
    assert (author.handle, author.followers, author.verified) == ("acme.com", 48215, True)
    assert fake.params("app.bsky.actor.getProfile") == [{"actor": "acme.com"}]


def test_fetch_author_of_an_account_that_is_gone_is_none(
    make_source: Callable[..., BlueskySource],
) -> None:
    source = make_source(FakeBluesky())

    assert source.fetch_author("ghost.bsky.social") is None
    assert source.fetch_author("") is None


# --- I/O failures --------------------------------------------------------------------------


def test_429_on_search_waits_for_blueskys_ratelimit_reset(
    make_source: Callable[..., BlueskySource],
) -> None:
    reset = int(time.time()) + 120
    response = httpx.Response(
        429,
        headers={
            "ratelimit-limit": "3000",
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
        },
        json={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    )

    with pytest.raises(RateLimited) as caught:
        make_source(signed_in(lambda r: response)).fetch(SPEC, {}, now=NOW)

    assert 110 <= caught.value.retry_after_s <= 120


def test_a_server_error_on_search_is_retried_then_fails_with_source_error(
    make_source: Callable[..., BlueskySource],
) -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(502, text="upstream error")

    with pytest.raises(SourceError, match="502") as caught:
        make_source(signed_in(handler), retries=2).fetch(SPEC, {}, now=NOW)

    assert len(calls) == 3
    assert not isinstance(caught.value, RateLimited)


def test_an_html_page_from_the_appview_raises_source_error(
    make_source: Callable[..., BlueskySource],
) -> None:
    page = httpx.Response(200, text="<html><body>Bad gateway</body></html>")

    with pytest.raises(SourceError, match="HTML"):
        make_source(signed_in(lambda r: page)).fetch(SPEC, {}, now=NOW)


def test_mentions_found_before_a_failing_page_are_not_returned(
    make_source: Callable[..., BlueskySource],
) -> None:
    fake = FakeBluesky(page_size=2)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "2":
            return httpx.Response(503, text="unavailable")
        return fake(request)

    with pytest.raises(SourceError, match="503"):
        make_source(handler).fetch(SPEC, {}, now=NOW)


def test_now_must_be_timezone_aware(make_source: Callable[..., BlueskySource]) -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_source(FakeBluesky()).fetch(SPEC, {}, now=NOW.replace(tzinfo=None))


def test_max_pages_must_allow_one_page(make_source: Callable[..., BlueskySource]) -> None:
    with pytest.raises(ValueError, match="max_pages"):
        make_source(FakeBluesky(), max_pages=0)
