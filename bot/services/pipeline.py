"""From fetched mentions to stored, scored mentions, with a queued card in each watch's channel."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from bot.services.authors import merge_authors, record_engagement, upsert_author
from bot.services.cards import SYSTEM_ACTOR, record_event
from bot.services.fitting import UnfitItem, fit_author, fit_mention
from bot.services.mutes import hold_if_muted
from bot.services.query import Query, Term, matched_terms, parse_query
from bot.services.routes import describe_conditions, first_match, list_routes
from bot.services.threads import normalise_link
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.models import Author, Card, CardState, EventKind, Mention, Route, Watch
from bot.text import ELLIPSIS, clean_text
from scoring import priority, sentiment

log = logging.getLogger(__name__)

TEXT_MAX_CHARS = 40_000


REASON_MAX_CHARS = 500  # Card.reason
REASON_QUERY_MAX_CHARS = 200


def known_mentions(network: str, external_ids: list[str], *, session: Session) -> dict[str, int]:
    """Return the stored mention id of each of `external_ids` already known for `network`."""
    if not external_ids:
        return {}
    stmt = select(Mention.external_id, Mention.id).where(
        Mention.network == network, col(Mention.external_id).in_(external_ids)
    )
    return {external_id: mid for external_id, mid in session.exec(stmt) if mid is not None}


def carded_mentions(mention_ids: list[int], channel_id: str, *, session: Session) -> set[int]:
    """Return which of these mentions already have a card in `channel_id`."""
    return {m for m, _c in carded_pairs(mention_ids, [channel_id], session=session)}


def carded_pairs(
    mention_ids: list[int], channel_ids: list[str], *, session: Session
) -> set[tuple[int, str]]:
    """Return which (mention, channel) pairs of these already have a card."""
    if not mention_ids or not channel_ids:
        return set()
    stmt = select(Card.mention_id, Card.channel_id).where(
        col(Card.channel_id).in_(channel_ids), col(Card.mention_id).in_(mention_ids)
    )
    return set(session.exec(stmt).all())


def posting_reason(
    watch: Watch, terms: tuple[Term, ...] | None, *, route: Route | None = None
) -> str:
    """Say which watch a card is for, which of its terms the post matched, and any routing."""
    routed = ""
    if route is not None:
        routed = f" · routed by rule #{route.id}: {describe_conditions(route)}"
        routed = routed[: REASON_MAX_CHARS // 2]
    return _fit_reason(_matched_reason(watch, terms), routed)


def _fit_reason(reason: str, routed: str) -> str:
    room = REASON_MAX_CHARS - len(routed)
    if len(reason) > room:
        reason = reason[: room - 1] + ELLIPSIS
    return reason + routed


def _matched_reason(watch: Watch, terms: tuple[Term, ...] | None) -> str:
    query = " ".join(watch.query.split())
    if len(query) > REASON_QUERY_MAX_CHARS:
        query = query[: REASON_QUERY_MAX_CHARS - 1] + ELLIPSIS
    if not terms:  # a network whose every post is the watch's (app reviews)
        return f"From watch #{watch.id} `{query}`"
    matched = " ".join(f"“{term.label}”" for term in terms)
    reason = f"Matched watch #{watch.id} `{query}` on {matched}"
    return reason if len(reason) <= REASON_MAX_CHARS else reason[: REASON_MAX_CHARS - 1] + ELLIPSIS


def build_mention(item: FetchedMention, *, author: Author | None, now: datetime) -> Mention:
    """An unsaved Mention for a fetched post, with its sentiment worked out."""
    text = clean_text(item.text)[:TEXT_MAX_CHARS]
    # A reply is read in the light of its conversation: "same here" under "Acme is down".
    whole = "\n".join(filter(None, [item.title or item.conversation_title, text]))
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
        conversation_title=(
            clean_text(item.conversation_title)[:1000] if item.conversation_title else None
        ),
        link_url=normalise_link(item.link_url),
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
    """Store each new mention with its scores and queue a card for it in the watch's channel.

    A mention matching one of the watch's routing rules goes to the first such rule's
    channel instead. A mention already stored (found by another watch) gets a card here too,
    once per channel, saying which watch and terms matched it; one already carded in the
    channel it would go to is skipped.
    """
    query = parse_query(watch.query)
    routes = list_routes(watch_id=watch.id, session=session) if watch.id is not None else []
    channels = list(dict.fromkeys([watch.channel_id, *(r.channel_id for r in routes)]))
    queued: list[Card] = []
    authors = fit_authors(authors)
    by_network: dict[str, list[FetchedMention]] = {}
    for item in fit_mentions(fetched):
        by_network.setdefault(item.network, []).append(item)
    for network, items in by_network.items():
        known = known_mentions(network, [m.external_id for m in items], session=session)
        carded = carded_pairs(list(known.values()), channels, session=session)
        seen: set[str] = set()
        for item in items:
            if item.external_id in seen:
                continue
            seen.add(item.external_id)
            try:
                # One item the database still refuses is skipped, never the batch.
                with session.begin_nested():
                    card = _ingest_one(
                        item,
                        known.get(item.external_id),
                        watch=watch,
                        query=query,
                        routes=routes,
                        carded=carded,
                        authors=authors,
                        session=session,
                        now=now,
                    )
            except ITEM_ERRORS:
                log.warning(
                    "skipped %s/%s: the database refused it",
                    item.network,
                    item.external_id,
                    exc_info=True,
                )
                continue
            if card is not None:
                queued.append(card)
    return queued


# What a bad item's values can make the database (or its driver) raise.
ITEM_ERRORS = (SQLAlchemyError, ValueError, ArithmeticError, TypeError)


def fit_mentions(fetched: list[FetchedMention]) -> list[FetchedMention]:
    """The mentions fitted to their columns; those whose id can't be stored are skipped."""
    fitted = []
    for item in fetched:
        try:
            fitted.append(fit_mention(item))
        except UnfitItem as exc:
            log.warning("skipped a %s mention: %s", item.network, exc)
    return fitted


