"""From fetched mentions to stored, scored mentions with a queued card each."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.conversations import SYSTEM_ACTOR, record_event
from bot.models import Author, Conversation, ConversationState, Mention, Watch
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.text import clean_text
from scoring import influence, sentiment

log = logging.getLogger(__name__)

# How long an author's metrics are trusted before the network is asked again.
AUTHOR_METRICS_TTL = timedelta(hours=24)
TEXT_MAX_CHARS = 40_000


def content_hash(text: str) -> str:
    """A stable fingerprint of a mention's text, for spotting copies across networks."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()


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
        author = Author(network=network, external_id=fetched.handle, handle=fetched.handle)
    for name in ("display_name", "url", "followers", "following", "posts", "karma", "verified"):
        value = getattr(fetched, name)
        if value is not None:
            setattr(author, name, value)
    if fetched.created_at is not None:
        author.account_created_at = fetched.created_at
    if metrics_fresh:
        author.metrics_fetched_at = now
    reach = influence.score(
        influence.AuthorMetrics(
            network=network,
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
    session.add(author)
    session.flush()
    return author


def ingest_mentions(
    fetched: list[FetchedMention],
    *,
    watch: Watch,
    authors: dict[str, FetchedAuthor],
    session: Session,
    now: datetime,
) -> list[Conversation]:
    """Store each new mention with its scores and queue a card for it; skip ones we have."""
    queued: list[Conversation] = []
    by_network: dict[str, list[FetchedMention]] = {}
    for item in fetched:
        by_network.setdefault(item.network, []).append(item)
    for network, items in by_network.items():
        known = known_external_ids(network, [m.external_id for m in items], session=session)
        for item in items:
            if item.external_id in known:
                continue
            known.add(item.external_id)
            conversation = _store_one(item, watch=watch, authors=authors, session=session, now=now)
            if conversation is not None:
                queued.append(conversation)
    return queued


def _store_one(
    item: FetchedMention,
    *,
    watch: Watch,
    authors: dict[str, FetchedAuthor],
    session: Session,
    now: datetime,
) -> Conversation | None:
    fresh = authors.get(item.author.handle)
    author = upsert_author(
        item.network,
        fresh or item.author,
        session=session,
        now=now,
        metrics_fresh=fresh is not None,
    )
    text = clean_text(item.text)[:TEXT_MAX_CHARS]
    mood = sentiment.analyze(" ".join(filter(None, [item.title, text])))
    mention = Mention(
        network=item.network,
        external_id=item.external_id,
        watch_id=watch.id,
        author_id=author.id,
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
        conversation_ref=item.conversation_id,
        sentiment_polarity=mood.polarity if mood.label != "unknown" else None,
        sentiment_label=mood.label,
        content_hash=content_hash(text),
    )
    try:
        with session.begin_nested():  # another worker may store the same mention first
            session.add(mention)
            session.flush()
            assert mention.id is not None
            conversation = Conversation(
                mention_id=mention.id,
                channel_id=watch.channel_id,
                state=ConversationState.QUEUED,
                queued_at=now,
            )
            session.add(conversation)
            session.flush()
            assert conversation.id is not None
            record_event(conversation.id, "queued", SYSTEM_ACTOR, session=session, now=now)
    except IntegrityError:
        log.info("mention %s/%s was stored by someone else", item.network, item.external_id)
        return None
    return conversation
