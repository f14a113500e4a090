"""Each network's stable account id is read from its real responses, so renames keep authors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.sources import bluesky, mastodon, reddit, x
from bot.sources.base import FetchedAuthor

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def fixture(network: str, name: str) -> bytes:
    return (FIXTURES / network / name).read_bytes()


@pytest.mark.parametrize(
    ("authors", "shape"),
    [
        pytest.param(
            lambda: [m.author for m in x.parse_mentions(fixture("x", "search_page0.json"))],
            r"[0-9]+",
            id="x user id",
        ),
        pytest.param(
            lambda: x.parse_authors(fixture("x", "search_page0.json")), r"[0-9]+", id="x includes"
        ),
        pytest.param(
            lambda: [
                m.author
                for m in bluesky.parse_mentions(fixture("bluesky", "search_acme_page0.json"))
            ],
            r"did:[a-z]+:[A-Za-z0-9._:-]+",
            id="bluesky did",
        ),
        pytest.param(
            lambda: bluesky.parse_authors(fixture("bluesky", "profiles.json")),
            r"did:[a-z]+:[A-Za-z0-9._:-]+",
            id="bluesky profiles",
        ),
        pytest.param(
            lambda: [
                m.author for m in mastodon.parse_mentions(fixture("mastodon", "search_acme.json"))
            ],
            r"https://[^/]+/users/[^/]+",
            id="mastodon account uri",
        ),
        pytest.param(
            lambda: [
                m.author for m in reddit.parse_mentions(fixture("reddit", "search_page0.json"))
            ],
            r"t2_[a-z0-9]+",
            id="reddit fullname",
        ),
        pytest.param(
            lambda: reddit.parse_authors(fixture("reddit", "user_about.json")),
            r"t2_[a-z0-9]+",
            id="reddit about",
        ),
    ],
)
def test_every_author_carries_the_networks_stable_account_id(authors: object, shape: str) -> None:
    assert callable(authors)
    found: list[FetchedAuthor] = authors()
    ids = [a.account_id for a in found if a.account_id is not None]
    # Deleted Reddit accounts and Mastodon accounts recorded without a `uri` have none.
    assert ids
    assert all(re.fullmatch(shape, account_id) for account_id in ids), ids


def test_a_reddit_fullname_that_is_not_one_is_not_trusted_as_an_id() -> None:
    body = (
        b'{"kind": "Listing", "data": {"after": null, "children": [{"kind": "t3", "data": '
        b'{"name": "t3_abc", "id": "abc", "author": "someone", "author_fullname": "t3_nope", '
        b'"title": "acme", "selftext": "", "permalink": "/r/x/comments/abc/", '
        b'"created_utc": 1764140000}}]}}'
    )

    (mention,) = reddit.parse_mentions(body)

    assert mention.author.handle == "someone"
    assert mention.author.account_id is None
