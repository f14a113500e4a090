"""Watches: saved tidy, listed oldest first, removed keeping mentions, exclusions added safely."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import func, select

from bot.services.cards import events_for
from bot.services.fetching import ensure_cursor
from bot.services.pipeline import ingest_mentions
from bot.services.watches import (
    WatchError,
    add_watch,
    exclude_from_watch,
    exclusion_for_author,
    exclusion_for_word,
    list_watches,
    remove_watch,
    set_watch_enabled,
)
from bot.sources import NETWORKS
from bot.store.db import session_scope
from bot.store.models import Card, Mention, SourceCursor, Watch
from tests.factories import NOW, make_fetched, make_posted_card, make_watch

CHANNEL = "C0123ABCD"


def add(engine: Engine, query: str = "acme", sources: list[str] | None = None, **kw: Any) -> Watch:
    with session_scope(engine) as session:
        return add_watch(
            query,
            sources if sources is not None else ["hackernews"],
            CHANNEL,
            known_sources=NETWORKS,
            session=session,
            now=NOW,
            **kw,
        )


def watches(engine: Engine, **kw: Any) -> list[Watch]:
    with session_scope(engine) as session:
        return list_watches(session=session, **kw)


def count(engine: Engine, table: type[Any]) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_a_watch_is_saved_with_its_query_tidied_and_each_source_once(
    sqlite_engine: Engine,
) -> None:
    add(sqlite_engine, '  "acme   cloud"\t OR  globex ', ["hackernews", "x", "hackernews"])

    (watch,) = watches(sqlite_engine)
    assert watch.query == '"acme cloud" OR globex'
    assert watch.sources == ["hackernews", "x"]
    assert (watch.channel_id, watch.interval_s, watch.enabled) == (CHANNEL, 300, True)


def test_watches_are_listed_oldest_first_and_paused_ones_can_be_left_out(
    sqlite_engine: Engine,
) -> None:
    first, second, third = (add(sqlite_engine, q) for q in ("acme", "globex", "initech"))
    with session_scope(sqlite_engine) as session:
        paused = session.get(Watch, second.id)
        assert paused is not None
        paused.enabled = False

    assert [w.query for w in watches(sqlite_engine)] == ["acme", "globex", "initech"]
    assert [w.id for w in watches(sqlite_engine, enabled_only=True)] == [first.id, third.id]


def test_removing_a_watch_forgets_its_cursors_but_keeps_its_mentions_and_cards(
    engine: Engine,
) -> None:
    watch = add(engine)
    with session_scope(engine) as session:
        stored = session.get(Watch, watch.id)
        assert stored is not None
        ensure_cursor(stored, "hackernews", session=session)
        ingest_mentions([make_fetched()], watch=stored, authors={}, session=session, now=NOW)

    with session_scope(engine) as session:
        removed = remove_watch(watch.id or 0, session=session)

    assert removed.query == "acme"
    assert watches(engine) == []
    assert count(engine, SourceCursor) == 0
    assert (count(engine, Mention), count(engine, Card)) == (1, 1)
    with session_scope(engine) as session:
        assert session.exec(select(Mention.watch_id)).one() is None


def test_removing_a_watch_that_does_not_exist_says_so(sqlite_engine: Engine) -> None:
    with (
        pytest.raises(WatchError, match=r"^no watch with id 99$"),
        session_scope(sqlite_engine) as session,
    ):
        remove_watch(99, session=session)


@pytest.mark.parametrize(
    ("query", "sources", "options", "message"),
    [
        ('"acme', ["hackernews"], {}, "bad query: a quote is not closed"),
        ("acme", [], {}, "name at least one source with --source"),
        (
            "acme",
            ["hackernews", "myspace", "friendster"],
            {},
            "unknown source friendster, myspace; known: appstore, bluesky, hackernews",
        ),
        ("acme", ["appstore"], {}, "an appstore watch needs --app-id"),
        ("acme", ["appstore"], {"app_id": "id1459523498"}, "an appstore watch needs --app-id"),
        (
            "acme",
            ["appstore"],
            {"app_id": "1459523498", "country": "usa"},
            "--country takes a two-letter store code",
        ),
        (
            "acme",
            ["stackexchange"],
            {"site": "stack overflow"},
            "--site takes a Stack Exchange site name",
        ),
    ],
    ids=[
        "query",
        "no-source",
        "unknown-source",
        "no-app-id",
        "app-id-not-a-number",
        "country",
        "site",
    ],
)
def test_bad_input_is_refused_with_what_to_fix_and_nothing_is_saved(
    sqlite_engine: Engine,
    query: str,
    sources: list[str],
    options: dict[str, str],
    message: str,
) -> None:
    with pytest.raises(WatchError) as refused:
        add(sqlite_engine, query, sources, options=options)

    assert str(refused.value).startswith(message)
    assert watches(sqlite_engine) == []


def test_app_store_country_defaults_to_us_and_is_lower_cased(sqlite_engine: Engine) -> None:
    default = add(sqlite_engine, sources=["appstore"], options={"app_id": "1459523498"})
    german = add(
        sqlite_engine, sources=["appstore"], options={"app_id": "1459523498", "country": " DE "}
    )

    assert default.options == {"app_id": "1459523498", "country": "us"}
    assert german.options == {"app_id": "1459523498", "country": "de"}


def test_blank_options_are_dropped(sqlite_engine: Engine) -> None:
    watch = add(sqlite_engine, sources=["stackexchange"], options={"site": "  "})

    assert watch.options == {}


def test_a_private_feed_url_is_accepted_only_when_private_urls_are_allowed(
    sqlite_engine: Engine,
) -> None:
    feed = {"feed_url": "http://127.0.0.1:8080/feed.xml"}

    with pytest.raises(WatchError, match="feed URL refused"):
        add(sqlite_engine, sources=["rss"], options=feed)
    watch = add(sqlite_engine, sources=["rss"], options=feed, allow_private_urls=True)

    assert watch.options == feed


# --- exclusions added from a card ----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "exclusion"),
    [
        ("jobs", "-jobs"),
        ("  Jobs  ", "-Jobs"),
        ("cheap   hosting", '-"cheap hosting"'),
        ("AT&T", "-AT&T"),
        ("", None),
        ("   ", None),
    ],
)
def test_a_typed_word_or_phrase_becomes_one_exclusion(typed: str, exclusion: str | None) -> None:
    assert exclusion_for_word(typed) == exclusion


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ('"', "only hold words"),
        ('-"', "without a minus"),
        ("-jobs", "without a minus"),
        ('jobs" OR "acme', "only hold words"),
        ("<!channel>", "only hold words"),
        ("<https://evil.example|click>", "only hold words"),
        ("author:acme", "only hold words"),
        ("lang:fr", "only hold words"),
        ("@acme", "only hold words"),
        ("*bold* `code`", "only hold words"),
        ("...", "only hold words"),
        ("a" * 101, "at most 100"),
    ],
)
def test_an_exclusion_that_is_not_plain_words_is_refused_with_what_to_do(
    typed: str, reason: str
) -> None:
    with pytest.raises(WatchError, match=reason):
        exclusion_for_word(typed)


@pytest.mark.parametrize(
    ("handle", "exclusion"),
    [
        ("acmebot", "-author:acmebot"),
        ("@Alice.bsky.social", "-author:alice.bsky.social"),
        ("ana@mastodon.social", "-author:ana@mastodon.social"),
        ("Jane Smith", None),
        ("<!channel>", None),
    ],
)
def test_an_author_is_excluded_by_handle_when_the_query_can_name_them(
    handle: str, exclusion: str | None
) -> None:
    assert exclusion_for_author(handle) == exclusion


def exclude(engine: Engine, watch: Watch, *tokens: str, card_id: int) -> list[str]:
    assert watch.id is not None
    with session_scope(engine) as session:
        _, added = exclude_from_watch(
            watch.id, list(tokens), actor="UALICE", card_id=card_id, session=session, now=NOW
        )
    return added


def test_exclusions_are_appended_once_and_the_change_is_logged_with_who_made_it(
    engine: Engine,
) -> None:
    card_id = make_posted_card(engine)
    (watch,) = watches(engine)

    assert exclude(engine, watch, "-jobs", "-author:kestrel", card_id=card_id) == [
        "-jobs",
        "-author:kestrel",
    ]
    assert exclude(engine, watch, "-jobs", card_id=card_id) == []  # already excluded

    (saved,) = watches(engine)
    assert saved.query == "acme -jobs -author:kestrel"
    with session_scope(engine) as session:
        changes = [e for e in events_for(card_id, session=session) if e.kind == "watch_changed"]
    assert [(e.actor, e.detail) for e in changes] == [
        (
            "UALICE",
            {
                "watch_id": watch.id,
                "before": "acme",
                "after": "acme -jobs -author:kestrel",
                "added": ["-jobs", "-author:kestrel"],
            },
        )
    ]


def test_an_exclusion_that_would_make_the_query_too_long_is_refused_and_nothing_changes(
    sqlite_engine: Engine,
) -> None:
    card_id = make_posted_card(sqlite_engine)
    (watch,) = watches(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        row = session.get(Watch, watch.id)
        assert row is not None
        row.query = "acme " + " ".join(f"-w{i}" for i in range(28))
    tokens = [f"-x{i}" for i in range(5)]

    with pytest.raises(WatchError, match="more than 30 terms"):
        exclude(sqlite_engine, watch, *tokens, card_id=card_id)

    (saved,) = watches(sqlite_engine)
    assert "-x0" not in saved.query


def test_a_paused_watch_is_not_fetched_until_resumed(engine: Engine) -> None:
    watch = make_watch(engine)
    assert watch.id is not None
    with session_scope(engine) as session:
        set_watch_enabled(watch.id, False, session=session)
    with session_scope(engine) as session:
        assert list_watches(session=session, enabled_only=True) == []
        set_watch_enabled(watch.id, True, session=session)
    with session_scope(engine) as session:
        assert [w.id for w in list_watches(session=session, enabled_only=True)] == [watch.id]
        with pytest.raises(WatchError, match="no watch with id 999"):
            set_watch_enabled(999, True, session=session)
