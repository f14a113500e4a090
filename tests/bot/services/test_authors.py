"""Authors are accounts, not handles: a renamed account keeps its row, score and history."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from bot.services.authors import score_history, upsert_author
from bot.services.pipeline import ingest_mentions
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.db import session_scope
from bot.store.models import Author
from scoring import influence
from tests.factories import NOW, make_fetched, make_watch


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


# An X account as its profile describes it: 1,000 followers, 800 posts, six years old.
X_AUTHOR = FetchedAuthor(
    handle="wren",
    account_id="42",
    followers=1_000,
    posts=800,
    created_at=NOW - timedelta(days=6 * 365),
)


def x_post(n: int, *, age: timedelta = timedelta(days=1), **counts: Any) -> FetchedMention:
    """Post `n` by X_AUTHOR, written `age` before it is fetched (at NOW)."""
    return make_fetched(
        network="x",
        external_id=f"x{n}",
        url=f"https://x.com/wren/status/{n}",
        author=X_AUTHOR,
        created_at=NOW - age,
        **counts,
    )


def ingest_posts(engine: Engine, posts: list[FetchedMention]) -> Author:
    watch = make_watch(engine)
    with session_scope(engine) as session:
        ingest_mentions(posts, watch=watch, authors={"wren": X_AUTHOR}, session=session, now=NOW)
    (author,) = all_authors(engine)
    return author


def factor(author: Author, name: str) -> dict[str, Any]:
    assert author.score_breakdown is not None
    (found,) = [f for f in author.score_breakdown["factors"] if f["name"] == name]
    return dict(found)


def test_engagement_is_the_median_of_the_authors_posts_that_had_time_to_be_seen(
    engine: Engine,
) -> None:
    seen = [
        x_post(n, likes=likes, reposts=2, replies=1) for n, likes in enumerate([0, 7, 37, 47, 497])
    ]
    fresh = [x_post(n, age=timedelta(minutes=10), likes=0) for n in (10, 11, 12)]

    author = ingest_posts(engine, [*seen, *fresh])

    assert (author.median_engagement, author.engagement_sample) == (40.0, 5)
    engagement = factor(author, "median engagement")
    assert engagement["raw"] == 40.0 and engagement["points"] > 0
    assert author.score_breakdown is not None
    assert author.score_breakdown["confidence"] == "high"
    assert sum(f["points"] for f in author.score_breakdown["factors"]) == author.score


def test_engagement_from_fewer_than_five_posts_is_stored_but_not_scored(engine: Engine) -> None:
    author = ingest_posts(engine, [x_post(n, likes=5_000) for n in range(4)])

    assert (author.median_engagement, author.engagement_sample) == (5_000.0, 4)
    engagement = factor(author, "median engagement")
    assert engagement["points"] == 0
    assert "4 of the 5 posts" in engagement["note"]
    assert author.score_breakdown is not None
    assert author.score_breakdown["confidence"] == "medium"
    unmeasured = influence.score(
        influence.AuthorMetrics(
            "x", followers=1_000, posts=800, account_created=NOW - timedelta(days=6 * 365)
        ),
        now=NOW,
    )
    assert author.score == unmeasured.value


def test_posts_without_counts_leave_engagement_unmeasured(engine: Engine) -> None:
    author = ingest_posts(engine, [x_post(n) for n in range(6)])

    assert (author.median_engagement, author.engagement_sample) == (None, 0)
    assert factor(author, "median engagement")["note"] == "not measured: no posts seen yet"


def test_engagement_that_changes_the_score_is_kept_in_its_history(engine: Engine) -> None:
    author = ingest_posts(engine, [x_post(n, likes=3_000) for n in range(5)])

    with session_scope(engine) as session:
        history = [h.value for h in score_history(author.id or 0, session=session)]
    assert len(history) == 2
    assert history[-1] == author.score
    assert history[-1] > history[0]


def test_an_author_scored_by_an_older_formula_is_rescored_when_next_seen(engine: Engine) -> None:
    old = store(engine, FetchedAuthor(handle="wren", account_id="42", followers=0, posts=2_000))
    with session_scope(engine) as session:
        stored = session.get(Author, old.id)
        assert stored is not None
        stored.score, stored.score_breakdown = 34, {"formula_version": "1.0+ref.1"}
        session.add(stored)

    again = store(engine, FetchedAuthor(handle="wren", account_id="42"), minutes=5)

    assert again.score is not None and again.score <= 10
    assert again.score_breakdown is not None
    assert again.score_breakdown["formula_version"] == "2.0+ref.2"
    with session_scope(engine) as session:
        history = score_history(again.id or 0, session=session)
    assert (history[-1].value, history[-1].formula_version) == (again.score, "2.0+ref.2")
