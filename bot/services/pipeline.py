"""From fetched mentions to stored, scored mentions with a queued card each."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.authors import merge_authors, upsert_author
from bot.services.cards import SYSTEM_ACTOR, record_event
from bot.services.mutes import hold_if_muted
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.models import Author, Card, CardState, EventKind, Mention, Watch
from bot.text import clean_text
from scoring import priority, sentiment

log = logging.getLogger(__name__)

TEXT_MAX_CHARS = 40_000


def known_external_ids(network: str, external_ids: list[str], *, session: Session) -> set[str]:
    """Return which of `external_ids` are already stored for `network`."""
    if not external_ids:
        return set()
    stmt = select(Mention.external_id).where(
        Mention.network == network, col(Mention.external_id).in_(external_ids)
    )
    return set(session.exec(stmt))


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
        merge_authors(item.author, fresh),
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
            hold_if_muted(card, session=session, now=now)
    except IntegrityError:
        log.info("mention %s/%s was stored by someone else", item.network, item.external_id)
        return None
    return card
