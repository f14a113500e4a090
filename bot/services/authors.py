"""Authors: one row per account, keyed by the network's stable id, with its reach and history.

Where a network gives accounts a stable id (X user id, Bluesky DID, Mastodon account URI,
Reddit t2_ fullname) that id is the key and the handle is an attribute that may change: a
renamed account keeps its row, its score and its score history. Elsewhere (Hacker News,
Stack Exchange) the handle is the identity.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.sources.base import FetchedAuthor
from bot.store.models import Author, AuthorScore
from scoring import influence

HANDLE_MAX_CHARS = 255
# How long an author's metrics are trusted before the network is asked again.
AUTHOR_METRICS_TTL = timedelta(hours=24)


def author_key(fetched: FetchedAuthor) -> str:
    """The id an author is stored under: the network's stable account id, else the handle."""
    return fetched.account_id or fetched.handle


def find_author(network: str, fetched: FetchedAuthor, *, session: Session) -> Author | None:
    """The stored author for this account, by stable id first, then by a handle-keyed row."""
    stmt = select(Author).where(
        Author.network == network, Author.external_id == author_key(fetched)
    )
    author = session.exec(stmt).first()
    if author is not None or not fetched.account_id or not fetched.handle:
        return author
    # Stored under its handle before the network's id was known: that row is this account.
    legacy = select(Author).where(Author.network == network, Author.external_id == fetched.handle)
    return session.exec(legacy).first()


def author_needs_metrics(author: Author | None, *, now: datetime) -> bool:
    """True when the author's metrics are missing or older than AUTHOR_METRICS_TTL."""
    if author is None or author.metrics_fetched_at is None:
        return True
    return now - author.metrics_fetched_at > AUTHOR_METRICS_TTL


def upsert_author(
    network: str,
    fetched: FetchedAuthor,
    *,
    session: Session,
    now: datetime,
    metrics_fresh: bool,
) -> Author:
    """Store or refresh an author, follow a new handle, and rescore their reach."""
    author = find_author(network, fetched, session=session)
    if author is None:
        try:
            with session.begin_nested():  # a concurrent fetch may add the same author first
                author = Author(
                    network=network, external_id=author_key(fetched), handle=fetched.handle
                )
                session.add(author)
                session.flush()
        except IntegrityError:
            author = find_author(network, fetched, session=session)
            assert author is not None
    author.external_id = author_key(fetched)
    if fetched.handle:
        author.handle = fetched.handle
    before = (author.score, (author.score_breakdown or {}).get("formula_version"))
    apply_metrics(author, fetched, now=now, fresh=metrics_fresh)
    session.add(author)
    session.flush()
    assert author.id is not None
    assert author.score is not None
    version = str((author.score_breakdown or {}).get("formula_version", ""))
    if before != (author.score, version):
        session.add(
            AuthorScore(author_id=author.id, at=now, value=author.score, formula_version=version)
        )
    return author


def merge_authors(search: FetchedAuthor, lookup: FetchedAuthor | None) -> FetchedAuthor:
    """The profile lookup's figures, keeping the search's stable id when the lookup lacks one."""
    if lookup is None:
        return search
    if lookup.account_id is None and search.account_id is not None:
        return replace(lookup, account_id=search.account_id)
    return lookup


def apply_metrics(author: Author, fetched: FetchedAuthor, *, now: datetime, fresh: bool) -> None:
    """Copy what the network told us onto the author and rescore their reach."""
    for name in ("display_name", "url", "followers", "following", "posts", "karma", "verified"):
        value = getattr(fetched, name)
        if value is not None:
            setattr(author, name, value)
    if fetched.created_at is not None:
        author.account_created_at = fetched.created_at
    if fresh:
        author.metrics_fetched_at = now
    reach = influence.score(
        influence.AuthorMetrics(
            network=author.network,
            followers=author.followers,
            following=author.following,
            posts=author.posts,
            karma=author.karma,
            account_created=author.account_created_at,
            verified=author.verified,
        ),
        now=now,
    )
    author.score = reach.value
    author.score_breakdown = {
        "formula_version": reach.formula_version,
        "confidence": reach.confidence,
        "factors": [asdict(f) for f in reach.factors],
    }


def score_history(author_id: int, *, session: Session) -> list[AuthorScore]:
    """Every score the author has had, oldest first."""
    stmt = (
        select(AuthorScore).where(AuthorScore.author_id == author_id).order_by(col(AuthorScore.id))
    )
    return list(session.exec(stmt))
