"""From fetched mentions to stored, scored mentions with a queued card each."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.cards import SYSTEM_ACTOR, record_event
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.models import Author, Card, CardState, EventKind, Mention, Watch
from bot.text import clean_text
from scoring import influence, priority, sentiment

log = logging.getLogger(__name__)

# How long an author's metrics are trusted before the network is asked again.
AUTHOR_METRICS_TTL = timedelta(hours=24)
TEXT_MAX_CHARS = 40_000


def known_external_ids(network: str, external_ids: list[str], *, session: Session) -> set[str]:
    """Return which of `external_ids` are already stored for `network`."""
    if not external_ids:
        return set()
    stmt = select(Mention.external_id).where(
        Mention.network == network, col(Mention.external_id).in_(external_ids)
    )
    return set(session.exec(stmt))


def find_author(network: str, handle: str, *, session: Session) -> Author | None:
    """The stored author with this handle on this network, if any."""
    stmt = select(Author).where(Author.network == network, Author.external_id == handle)
    return session.exec(stmt).first()


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
    """Store or refresh an author and rescore their reach from what we know."""
    author = find_author(network, fetched.handle, session=session)
    if author is None:
        try:
            with session.begin_nested():  # a concurrent fetch may add the same author first
                author = Author(network=network, external_id=fetched.handle, handle=fetched.handle)
                session.add(author)
                session.flush()
        except IntegrityError:
            author = find_author(network, fetched.handle, session=session)
            assert author is not None
    apply_metrics(author, fetched, now=now, fresh=metrics_fresh)
    session.add(author)
    session.flush()
    return author


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


def build_mention(item: FetchedMention, *, author: Author | None, now: datetime) -> Mention:
    """An unsaved Mention for a fetched post, with its sentiment worked out."""
    text = clean_text(item.text)[:TEXT_MAX_CHARS]
    whole = "\n".join(filter(None, [item.title, text]))
    mood = sentiment.blend_stars(sentiment.analyze(whole), item.rating)
    urgency = priority.prioritize(whole, mood, author.score if author is not None else None)
    return Mention(
        network=item.network,
        external_id=item.external_id,
        author_id=author.id if author else None,
        url=item.url,
        title=clean_text(item.title)[:1000] if item.title else None,
        text=text,
        lang=item.lang,
        created_at=item.created_at,
        fetched_at=now,
        likes=item.likes,
        reposts=item.reposts,
        replies=item.replies,
        parent_id=item.parent_id,
        conversation_id=item.conversation_id,
        sentiment_polarity=mood.polarity if mood.label != "unknown" else None,
        sentiment_label=mood.label,
        rating=item.rating,
        priority=urgency.level,
        priority_reasons=urgency.reasons,
    )


def ingest_mentions(
    fetched: list[FetchedMention],
    *,
    watch: Watch,
    authors: dict[str, FetchedAuthor],
    session: Session,
    now: datetime,
) -> list[Card]:
    """Store each new mention with its scores and queue a card for it; skip ones we have."""
    queued: list[Card] = []
    by_network: dict[str, list[FetchedMention]] = {}
    for item in fetched:
        by_network.setdefault(item.network, []).append(item)
    for network, items in by_network.items():
        known = known_external_ids(network, [m.external_id for m in items], session=session)
        for item in items:
            if item.external_id in known:
                continue
            known.add(item.external_id)
            card = _store_one(item, watch=watch, authors=authors, session=session, now=now)
            if card is not None:
                queued.append(card)
    return queued


def _store_one(
    item: FetchedMention,
    *,
    watch: Watch,
    authors: dict[str, FetchedAuthor],
    session: Session,
    now: datetime,
) -> Card | None:
    fresh = authors.get(item.author.handle)
    author = upsert_author(
        item.network,
        fresh or item.author,
        session=session,
        now=now,
        metrics_fresh=fresh is not None,
    )
    mention = build_mention(item, author=author, now=now)
    mention.watch_id = watch.id
    try:
        with session.begin_nested():  # another worker may store the same mention first
            session.add(mention)
            session.flush()
            assert mention.id is not None
            card = Card(
                mention_id=mention.id,
                channel_id=watch.channel_id,
                state=CardState.QUEUED,
                queued_at=now,
            )
            session.add(card)
            session.flush()
            assert card.id is not None
            record_event(card.id, EventKind.QUEUED, SYSTEM_ACTOR, session=session, now=now)
    except IntegrityError:
        log.info("mention %s/%s was stored by someone else", item.network, item.external_id)
        return None
    return card
