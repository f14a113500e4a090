"""Authors are accounts, not handles: a renamed account keeps its row, score and history."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import select

from bot.services.authors import score_history, upsert_author
from bot.sources.base import FetchedAuthor
from bot.store.db import session_scope
from bot.store.models import Author
from tests.factories import NOW


def store(engine: Engine, author: FetchedAuthor, *, minutes: int = 0) -> Author:
    with session_scope(engine) as session:
        return upsert_author(
            "x", author, session=session, now=NOW + timedelta(minutes=minutes), metrics_fresh=True
        )


def all_authors(engine: Engine) -> list[Author]:
    with session_scope(engine) as session:
        return list(session.exec(select(Author)))


def test_a_renamed_account_keeps_its_row_and_its_score_history(engine: Engine) -> None:
    first = store(engine, FetchedAuthor(handle="acme_fan", account_id="123", followers=10))
    renamed = store(
        engine,
        FetchedAuthor(handle="acme_superfan", account_id="123", followers=50_000),
        minutes=5,
    )

    assert renamed.id == first.id
    (author,) = all_authors(engine)
    assert (author.external_id, author.handle) == ("123", "acme_superfan")
    assert first.score is not None and renamed.score is not None
    assert renamed.score > first.score
    with session_scope(engine) as session:
        history = [(h.value, h.at) for h in score_history(author.id or 0, session=session)]
    assert history == [(first.score, NOW), (renamed.score, NOW + timedelta(minutes=5))]


def test_an_author_stored_under_their_handle_takes_the_networks_id_when_it_appears(
    engine: Engine,
) -> None:
    legacy = store(engine, FetchedAuthor(handle="acme_fan", followers=10))

    known = store(engine, FetchedAuthor(handle="acme_fan", account_id="123", followers=10))

    assert known.id == legacy.id
    (author,) = all_authors(engine)
    assert author.external_id == "123"


def test_two_accounts_that_swap_handles_stay_two_authors(engine: Engine) -> None:
    store(engine, FetchedAuthor(handle="alpha", account_id="1"))
    store(engine, FetchedAuthor(handle="beta", account_id="2"))

    store(engine, FetchedAuthor(handle="beta", account_id="1"), minutes=1)
    store(engine, FetchedAuthor(handle="alpha", account_id="2"), minutes=2)

    assert sorted((a.external_id, a.handle) for a in all_authors(engine)) == [
        ("1", "beta"),
        ("2", "alpha"),
    ]


def test_an_unchanged_score_adds_no_history(engine: Engine) -> None:
    author = store(engine, FetchedAuthor(handle="same", account_id="7", followers=100))
    store(engine, FetchedAuthor(handle="same", account_id="7", followers=100), minutes=60)

    with session_scope(engine) as session:
        assert len(score_history(author.id or 0, session=session)) == 1
