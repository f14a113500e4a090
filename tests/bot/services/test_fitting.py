"""Bad items from a network: fitted to their columns, or skipped alone, never the whole batch."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import DataError
from sqlmodel import col, select

from bot.services.fitting import fit_mention
from bot.services.pipeline import ingest_mentions
from bot.sources import hackernews, mastodon
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.db import session_scope
from bot.store.models import Author, Card, Mention
from tests.factories import NOW, make_fetched, make_watch

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
INT32_MAX = 2**31 - 1


def ingest(
    engine: Engine,
    fetched: list[FetchedMention],
    *,
    authors: dict[str, FetchedAuthor] | None = None,
) -> int:
    watch = make_watch(engine)
    with session_scope(engine) as session:
        cards = ingest_mentions(
            fetched, watch=watch, authors=authors or {}, session=session, now=NOW
        )
    return len(cards)


def stored(engine: Engine) -> dict[str, Mention]:
    with session_scope(engine) as session:
        return {m.external_id: m for m in session.exec(select(Mention))}


def stored_authors(engine: Engine) -> dict[str, Author]:
    with session_scope(engine) as session:
        return {a.handle: a for a in session.exec(select(Author))}


def hn_hits(**changes: Any) -> bytes:
    """The recorded Algolia page with its first hit changed."""
    body = json.loads((FIXTURES / "hackernews" / "search_page0.json").read_bytes())
    body["hits"][0].update(changes)
    return json.dumps(body).encode()


def test_an_hn_hit_with_three_billion_points_is_stored_clamped_with_its_batch(
    engine: Engine,
) -> None:
    fetched = hackernews.parse_mentions(hn_hits(objectID="900", points=3_000_000_000))
    karma = hackernews.parse_author(json.dumps({"username": "fernwood", "karma": 5e9}).encode())
    assert karma is not None

    queued = ingest(engine, fetched, authors={"fernwood": karma})

    rows = stored(engine)
    assert queued == len(fetched) == len(rows)
    assert rows["900"].likes == INT32_MAX
    assert stored_authors(engine)["fernwood"].karma == INT32_MAX


def test_a_mastodon_account_claiming_three_billion_followers_is_clamped(
    engine: Engine,
) -> None:
    body = json.loads((FIXTURES / "mastodon" / "search_acme.json").read_bytes())
    for status in body["statuses"]:
        status["account"]["followers_count"] = 3_000_000_000
    fetched = mastodon.parse_mentions(json.dumps(body).encode())

    queued = ingest(engine, fetched)

    assert queued == len(fetched) > 0
    assert {a.followers for a in stored_authors(engine).values()} == {INT32_MAX}


def test_long_and_nul_laden_fields_are_cut_and_cleaned_and_the_batch_kept(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    long_author = FetchedAuthor(handle="a" * 300, display_name="Eve\u0000 Mallory" * 50)
    fetched = [
        make_fetched(external_id="1"),
        make_fetched(external_id="x" * 600),  # an id cut short could name another post
        make_fetched(external_id="2", author=long_author, lang="en\u0000" * 20),
        make_fetched(external_id="3", author=FetchedAuthor(handle="nul\u0000guy")),
        make_fetched(external_id="4", title="t\u0000" * 900, text="acme \u0000 down"),
    ]

    with caplog.at_level(logging.WARNING):
        queued = ingest(engine, fetched)

    rows = stored(engine)
    assert queued == 4 and sorted(rows) == ["1", "2", "3", "4"]
    assert "skipped a hackernews mention: external_id 'xxxx" in caplog.text
    people = stored_authors(engine)
    assert {"a" * 255, "nulguy"} <= set(people)
    assert "\u0000" not in (people["a" * 255].display_name or "")
    assert rows["2"].lang == "enenenenenenenen"  # 16 characters, its column's size
    assert rows["4"].text == "acme down"
    assert rows["4"].title is not None and "\u0000" not in rows["4"].title


def test_one_post_the_database_refuses_is_skipped_and_the_others_stored(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if statement.startswith("INSERT INTO mention") and "refused" in repr(params):
            raise DataError(statement, params, Exception("value out of range"))

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        with caplog.at_level(logging.WARNING):
            queued = ingest(
                engine,
                [
                    make_fetched(external_id="1"),
                    make_fetched(external_id="refused"),
                    make_fetched(external_id="3"),
                ],
            )
    finally:
        event.remove(engine, "before_cursor_execute", refuse)

    assert queued == 2
    assert sorted(stored(engine)) == ["1", "3"]
    with session_scope(engine) as session:
        assert len(session.exec(select(Card).where(col(Card.id).is_not(None))).all()) == 2
    assert "skipped hackernews/refused" in caplog.text


def test_a_fitted_mention_keeps_what_already_fits() -> None:
    item = make_fetched(likes=12, title="Acme down")

    assert fit_mention(item) is item
