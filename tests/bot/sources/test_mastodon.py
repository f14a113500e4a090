"""Mastodon source: parsing recorded statuses; search and tag timelines through a fake server."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from bot.sources.base import FetchedMention, RateLimited, SearchSpec, Source, SourceError
from bot.sources.mastodon import MastodonSource, parse_account, parse_mentions

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mastodon"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
TOKEN = "mastodon-token-123"
SEARCH = SearchSpec(query="acme")
TAGS_ONLY = SearchSpec(query="acme", hashtags=("acme",))
CUTOFF_ID = "115893338112000000"  # the Snowflake of NOW - 24 h: (ms << 16)
OVERLAP_IDS = (10 * 60 * 1000) << 16  # ten minutes, as a difference of Snowflake ids
# Status ids in the fixtures.
S_ALICE = "115898971586602445"  # 11:52:40, in the search and the tag
S_BOB = "115898922140454204"  # 11:40:05.512, a reply
S_NADIA = "115898886389811750"  # 11:31, url null, content warning
S_NO_URI = "115898757414918328"  # 10:58:12, unusable: no uri
S_OLD = "115894773350409494"  # yesterday 18:05, suspended account without counts
T_KAITO = "115898980761604914"  # 11:55
T_DEVREL = "115898843136012337"  # 11:20
T_MK = "115898341982255931"  # 09:12:33
T_EARLY = "115897998376967602"  # 07:45:10
ALICE_URI = "https://mastodon.social/users/alice/statuses/115898971586602445"

Handler = Callable[[httpx.Request], httpx.Response]


def fixture_bytes(name: str) -> bytes:
    """Return a recorded body from tests/fixtures/mastodon."""
    return (FIXTURES / name).read_bytes()


def fixture_statuses(name: str) -> list[dict[str, Any]]:
    """Return the statuses of a recorded search answer or timeline."""
    data = json.loads(fixture_bytes(name))
    return list(data["statuses"] if isinstance(data, dict) else data)


def by_uri(mentions: list[FetchedMention]) -> dict[str, FetchedMention]:
    """Index mentions by external_id."""
    return {m.external_id: m for m in mentions}


def after(status_id: str, bound: str | None) -> bool:
    return bound is None or int(status_id) > int(bound)


def before(status_id: str, bound: str | None) -> bool:
    return bound is None or int(status_id) < int(bound)


class FakeMastodon:
    """A server holding recorded statuses that answers search and tag timelines as Mastodon does.

    Search: hits between min_id and max_id, newest first, `offset` into them. Tag timelines:
    with min_id, the page immediately newer than it, newest first, with a Link header.
    `page_size` caps every page, as a server may return fewer than `limit`.
    """

    def __init__(
        self,
        *,
        search: list[dict[str, Any]] | None = None,
        tags: dict[str, list[dict[str, Any]]] | None = None,
        page_size: int = 40,
        link: bool = True,
    ) -> None:
        self.search = fixture_statuses("search_acme.json") if search is None else search
        self.tags = {"acme": fixture_statuses("tag_acme.json")} if tags is None else tags
        self.page_size = page_size
        self.link = link
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path, params = request.url.path, request.url.params
        limit = min(int(params.get("limit", "20")), self.page_size)
        if path == "/api/v2/search":
            hits = sorted(
                (
                    s
                    for s in self.search
                    if after(s["id"], params.get("min_id"))
                    and before(s["id"], params.get("max_id"))
                ),
                key=lambda s: -int(s["id"]),
            )
            offset = int(params.get("offset", "0"))
            page = hits[offset : offset + limit]
            return httpx.Response(200, json={"accounts": [], "statuses": page, "hashtags": []})
        if path.startswith("/api/v1/timelines/tag/"):
            tag = unquote(path.rsplit("/", 1)[1])
            newer = sorted(
                (s for s in self.tags.get(tag, []) if after(s["id"], params.get("min_id"))),
                key=lambda s: int(s["id"]),
            )
            page = list(reversed(newer[:limit]))
            headers = {}
            if page and self.link:
                base = f"https://mastodon.social/api/v1/timelines/tag/{tag}"
                headers["Link"] = (
                    f'<{base}?max_id={page[-1]["id"]}>; rel="next", '
                    f'<{base}?min_id={page[0]["id"]}>; rel="prev"'
                )
            return httpx.Response(200, json=page, headers=headers)
        if path == "/api/v1/accounts/lookup" and params.get("acct") == "alice@mastodon.social":
            return httpx.Response(200, content=fixture_bytes("account_lookup_alice.json"))
        return httpx.Response(404, content=fixture_bytes("error_record_not_found.json"))

    def paths(self) -> list[str]:
        """Return the path of every request, in order."""
        return [r.url.path for r in self.requests]

    def params(self, path_prefix: str) -> list[dict[str, str]]:
        """Return the query params of every request whose path starts with `path_prefix`."""
        return [dict(r.url.params) for r in self.requests if r.url.path.startswith(path_prefix)]


@pytest.fixture
def make_source() -> Iterator[Callable[..., MastodonSource]]:
    """Build a MastodonSource over a MockTransport (token set unless given); clients are closed."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, **kwargs: Any) -> MastodonSource:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        kwargs.setdefault("sleep", lambda _s: None)
        kwargs.setdefault("access_token", TOKEN)
        return MastodonSource(client, **kwargs)

    yield build
    for client in clients:
        client.close()


