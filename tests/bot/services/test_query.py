"""The watch query language: what it accepts, what it matches, how each network is asked."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.query import QueryError, Term, matched_terms, parse_query
from bot.sources import REGISTRY
from tests.factories import make_fetched


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("acme", "I love Acme!", True),
        ("acme", "acmeville is a town", False),  # whole words only
        ("acme", "ACME's new plan", True),
        ('"acme cloud"', "Acme   Cloud is down", True),
        ('"acme cloud"', "cloud acme", False),
        ("acme cloud", "the cloud from acme", True),  # both words, any order
        ("acme OR globex", "globex rocks", True),
        ("acme -jobs", "acme is hiring, see jobs page", False),
        ("acme -jobs", "acme is down", True),
        ('acme -"press release"', "acme press release: q3", False),
        ("#acme", "so good #Acme", True),
        ("#acme", "acme without the tag", False),
        ("@acme", "hey @acme, help", True),
        ("@acme", "hey acme", False),
    ],
)
def test_matching(query: str, text: str, expected: bool) -> None:
    assert parse_query(query).matches(text) is expected


def test_handle_matches_posts_by_that_account_too() -> None:
    assert parse_query("@acme").matches("new release today", author="acme@mastodon.social")


def test_author_and_site_exclusions() -> None:
    query = parse_query("acme -author:acmebot -site:spam.example")

    assert not query.matches("acme deal", author="AcmeBot")
    assert not query.matches("acme deal", url="https://www.spam.example/x")
    assert query.matches("acme deal", author="customer", url="https://news.example/x")


def test_language_filter_keeps_posts_of_unknown_language() -> None:
    query = parse_query("acme lang:en")

    assert query.matches("acme", lang="en-US")
    assert not query.matches("acme", lang="de")
    assert query.matches("acme", lang=None)


def labels(terms: tuple[Term, ...] | None) -> list[str] | None:
    return None if terms is None else [t.label for t in terms]


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("acme outage", "Acme has an outage", ["acme", "outage"]),
        ("globex OR acme outage", "the acme outage again", ["acme", "outage"]),
        ("acme OR globex", "globex and acme both", ["acme"]),  # the first alternative that fits
        ('"acme cloud" OR #acme', "loving #acme", ["#acme"]),
        ('"acme   cloud"', "Acme Cloud is down", ["acme cloud"]),
        ("@acme", "hey @acme, help", ["@acme"]),
        ("acme -jobs", "acme jobs page", None),
        ("acme outage", "acme is fine", None),
        ("acme lang:en", "acme", ["acme"]),
    ],
)
def test_why_names_the_terms_of_the_alternative_a_post_answers(
    query: str, text: str, expected: list[str] | None
) -> None:
    assert labels(parse_query(query).why(text)) == expected


def test_why_agrees_with_matches_on_language_and_authors() -> None:
    query = parse_query("@acme lang:en")

    assert query.why("new release", author="acme", lang="de") is None
    assert labels(query.why("new release", author="acme", lang="en")) == ["@acme"]


def test_a_reply_answers_through_its_conversations_title() -> None:
    query = parse_query("acme outage")
    reply = make_fetched(text="Same here since 9am", conversation_title="Acme outage, day two")

    assert labels(matched_terms(query, reply)) == ["acme", "outage"]
    assert matched_terms(query, make_fetched(text="Same here since 9am")) is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ('"acme cloud', "not closed"),
        ("acme OR", "both sides"),
        ("OR acme", "both sides"),
        ("acme OR OR globex", "both sides"),
        ("-jobs", "at least one term"),
        ("(acme OR globex) cloud", "parentheses"),
        ("acme lang:english", "two-letter"),
        ("author:acme", "only for exclusions"),
        ("acme -site:localhost", "takes a domain"),
        ("acme foo:bar", "unknown operator"),
        ("a" * 501, "longer than 500"),
        ("acme <script>", "double quotes"),
    ],
)
def test_bad_queries_say_what_to_fix(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(query)


def test_networks_without_or_get_one_search_per_alternative() -> None:
    query = parse_query('"acme cloud" OR @acme -jobs')

    hn = [s.query for s in query.specs(REGISTRY["hackernews"].dialect)]
    x = [s.query for s in query.specs(REGISTRY["x"].dialect)]

    assert hn == ['"acme cloud" -jobs', "acme -jobs"]
    assert x == ['("acme cloud" OR @acme) -jobs']


def test_x_gets_author_site_and_language_natively() -> None:
    (spec,) = parse_query("acme -author:acmebot -site:spam.example lang:en").specs(
        REGISTRY["x"].dialect
    )

    assert spec.query == "acme -from:acmebot -url:spam.example lang:en"
    assert spec.lang == "en"


def test_specs_carry_hashtags_and_options() -> None:
    (spec,) = parse_query("#acme").specs(
        REGISTRY["rss"].dialect, {"feed_url": "https://alerts.example/feed"}
    )

    assert spec.hashtags == ("acme",)
    assert spec.options == {"feed_url": "https://alerts.example/feed"}


@given(st.text(max_size=80))
def test_any_input_parses_or_raises_query_error(raw: str) -> None:
    try:
        query = parse_query(raw)
    except QueryError:
        return
    assert query.alternatives and all(query.alternatives)


@given(st.from_regex(r"[a-z]{3,10}", fullmatch=True), st.text(max_size=60))
def test_a_word_query_matches_any_text_containing_that_word(word: str, noise: str) -> None:
    assert parse_query(word).matches(f"{noise} {word.upper()} {noise}") or (
        any(ch.isalnum() or ch == "_" for ch in noise[-1:] + noise[:1])
    )


def test_feeds_are_read_once_whatever_the_alternatives() -> None:
    specs = parse_query("acme OR globex").specs(
        REGISTRY["rss"].dialect, {"feed_url": "https://alerts.example/f"}
    )

    assert len(specs) == 1


def test_each_alternative_carries_only_its_own_hashtags() -> None:
    specs = parse_query("#acme OR #globex cloud").specs(REGISTRY["mastodon"].dialect)

    assert [(s.query, s.hashtags) for s in specs] == [
        ("#acme", ("acme",)),
        ("#globex cloud", ("globex",)),
    ]