def fit_authors(authors: dict[str, FetchedAuthor]) -> dict[str, FetchedAuthor]:
    """Looked-up authors fitted to their columns, by their fitted handle."""
    fitted = (fit_author(a) for a in authors.values())
    return {a.handle: a for a in fitted}


def _ingest_one(
    item: FetchedMention,
    mention_id: int | None,
    *,
    watch: Watch,
    query: Query,
    routes: list[Route],
    carded: set[tuple[int, str]],
    authors: dict[str, FetchedAuthor],
    session: Session,
    now: datetime,
) -> Card | None:
    """Store one mention if it is new and queue its card; None when it needs no card here."""
    if mention_id is None:
        mention_id = _store_mention(item, watch=watch, authors=authors, session=session, now=now)
    if mention_id is None:
        return None
    route = _route_for(mention_id, routes, session=session) if routes else None
    channel_id = route.channel_id if route is not None else watch.channel_id
    if (mention_id, channel_id) in carded:
        return None
    reason = posting_reason(watch, matched_terms(query, item), route=route)
    return _queue_card(mention_id, watch, channel_id, reason, session=session, now=now)


def _route_for(mention_id: int, routes: list[Route], *, session: Session) -> Route | None:
    """The first routing rule a stored mention matches, or None."""
    mention = session.get(Mention, mention_id)
    assert mention is not None
    author = session.get(Author, mention.author_id) if mention.author_id is not None else None
    return first_match(
        routes,
        priority=mention.priority,
        sentiment=mention.sentiment_label,
        reach=author.score if author is not None else None,
        text="\n".join(filter(None, [mention.title, mention.text])),
    )


def _store_mention(
    item: FetchedMention,
    *,
    watch: Watch,
    authors: dict[str, FetchedAuthor],
    session: Session,
    now: datetime,
) -> int | None:
    """Store one new mention and return its id (another worker's, if it stored it first)."""
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
    except IntegrityError:
        log.info("mention %s/%s was stored by someone else", item.network, item.external_id)
        found = known_mentions(item.network, [item.external_id], session=session)
        return found.get(item.external_id)
    # Measured after the post is stored, so its own counts are in: from the next mention on.
    record_engagement(author, session=session, now=now)
    return mention.id


def _queue_card(
    mention_id: int,
    watch: Watch,
    channel_id: str,
    reason: str,
    *,
    session: Session,
    now: datetime,
) -> Card | None:
    """Queue the mention's card for the watch in a channel; None when it has one there already."""
    try:
        with session.begin_nested():  # another worker may queue it in this channel first
            card = Card(
                mention_id=mention_id,
                channel_id=channel_id,
                watch_id=watch.id,
                reason=reason,
                state=CardState.QUEUED,
                queued_at=now,
            )
            session.add(card)
            session.flush()
            assert card.id is not None
            record_event(card.id, EventKind.QUEUED, SYSTEM_ACTOR, session=session, now=now)
            hold_if_muted(card, session=session, now=now)
    except IntegrityError:
        log.info(
            "mention %d already has a card in %s",
            mention_id,
            channel_id,
            extra={"mention_id": mention_id, "channel_id": channel_id},
        )
        return None
    return card