def answer(response: httpx.Response) -> Handler:
    """Return a handler that always gives `response`."""
    return lambda request: response


# --- parsing -------------------------------------------------------------------------------


def test_parse_mentions_maps_a_local_status_to_its_global_uri_and_a_qualified_author() -> None:
    alice = by_uri(parse_mentions(fixture_bytes("search_acme.json")))[ALICE_URI]

    assert alice.network == "mastodon"
    assert alice.url == "https://mastodon.social/@alice/115898971586602445"
    assert alice.created_at == datetime(2026, 1, 15, 11, 52, 40, tzinfo=UTC)
    assert alice.lang == "en"
    assert (alice.likes, alice.reposts, alice.replies) == (12, 3, 2)
    assert alice.author.handle == "alice@mastodon.social"
    assert alice.author.display_name == "Alice Ng 🦊"
    assert alice.author.url == "https://mastodon.social/@alice"
    assert (alice.author.followers, alice.author.following, alice.author.posts) == (842, 311, 5120)
    assert alice.author.created_at == datetime(2022, 11, 3, tzinfo=UTC)
    assert alice.author.verified is None
    assert alice.title is None


def test_parse_mentions_turns_html_into_text_keeping_links_tags_and_decoded_entities() -> None:
    mentions = by_uri(parse_mentions(fixture_bytes("search_acme.json")))

    assert mentions[ALICE_URI].text == (
        "Switched our CI to #Acme Build this week & cache hits are 3× better.\n\n"
        "Docs: https://docs.acme.dev/cache"
    )
    bob = mentions["https://hachyderm.io/users/bob/statuses/115898922101234567"]
    assert bob.text == (
        '@alice did you hit the "stale lockfile" bug with Acme? It\'s been biting us since 4.2'
    )


def test_parse_mentions_keeps_a_remote_authors_domain_and_an_empty_display_name_as_none() -> None:
    bob = by_uri(parse_mentions(fixture_bytes("search_acme.json")))[
        "https://hachyderm.io/users/bob/statuses/115898922101234567"
    ]

    assert bob.author.handle == "bob@hachyderm.io"
    assert bob.author.display_name is None
    assert bob.lang is None


def test_parse_mentions_marks_a_reply_by_its_parent_and_a_first_post_as_its_own_thread() -> None:
    mentions = by_uri(parse_mentions(fixture_bytes("search_acme.json")))
    bob = mentions["https://hachyderm.io/users/bob/statuses/115898922101234567"]

    assert bob.parent_id == "115898900011122233"
    assert bob.conversation_id is None  # Mastodon names no thread root
    assert mentions[ALICE_URI].parent_id is None
    assert mentions[ALICE_URI].conversation_id == ALICE_URI


