"""Profile addresses and handles, declared on each network: what /score reads from a link."""

from __future__ import annotations

import pytest

from bot.sources import REGISTRY

DID = "did:plc:oky5czdrnfjpqslsw2a5iclo"
# Every network users pick from, with a profile address of each form it publishes.
PROFILE_ADDRESSES = {
    "hackernews": [
        ("news.ycombinator.com", "/user?id=pg", "pg"),
        ("news.ycombinator.com", "/submitted?id=dang", "dang"),
        ("news.ycombinator.com", "/threads?foo=1&id=tptacek", "tptacek"),
    ],
    "mastodon": [
        ("mastodon.social", "/@Gargron", "Gargron@mastodon.social"),
        ("www.mastodon.social", "/@Gargron/", "Gargron@mastodon.social"),
        ("mastodon.social", "/@Gargron/113000000000000000", "Gargron@mastodon.social"),
        ("fosstodon.org", "/@kev@social.example", "kev@social.example"),
        ("hachyderm.io", "/users/nova", "nova@hachyderm.io"),
    ],
    "bluesky": [
        ("bsky.app", "/profile/jay.bsky.team", "jay.bsky.team"),
        ("bsky.app", "/profile/did:plc:oky5czdrnfjpqslsw2a5iclo/post/3k", DID),
    ],
    "reddit": [
        ("reddit.com", "/user/spez", "spez"),
        ("www.reddit.com", "/u/spez/", "spez"),
        ("old.reddit.com", "/user/spez/comments?sort=new", "spez"),
    ],
    "x": [
        ("x.com", "/jack", "jack"),
        ("twitter.com", "/jack", "jack"),
        ("mobile.twitter.com", "/jack/status/20", "jack"),
        ("x.com", "/jack?s=20", "jack"),
    ],
    "stackexchange": [
        ("stackoverflow.com", "/users/22656/jon-skeet", "22656@stackoverflow"),
        ("superuser.com", "/users/1/x", "1@superuser"),
        ("ru.stackoverflow.com", "/users/7/x", "7@ru.stackoverflow"),
        ("math.stackexchange.com", "/users/5", "5@math"),
    ],
    "rss": [],  # a feed's entries have authors, not profiles
    "appstore": [],  # reviewers have no public profiles
}
CASES = [
    pytest.param(key, host, path, handle, id=f"{key}:{host}{path}")
    for key, cases in PROFILE_ADDRESSES.items()
    for host, path, handle in cases
]


def test_every_network_says_whether_its_authors_have_profiles() -> None:
    assert set(PROFILE_ADDRESSES) == set(REGISTRY.keys)
    for network in REGISTRY:
        has_cases = bool(PROFILE_ADDRESSES[network.key])
        assert (network.profiles is not None) == has_cases, network.key


@pytest.mark.parametrize(("key", "host", "path", "handle"), CASES)
def test_a_profile_address_names_its_network_and_the_handle_its_source_uses(
    key: str, host: str, path: str, handle: str
) -> None:
    found = REGISTRY.profile_at(host, path)

    assert found is not None
    network, read = found
    assert network.key == key
    assert network.profiles is not None
    assert read == handle
    assert network.profiles.fits(read)


def test_each_networks_example_handle_fits_its_own_handles() -> None:
    for network in REGISTRY:
        if network.profiles is not None:
            assert network.profiles.fits(network.profiles.example), network.key


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("x.com", "/home"),
        ("twitter.com", "/search?q=acme"),
        ("news.ycombinator.com", "/item?id=1"),
        ("reddit.com", "/r/python"),
        ("stackoverflow.com", "/questions/1/x"),
        ("bsky.app", "/search"),
        ("example.com", "/"),
    ],
)
def test_a_page_that_is_no_profile_names_no_one(host: str, path: str) -> None:
    assert REGISTRY.profile_at(host, path) is None


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("hackernews", "hackernews"),
        ("Hacker News", "hackernews"),
        ("HN", "hackernews"),
        ("twitter", "x"),
        ("X", "x"),
        ("stack exchange", "stackexchange"),
        ("stackoverflow", "stackexchange"),
        ("bsky", "bluesky"),
    ],
)
def test_a_network_is_found_by_its_key_its_name_or_an_alias(typed: str, key: str) -> None:
    network = REGISTRY.named(typed)

    assert network is not None and network.key == key


def test_an_unknown_or_hidden_network_is_not_found_by_name() -> None:
    assert REGISTRY.named("myspace") is None
    assert REGISTRY.named("sample") is None  # the demo's network is not offered
