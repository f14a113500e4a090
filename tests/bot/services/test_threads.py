"""Thread keys: one spelling per page, one top card per conversation, however cards race."""

from __future__ import annotations

import pytest

from bot.services.threads import KEY_MAX_CHARS, link_key, normalise_link, thread_keys
from bot.store.models import Mention
from tests.factories import NOW


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("HTTPS://WWW.Acme.DEV/Blog/Series-B", "https://www.acme.dev/Blog/Series-B"),
        ("https://acme.dev/a#comments", "https://acme.dev/a"),
        (
            "https://acme.dev/a?utm_source=hn&id=3&UTM_Medium=x&utm_campaign=",
            "https://acme.dev/a?id=3",
        ),
        ("https://acme.dev/a?utm_source=rss", "https://acme.dev/a"),
        ("https://acme.dev", "https://acme.dev/"),
        ("https://acme.dev:443/a", "https://acme.dev/a"),
        ("http://acme.dev:80/a", "http://acme.dev/a"),
        ("http://acme.dev:8080/a", "http://acme.dev:8080/a"),
        ("https://user:secret@acme.dev/a", "https://acme.dev/a"),
        ("https://[2001:DB8::1]/a", "https://[2001:db8::1]/a"),
        ("  https://acme.dev/a?q=Acme%20Cloud  ", "https://acme.dev/a?q=Acme%20Cloud"),
        ("https://acme.dev/a?ref=hn&utm=1", "https://acme.dev/a?ref=hn&utm=1"),  # not utm_*
    ],
)
def test_a_link_is_normalised_to_one_spelling(raw: str, normalised: str) -> None:
    assert normalise_link(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "ftp://acme.dev/a",
        "javascript:alert(1)",
        "https://",
        "/relative/path",
        "https://[::1/a",
        "https://acme.dev/" + "a" * 2000,
    ],
)
def test_what_is_not_a_web_page_has_no_link(raw: str | None) -> None:
    assert normalise_link(raw) is None


def test_the_same_article_spelled_two_ways_gets_one_key() -> None:
    from_hn = normalise_link("https://www.acme.dev/blog/series-b")
    from_feed = normalise_link("HTTPS://www.acme.dev/blog/series-b?utm_source=alerts#top")

    assert from_hn is not None and link_key(from_hn) == link_key(from_feed or "")


def test_a_very_long_link_is_keyed_by_its_hash() -> None:
    url = "https://acme.dev/" + "a" * 1500

    key = link_key(url)

    assert len(key) <= KEY_MAX_CHARS
    assert key.startswith("link:sha256:") and key != link_key(url + "b")


def test_a_mention_brings_its_conversation_key_first_then_its_link() -> None:
    comment = Mention(
        network="hackernews",
        external_id="46621907",
        conversation_id="46618752",
        link_url="https://www.acme.dev/blog/series-b",
        url="https://news.ycombinator.com/item?id=46621907",
        text="",
        created_at=NOW,
        fetched_at=NOW,
    )
    toot = Mention(
        network="mastodon",
        external_id="https://fosstodon.example/users/lena/statuses/1",
        url="https://fosstodon.example/@lena/1",
        text="",
        created_at=NOW,
        fetched_at=NOW,
    )

    assert thread_keys(comment) == [
        "hackernews:46618752",
        "link:https://www.acme.dev/blog/series-b",
    ]
    # No conversation known: the post is its own.
    assert thread_keys(toot) == ["mastodon:https://fosstodon.example/users/lena/statuses/1"]
