"""Authors: one row per account, keyed by the network's stable id, with its reach and history.

Where a network gives accounts a stable id (X user id, Bluesky DID, Mastodon account URI,
Reddit t2_ fullname) that id is the key and the handle is an attribute that may change: a
renamed account keeps its row, its score and its score history. Elsewhere (Hacker News,
Stack Exchange) the handle is the identity.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.sources.base import FetchedAuthor
from bot.store.models import Author, AuthorScore, Mention
from scoring import influence

HANDLE_MAX_CHARS = 255
# How long an author's metrics are trusted before the network is asked again.
AUTHOR_METRICS_TTL = timedelta(hours=24)
# Engagement is the median over the author's most recent stored posts that had been public
# this long when fetched: counts read minutes after posting are mostly zeros, and a post's
# counts are read once, when it is fetched.
ENGAGEMENT_MIN_POST_AGE = timedelta(hours=6)
ENGAGEMENT_POSTS = 50  # the most recent posts that qualify
ENGAGEMENT_SCAN = 500  # of this many most recent stored posts


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
    before = _scored(author)
    apply_metrics(author, fetched, now=now, fresh=metrics_fresh)
    _record_score(author, before, session=session, now=now)
    return author


def record_engagement(author: Author, *, session: Session, now: datetime) -> None:
    """Measure the author's engagement from their stored posts; rescore them if it changed."""
    assert author.id is not None
    median, sample = measure_engagement(author.id, session=session)
    if (median, sample) == (author.median_engagement, author.engagement_sample):
        return
    before = _scored(author)
    author.median_engagement, author.engagement_sample = median, sample
    rescore(author, now=now)
    _record_score(author, before, session=session, now=now)


def measure_engagement(author_id: int, *, session: Session) -> tuple[float | None, int]:
    """The median likes + reposts + replies per post of the author's stored posts, and how many.

    Only posts with at least one count, public for ENGAGEMENT_MIN_POST_AGE when fetched,
    count: the most recent ENGAGEMENT_POSTS of them. (None, 0) when there is none.
    """
    stmt = (
        sa_select(
            col(Mention.created_at),
            col(Mention.fetched_at),
            col(Mention.likes),
            col(Mention.reposts),
            col(Mention.replies),
        )
        .where(col(Mention.author_id) == author_id)
        .order_by(col(Mention.created_at).desc(), col(Mention.id).desc())
        .limit(ENGAGEMENT_SCAN)
    )
    sample: list[int] = []
    for created, fetched, *counts in session.execute(stmt):
        known = [max(0, c) for c in counts if c is not None]
        if known and _utc(fetched) - _utc(created) >= ENGAGEMENT_MIN_POST_AGE:
            sample.append(sum(known))
        if len(sample) == ENGAGEMENT_POSTS:
            break
    if not sample:
        return None, 0
    return float(statistics.median(sample)), len(sample)


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
    rescore(author, now=now)


def rescore(author: Author, *, now: datetime) -> None:
    """Score the author's reach from what is stored about them, with its breakdown."""
    reach = influence.score(
        influence.AuthorMetrics(
            network=author.network,
            followers=author.followers,
            following=author.following,
            posts=author.posts,
            karma=author.karma,
            account_created=author.account_created_at,
            verified=author.verified,
            median_engagement=author.median_engagement,
            engagement_sample=author.engagement_sample,
        ),
        now=now,
    )
    author.score = reach.value
    author.score_breakdown = {
        "formula_version": reach.formula_version,
        "confidence": reach.confidence,
        "factors": [asdict(f) for f in reach.factors],
    }


def _scored(author: Author) -> tuple[int | None, object]:
    return author.score, (author.score_breakdown or {}).get("formula_version")


def _record_score(
    author: Author, before: tuple[int | None, object], *, session: Session, now: datetime
) -> None:
    """Save the author; add a history row when their score or its formula changed."""
    session.add(author)
    session.flush()
    assert author.id is not None
    assert author.score is not None
    version = str((author.score_breakdown or {}).get("formula_version", ""))
    if before != (author.score, version):
        session.add(
            AuthorScore(author_id=author.id, at=now, value=author.score, formula_version=version)
        )


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def score_history(author_id: int, *, session: Session) -> list[AuthorScore]:
    """Every score the author has had, oldest first."""
    stmt = (
        select(AuthorScore).where(AuthorScore.author_id == author_id).order_by(col(AuthorScore.id))
    )
    return list(session.exec(stmt))
