"""Which top-level card a card goes under: thread keys, placing a card, and its thread's activity.

Every card brings keys: its conversation (`hackernews:46618752`) and, when it is about a page,
the page (`link:https://www.acme.dev/blog/series-b`). In each channel the first card to claim
a key leads it: it is posted top-level, and every later card bringing one of its keys goes in
its thread, whatever order priority posts them in. A claim is an INSERT that the unique
(channel_id, key) decides, so two workers can't both lead one conversation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.services.chat import ThreadActivity
from bot.store.models import Card, CardState, Mention, ThreadKey

KEY_MAX_CHARS = 700  # ThreadKey.key
LINK_MAX_CHARS = 2000  # Mention.link_url
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Enough for a lost race and a leader that gave up; more means the keys keep moving.
_PLACING_ROUNDS = 4


def normalise_link(url: str | None) -> str | None:
    """A page's address as one spelling: scheme and host lower-case, no fragment, no utm_*.

    None for anything that is not an http(s) URL with a host, or that is too long to keep.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname  # lower-cased, without any user name or password
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    # Tracking parameters name the campaign that shared a page, not the page.
    query = "&".join(
        piece
        for piece in parts.query.split("&")
        if piece and not piece.split("=", 1)[0].lower().startswith("utm_")
    )
    link = urlunsplit((scheme, netloc, parts.path or "/", query, ""))
    return link if len(link) <= LINK_MAX_CHARS else None


def conversation_key(mention: Mention) -> str:
    """The key of the mention's conversation: its network's thread, or the post itself."""
    return f"{mention.network}:{mention.conversation_id or mention.external_id}"


def link_key(link_url: str) -> str:
    """The key of a (normalised) page address; a very long one is keyed by its hash."""
    key = f"link:{link_url}"
    if len(key) <= KEY_MAX_CHARS:
        return key
    return f"link:sha256:{hashlib.sha256(link_url.encode()).hexdigest()}"


def thread_keys(mention: Mention) -> list[str]:
    """The keys a mention's card brings, its conversation's first."""
    keys = [conversation_key(mention)]
    if mention.link_url:
        keys.append(link_key(mention.link_url))
    return keys


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a queued card goes: top-level, in the thread of `thread_ts`, or not yet."""

    thread_ts: str | None = None
    waiting: bool = False  # its top card is claimed but not posted yet


TOP_LEVEL = Placement()
WAIT = Placement(waiting=True)


def place_card(
    card_id: int, *, session: Session, now: datetime, max_attempts: int
) -> Placement | None:
    """Decide where a queued card goes, claiming its keys when it leads; None if not queued.

    A card whose top card is claimed but not posted waits. A top card that will never be
    posted (out of attempts, its lease run out) hands its keys over, so nothing waits forever.
    """
    card = session.get(Card, card_id)
    if card is None or card.state != CardState.QUEUED:
        return None
    mention = session.get(Mention, card.mention_id)
    assert mention is not None  # the foreign key guarantees it
    keys = thread_keys(mention)
    for _round in range(_PLACING_ROUNDS):
        held = _held_keys(card.channel_id, keys, session=session)
        if card_id in held.values():  # it leads (an earlier attempt claimed its keys)
            _claim_each([k for k in keys if k not in held], card, card_id, session=session)
            return TOP_LEVEL
        leader_id = next((held[k] for k in keys if k in held), None)
        if leader_id is None:
            if _claim_all(keys, card, session=session):
                return TOP_LEVEL
            continue  # another card claimed one of them just now: follow it
        leader = session.get(Card, leader_id, populate_existing=True)
        assert leader is not None  # the foreign key guarantees it
        if leader.message_ts is not None:
            _claim_each([k for k in keys if k not in held], card, leader_id, session=session)
            thread_ts = leader.thread_ts or leader.message_ts
            session.execute(
                update(Card)
                .where(col(Card.id) == card_id)
                .where(col(Card.state) == CardState.QUEUED)
                .values(thread_ts=thread_ts)
            )
            return Placement(thread_ts=thread_ts)
        if _still_coming(leader, now=now, max_attempts=max_attempts):
            return WAIT
        session.execute(
            update(ThreadKey)
            .where(col(ThreadKey.channel_id) == card.channel_id)
            .where(col(ThreadKey.card_id) == leader_id)
            .values(card_id=card_id)
        )
    return WAIT  # the keys kept moving under us: look again next pass


def _held_keys(channel_id: str, keys: list[str], *, session: Session) -> dict[str, int]:
    stmt = select(ThreadKey.key, ThreadKey.card_id).where(
        ThreadKey.channel_id == channel_id, col(ThreadKey.key).in_(keys)
    )
    return dict(session.exec(stmt).all())


def _claim_all(keys: list[str], card: Card, *, session: Session) -> bool:
    """Claim every key for `card` at once; False when another card holds one of them."""
    assert card.id is not None
    try:
        with session.begin_nested():
            session.add_all(
                ThreadKey(channel_id=card.channel_id, key=k, card_id=card.id) for k in keys
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def _claim_each(keys: list[str], card: Card, leader_id: int, *, session: Session) -> None:
    """Point each free key at `leader_id`; a key another card took meanwhile stays with it."""
    for key in keys:
        try:
            with session.begin_nested():
                session.add(ThreadKey(channel_id=card.channel_id, key=key, card_id=leader_id))
                session.flush()
        except IntegrityError:
            continue


def _still_coming(leader: Card, *, now: datetime, max_attempts: int) -> bool:
    """True while a top card that is not posted yet may still be."""
    if leader.state != CardState.QUEUED:
        return False
    being_posted = leader.post_lease_until is not None and leader.post_lease_until > now
    return being_posted or leader.post_attempts < max_attempts


def note_reply(channel_id: str, thread_ts: str, *, session: Session) -> None:
    """A card was posted in the thread of `thread_ts`: its top card changes, so re-send it."""
    session.execute(
        update(Card)
        .where(col(Card.channel_id) == channel_id)
        .where(col(Card.message_ts) == thread_ts)
        .values(version=col(Card.version) + 1)
    )


def thread_activity(card: Card, mention: Mention, *, session: Session) -> ThreadActivity:
    """What a posted top-level card's thread holds: how many cards, the newest, which networks."""
    if card.message_ts is None or card.thread_ts not in (None, card.message_ts):
        return ThreadActivity()
    stmt = (
        select(Mention.network, func.count(), func.max(Mention.created_at))
        .join(Card, col(Card.mention_id) == Mention.id)
        .where(Card.channel_id == card.channel_id)
        .where(Card.thread_ts == card.message_ts)
        .where(col(Card.id) != card.id)
        .where(col(Card.message_ts).is_not(None))
        .group_by(Mention.network)
    )
    rows = session.exec(stmt).all()
    if not rows:
        return ThreadActivity()
    return ThreadActivity(
        replies=sum(count for _network, count, _latest in rows),
        latest_at=max((latest for _n, _c, latest in rows if latest is not None), default=None),
        also_on=tuple(sorted({network for network, _c, _l in rows} - {mention.network})),
    )