def test_parse_mentions_links_to_the_uri_when_a_remote_status_has_no_url() -> None:
    nadia = by_uri(parse_mentions(fixture_bytes("search_acme.json")))[
        "https://misskey.example/notes/9ztq4m1k2a"
    ]

    assert nadia.url == "https://misskey.example/notes/9ztq4m1k2a"
    assert nadia.author.handle == "nadia@misskey.example"
    assert nadia.author.display_name == "Nadia Ünal :blobcat:"


def test_parse_mentions_puts_the_content_warning_before_the_text() -> None:
    nadia = by_uri(parse_mentions(fixture_bytes("search_acme.json")))[
        "https://misskey.example/notes/9ztq4m1k2a"
    ]

    assert nadia.text == (
        "CW: acme pricing rant\n"
        "Acme doubled the seat price again.\n"
        "We are looking at alternatives — suggestions welcome."
    )


def test_parse_mentions_skips_a_status_without_uri_and_logs_its_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.sources.mastodon"):
        mentions = parse_mentions(fixture_bytes("search_acme.json"))

    assert len(mentions) == 4
    assert all("glitchy" not in m.author.handle for m in mentions)
    assert any(S_NO_URI in r.getMessage() for r in caplog.records)


def test_parse_mentions_keeps_a_status_of_a_suspended_account_without_counts() -> None:
    old = by_uri(parse_mentions(fixture_bytes("search_acme.json")))[
        "https://mastodon.social/users/ancien_compte/statuses/115894773350409494"
    ]

    assert old.text == "Acme ≠ acné. Arrêtez de me taguer 🙃"
    assert old.author.handle == "ancien_compte@mastodon.social"
    assert old.author.display_name is None
    assert (old.author.followers, old.author.following, old.author.posts) == (None, None, None)
    assert (old.likes, old.reposts, old.replies) == (0, 0, 0)


def test_parse_mentions_reads_a_tag_timeline_list() -> None:
    mentions = parse_mentions(fixture_bytes("tag_acme.json"))

    assert len(mentions) == 5
    kaito = mentions[0]
    assert kaito.text == "新しい #acme のダッシュボード、かなり速い ⚡"
    assert kaito.lang == "ja"
    assert kaito.author.handle == "kaito@mastodon.social"
    devrel = mentions[2]
    assert devrel.text == (
        "We just shipped the #Acme plugin 1.0 🎉 Thanks to everyone who filed issues <3"
    )


def test_parse_mentions_of_a_reblog_is_the_reblogged_status_and_its_author() -> None:
    (mention,) = parse_mentions(fixture_bytes("timeline_reblog.json"))

    assert mention.external_id == "https://social.example/users/eve/statuses/42"
    assert mention.url == "https://social.example/@eve/42"
    assert mention.text == "Acme's status page says “all green” while nothing loads. Classic."
    assert mention.author.handle == "eve@social.example"
    assert mention.created_at == datetime(2026, 1, 15, 11, 10, tzinfo=UTC)
    assert (mention.likes, mention.reposts, mention.replies) == (17, 9, 3)


def test_parse_mentions_treats_every_key_as_optional() -> None:
    body = json.dumps(
        [
            {"id": "1", "uri": "https://a.example/s/1", "created_at": "2026-01-15T10:00:00Z"},
            {
                "id": "2",
                "uri": "https://a.example/s/2",
                "created_at": "2026-01-15T10:00:00.000Z",
                "url": None,
                "content": None,
                "spoiler_text": None,
                "language": None,
                "account": None,
                "favourites_count": None,
                "reblog": None,
                "in_reply_to_id": None,
            },
        ]
    ).encode()

    first, second = parse_mentions(body)

    assert first.author.handle == ""
    assert first.text == ""
    assert first.url == "https://a.example/s/1"
    assert second.likes is None
    assert second.conversation_id == "https://a.example/s/2"


def test_parse_mentions_links_only_to_web_addresses(caplog: pytest.LogCaptureFixture) -> None:
    statuses = [
        {
            "id": "1",
            "uri": "https://a.example/s/1",
            "url": "javascript:alert(1)",
            "created_at": "2026-01-15T10:00:00Z",
        },
        {"id": "2", "uri": "tag:a.example,2026:2", "created_at": "2026-01-15T10:00:00Z"},
    ]

    with caplog.at_level(logging.WARNING, logger="bot.sources.mastodon"):
        (mention,) = parse_mentions(json.dumps(statuses).encode())

    assert mention.url == "https://a.example/s/1"
    assert any("tag:a.example,2026:2" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("created_at", [None, "yesterday", 1768478400])
def test_parse_mentions_skips_a_status_without_a_readable_time(
    created_at: object, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps([{"id": "1", "uri": "https://a.example/s/1", "created_at": created_at}])

    with caplog.at_level(logging.WARNING, logger="bot.sources.mastodon"):
        assert parse_mentions(body.encode()) == []
    assert any("https://a.example/s/1" in r.getMessage() for r in caplog.records)


def test_parse_mentions_of_an_empty_search_is_empty() -> None:
    assert parse_mentions(fixture_bytes("search_empty.json")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<!DOCTYPE html><html><body>We're sorry</body></html>", "HTML"),
        (b'{"statuses": [{"id": "1", "ur', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"error": "The access token is invalid"}', "statuses"),
        (b'{"statuses": {"0": {}}}', "statuses"),
        (b"null", "not statuses"),
        (b'"acme"', "not statuses"),
    ],
)
def test_parse_mentions_rejects_a_malformed_body_with_source_error(
    body: bytes, message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        parse_mentions(body)


def test_parse_account_reads_metrics_and_qualifies_a_local_acct() -> None:
    author = parse_account(fixture_bytes("account_lookup_alice.json"))

    assert author is not None
    assert author.handle == "alice@mastodon.social"
    assert (author.followers, author.following, author.posts) == (845, 311, 5121)


# --- configuration and auth ------------------------------------------------------------------


def test_a_source_without_token_says_it_misses_the_token(
    make_source: Callable[..., MastodonSource],
) -> None:
    assert make_source(FakeMastodon(), access_token=None).missing_settings == (
        "MASTODON_ACCESS_TOKEN",
    )
    assert make_source(FakeMastodon(), access_token="").missing_settings == (
        "MASTODON_ACCESS_TOKEN",
    )
    source: Source = make_source(FakeMastodon())
    assert source.missing_settings == ()
    assert source.name == "mastodon"


def test_fetch_without_token_or_hashtags_is_not_configured_and_asks_nothing(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    with pytest.raises(SourceError, match="not configured: set MASTODON_ACCESS_TOKEN"):
        make_source(server, access_token=None).fetch(SEARCH, {}, now=NOW)

    assert server.requests == []


def test_fetch_without_token_reads_the_hashtag_timelines_anonymously(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    result = make_source(server, access_token=None).fetch(TAGS_ONLY, {}, now=NOW)

    assert set(server.paths()) == {"/api/v1/timelines/tag/acme"}
    assert all("authorization" not in r.headers for r in server.requests)
    assert len(result.mentions) == 5
    assert result.cursor == {"tags": {"acme": {"min_id": T_KAITO}}}


def test_fetch_without_token_keeps_the_stored_search_cursor(
    make_source: Callable[..., MastodonSource],
) -> None:
    stored = {"search": {"min_id": S_BOB}, "tags": {"acme": {"min_id": T_KAITO}}}

    result = make_source(FakeMastodon(), access_token=None).fetch(TAGS_ONLY, stored, now=NOW)

    assert result.cursor["search"] == {"min_id": S_BOB}


def test_fetch_sends_the_token_as_bearer_on_every_request(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    make_source(server).fetch(TAGS_ONLY, {}, now=NOW)

    assert {"/api/v2/search", "/api/v1/timelines/tag/acme"} <= set(server.paths())
    assert {r.headers["authorization"] for r in server.requests} == {f"Bearer {TOKEN}"}


# --- full-text search ------------------------------------------------------------------------


def test_first_search_asks_for_statuses_since_the_backfill_as_a_snowflake_min_id(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    make_source(server).fetch(SEARCH, {}, now=NOW)

    assert server.params("/api/v2/search") == [
        {"q": "acme", "type": "statuses", "limit": "40", "resolve": "false", "min_id": CUTOFF_ID},
        {
            "q": "acme",
            "type": "statuses",
            "limit": "40",
            "resolve": "false",
            "min_id": CUTOFF_ID,
            "offset": "5",
        },
    ]


def test_search_pages_newest_first_by_offset_until_an_empty_page(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon(page_size=2)

    result = make_source(server).fetch(SEARCH, {}, now=NOW)

    offsets = [p.get("offset") for p in server.params("/api/v2/search")]
    assert offsets == [None, "2", "4", "5"]
    assert len(result.mentions) == 4
    assert result.cursor == {"search": {"min_id": S_ALICE}}


def test_later_search_looks_back_ten_minutes_before_the_newest_id_seen(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    make_source(server).fetch(SEARCH, {"search": {"min_id": S_BOB}}, now=NOW)

    assert server.params("/api/v2/search")[0]["min_id"] == str(int(S_BOB) - OVERLAP_IDS)


def test_search_cursor_never_moves_backwards(
    make_source: Callable[..., MastodonSource],
) -> None:
    ahead = str(int(S_ALICE) + 1000)

    result = make_source(FakeMastodon()).fetch(SEARCH, {"search": {"min_id": ahead}}, now=NOW)

    assert result.cursor == {"search": {"min_id": ahead}}


def test_first_fetch_that_finds_nothing_leaves_the_cursor_empty(
    make_source: Callable[..., MastodonSource],
) -> None:
    result = make_source(FakeMastodon(search=[])).fetch(SEARCH, {}, now=NOW)

    assert result.mentions == []
    assert result.cursor == {}


def test_search_cut_short_by_max_pages_keeps_the_unread_part_as_a_backlog(
    make_source: Callable[..., MastodonSource], caplog: pytest.LogCaptureFixture
) -> None:
    server = FakeMastodon(page_size=1)

    with caplog.at_level(logging.WARNING, logger="bot.sources.mastodon"):
        result = make_source(server, max_pages=2).fetch(SEARCH, {}, now=NOW)

    assert [m.external_id for m in result.mentions] == [
        "https://hachyderm.io/users/bob/statuses/115898922101234567",
        ALICE_URI,
    ]
    one_second = 1000 << 16
    assert result.cursor == {
        "search": {
            "min_id": S_ALICE,
            "backlog": {"min_id": CUTOFF_ID, "max_id": str(int(S_BOB) + one_second), "offset": 0},
        }
    }
    assert any("max_pages=2" in r.getMessage() for r in caplog.records)


def test_search_backlog_is_read_on_later_fetches_until_nothing_was_missed(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon(page_size=1)
    source = make_source(server, max_pages=2)
    cursor: dict[str, Any] = {}
    found: set[str] = set()

    for _run in range(6):
        result = source.fetch(SEARCH, json.loads(json.dumps(cursor)), now=NOW)
        found |= {m.external_id for m in result.mentions}
        cursor = result.cursor
        if "backlog" not in cursor["search"]:
            break

    assert found == {m.external_id for m in parse_mentions(fixture_bytes("search_acme.json"))}
    assert cursor == {"search": {"min_id": S_ALICE}}
    backlog_reads = [p for p in server.params("/api/v2/search") if "max_id" in p]
    assert backlog_reads
    assert all(p["min_id"] == CUTOFF_ID for p in backlog_reads)


def test_a_status_arriving_while_a_backlog_drains_is_read_and_kept_until_caught_up(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon(page_size=1)
    source = make_source(server, max_pages=3)
    first = source.fetch(SEARCH, {}, now=NOW)
    late = json.loads(fixture_bytes("tag_acme.json"))[0]  # 11:55, newer than everything
    server.search.append(late)

    second = source.fetch(SEARCH, first.cursor, now=NOW)

    assert late["uri"] in {m.external_id for m in second.mentions}
    # One page went to the backlog, and the new statuses did not fit in the two left:
    # the cursor stays, to read them whole next time.
    assert second.cursor["search"]["min_id"] == S_ALICE
    assert second.cursor["search"]["backlog"]["offset"] == 1
    cursor = second.cursor
    for _run in range(8):
        cursor = source.fetch(SEARCH, cursor, now=NOW).cursor
    assert cursor == {"search": {"min_id": T_KAITO}}


# --- hashtag timelines -----------------------------------------------------------------------


def test_first_tag_read_starts_at_the_backfill_and_follows_link_prev_forwards(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon(page_size=2)

    result = make_source(server, access_token=None).fetch(TAGS_ONLY, {}, now=NOW)

    assert server.params("/api/v1/timelines/tag/") == [
        {"min_id": CUTOFF_ID, "limit": "40"},
        {"min_id": T_MK, "limit": "40"},
        {"min_id": S_ALICE, "limit": "40"},
        {"min_id": T_KAITO, "limit": "40"},
    ]
    assert result.cursor == {"tags": {"acme": {"min_id": T_KAITO}}}


def test_tag_read_without_link_header_continues_from_the_newest_id_of_the_page(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon(page_size=2, link=False)

    result = make_source(server, access_token=None).fetch(TAGS_ONLY, {}, now=NOW)

    assert [p["min_id"] for p in server.params("/api/v1/timelines/tag/")] == [
        CUTOFF_ID,
        T_MK,
        S_ALICE,
        T_KAITO,
    ]
    assert len(result.mentions) == 5


def test_later_tag_read_looks_back_ten_minutes_before_its_newest_id(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    make_source(server, access_token=None).fetch(
        TAGS_ONLY, {"tags": {"acme": {"min_id": T_DEVREL}}}, now=NOW
    )

    assert server.params("/api/v1/timelines/tag/")[0]["min_id"] == str(int(T_DEVREL) - OVERLAP_IDS)


def test_tag_read_cut_short_by_max_pages_resumes_next_time_without_a_gap(
    make_source: Callable[..., MastodonSource], caplog: pytest.LogCaptureFixture
) -> None:
    source = make_source(FakeMastodon(page_size=1), access_token=None, max_pages=2)
    cursor: dict[str, Any] = {}
    found: list[str] = []

    with caplog.at_level(logging.WARNING, logger="bot.sources.mastodon"):
        for _run in range(6):
            result = source.fetch(TAGS_ONLY, cursor, now=NOW)
            found += [m.external_id for m in result.mentions]
            cursor = result.cursor

    assert set(found) == {m.external_id for m in parse_mentions(fixture_bytes("tag_acme.json"))}
    assert cursor == {"tags": {"acme": {"min_id": T_KAITO}}}
    assert any("max_pages=2" in r.getMessage() for r in caplog.records)


def test_each_hashtag_gets_its_own_cursor_named_without_hash_in_lower_case(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon(tags={"acme": fixture_statuses("tag_acme.json"), "acmecloud": []})
    spec = SearchSpec(query="acme", hashtags=("#Acme", "acme", "AcmeCloud"))

    result = make_source(server, access_token=None).fetch(spec, {}, now=NOW)

    assert sorted(set(server.paths())) == [
        "/api/v1/timelines/tag/acme",
        "/api/v1/timelines/tag/acmecloud",
    ]
    assert result.cursor == {"tags": {"acme": {"min_id": T_KAITO}}}


def test_a_tag_is_quoted_as_one_path_segment(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon(tags={})
    spec = SearchSpec(query="acme", hashtags=("café", "a/b?c"))

    make_source(server, access_token=None).fetch(spec, {}, now=NOW)

    assert [r.url.raw_path.split(b"?")[0] for r in server.requests] == [
        b"/api/v1/timelines/tag/caf%C3%A9",
        b"/api/v1/timelines/tag/a%2Fb%3Fc",
    ]


# --- search and tags together ----------------------------------------------------------------


def test_fetch_merges_search_and_tags_once_each_oldest_first(
    make_source: Callable[..., MastodonSource],
) -> None:
    result = make_source(FakeMastodon()).fetch(TAGS_ONLY, {}, now=NOW)

    ids = [m.external_id for m in result.mentions]
    assert len(ids) == len(set(ids)) == 8  # Alice's status is in both
    times = [m.created_at for m in result.mentions]
    assert times == sorted(times)
    assert result.cursor == {
        "search": {"min_id": S_ALICE},
        "tags": {"acme": {"min_id": T_KAITO}},
    }


def test_fetch_returns_the_embedded_author_metrics_keyed_by_handle(
    make_source: Callable[..., MastodonSource],
) -> None:
    result = make_source(FakeMastodon()).fetch(TAGS_ONLY, {}, now=NOW)

    assert result.authors["alice@mastodon.social"].followers == 842
    assert result.authors["devrel@fosstodon.org"].followers == 5310
    # The suspended account came without counts: left for the pipeline to look up.
    assert set(result.authors) == {m.author.handle for m in result.mentions} - {
        "ancien_compte@mastodon.social"
    }


@pytest.mark.parametrize(
    "cursor",
    [
        {"search": "115898971586602445"},
        {"search": {"min_id": 115898971586602445}},
        {"tags": {"acme": {"min_id": ""}}},
        {"tags": ["acme"]},
    ],
)
def test_fetch_rejects_a_malformed_cursor(
    make_source: Callable[..., MastodonSource], cursor: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="Mastodon cursor"):
        make_source(FakeMastodon()).fetch(TAGS_ONLY, cursor, now=NOW)


# --- I/O failures --------------------------------------------------------------------------


def test_429_with_mastodons_iso_reset_header_waits_until_that_moment(
    make_source: Callable[..., MastodonSource],
) -> None:
    reset = datetime.now(UTC) + timedelta(seconds=240)
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z"),
    }
    source = make_source(answer(httpx.Response(429, headers=headers, json={"error": "Too many"})))

    with pytest.raises(RateLimited) as caught:
        source.fetch(SEARCH, {}, now=NOW)

    assert 230 <= caught.value.retry_after_s <= 240


def test_an_invalid_token_raises_source_error_with_the_servers_words(
    make_source: Callable[..., MastodonSource],
) -> None:
    body = fixture_bytes("error_invalid_token.json")
    source = make_source(answer(httpx.Response(401, content=body)))

    with pytest.raises(SourceError, match=r"401.*access token is invalid") as caught:
        source.fetch(SEARCH, {}, now=NOW)

    assert TOKEN not in str(caught.value)


def test_a_server_error_is_retried_before_it_fails_the_fetch(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503, text="Service Unavailable")
        return server(request)

    assert len(make_source(flaky).fetch(SEARCH, {}, now=NOW).mentions) == 4

    with pytest.raises(SourceError, match="502"):
        make_source(answer(httpx.Response(502, text="Bad Gateway"))).fetch(SEARCH, {}, now=NOW)


def test_an_error_on_a_tag_timeline_fails_the_whole_fetch(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/api/v1/timelines/tag/"):
            return httpx.Response(422, json={"error": "This method requires an authenticated user"})
        return server(request)

    with pytest.raises(SourceError, match="422"):
        make_source(handler).fetch(TAGS_ONLY, {}, now=NOW)


def test_an_html_page_served_as_200_raises_source_error(
    make_source: Callable[..., MastodonSource],
) -> None:
    page = fixture_bytes("error_page.html")

    with pytest.raises(SourceError, match="HTML"):
        make_source(answer(httpx.Response(200, content=page))).fetch(SEARCH, {}, now=NOW)


def test_a_timeout_raises_source_error(make_source: Callable[..., MastodonSource]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(SourceError, match="Mastodon timed out"):
        make_source(handler).fetch(SEARCH, {}, now=NOW)


# --- authors -------------------------------------------------------------------------------


def test_fetch_author_looks_the_account_up_by_acct(
    make_source: Callable[..., MastodonSource],
) -> None:
    server = FakeMastodon()

    author = make_source(server).fetch_author("alice@mastodon.social")

    assert author is not None
    assert author.followers == 845
    assert server.params("/api/v1/accounts/lookup") == [{"acct": "alice@mastodon.social"}]


def test_fetch_author_of_an_unknown_account_is_none(
    make_source: Callable[..., MastodonSource],
) -> None:
    source = make_source(FakeMastodon())

    assert source.fetch_author("nobody@nowhere.example") is None
    assert source.fetch_author("") is None
