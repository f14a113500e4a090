"""The tables: watches, cursors, authors, mentions, cards and their audit log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, MetaData, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime

# Stable constraint names, so migrations can refer to them on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def _ts(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime(), nullable=nullable, index=index)


class CardState(enum.StrEnum):
    """Where a card is in its life: queued → posted → claimed → resolved / dismissed."""

    QUEUED = "queued"
    POSTED = "posted"
    CLAIMED = "claimed"
    SNOOZED = "snoozed"  # out of the queue until `Card.snoozed_until`, then back, unclaimed
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class EventKind(enum.StrEnum):
    """What an audit event records: the card's posting and each change people make to it."""

    QUEUED = "queued"
    POSTED = "posted"
    RECONCILED = "reconciled"  # a card a crashed post left in Slack, adopted instead of re-sent
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"
    REOPENED = "reopened"
    REMINDED = "reminded"  # past its response target and still unclaimed: noted in its thread
    ESCALATED = "escalated"  # past twice its target: the escalation contact was told
    SNOOZED = "snoozed"
    WOKE = "woke"  # a snoozed card came back to the queue
    MUTED = "muted"  # a mention by a muted author: stored and logged, never posted
    AUTHOR_MUTED = "author_muted"  # someone muted the card's author on the card's watch
    WATCH_CHANGED = "watch_changed"  # someone changed the card's watch (an exclusion added)


class Watch(SQLModel, table=True):
    """A brand query, the networks it runs on and the channel its cards go to."""

    id: int | None = Field(default=None, primary_key=True)
    query: str = Field(max_length=500)
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    channel_id: str = Field(max_length=32)
    # Per-network targets: feed_url (rss), app_id and country (appstore), site (stackexchange).
    options: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    interval_s: int = Field(default=300)
    enabled: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


class SourceCursor(SQLModel, table=True):
    """Per watch × source: how far we have read, when to read next and how it went."""

    __table_args__ = (UniqueConstraint("watch_id", "source"),)

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", ondelete="CASCADE", index=True)
    source: str = Field(max_length=32)
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    next_due_at: datetime | None = _ts(index=True)
    last_attempt_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_mention_at: datetime | None = _ts()  # when a new mention last arrived
    last_error: str | None = Field(default=None, max_length=1000)
    failures: int = Field(default=0)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = _ts()


class Author(SQLModel, table=True):
    """An account that wrote a mention, with its public metrics and last reach score.

    `external_id` is the network's stable account id where it has one, else the handle.
    """

    __table_args__ = (UniqueConstraint("network", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=32)
    external_id: str = Field(max_length=255)
    handle: str = Field(max_length=255, index=True)
    display_name: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, max_length=2000)
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    karma: int | None = None
    account_created_at: datetime | None = _ts()
    verified: bool | None = None
    metrics_fetched_at: datetime | None = _ts()
    # Median likes + reposts + replies per post, over `engagement_sample` of the author's
    # posts overheard has stored (bot/services/authors.py measure_engagement); None: no post.
    median_engagement: float | None = None
    engagement_sample: int | None = None
    score: int | None = None
    score_breakdown: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class AuthorScore(SQLModel, table=True):
    """One reach score an author had, from when; a new row each time the score changes."""

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="author.id", ondelete="CASCADE", index=True)
    at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    value: int
    formula_version: str = Field(max_length=32)


class Mention(SQLModel, table=True):
    """One public post that matched a watch, with its sentiment and priority."""

    __table_args__ = (UniqueConstraint("network", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    network: str = Field(max_length=32)
    external_id: str = Field(max_length=500)
    watch_id: int | None = Field(
        default=None, foreign_key="watch.id", ondelete="SET NULL", index=True
    )
    author_id: int | None = Field(default=None, foreign_key="author.id", index=True)
    url: str = Field(max_length=2000)
    title: str | None = Field(default=None, max_length=1000)
    text: str
    lang: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime(), nullable=False, index=True)
    fetched_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    parent_id: str | None = Field(default=None, max_length=500)
    # The network's conversation (thread, story) the post belongs to: its root post's id.
    conversation_id: str | None = Field(default=None, max_length=500)
    # What the conversation is called where the network says (a comment's story title).
    conversation_title: str | None = Field(default=None, max_length=1000)
    # The page a post is about (a story's article, a feed entry): the same link seen on
    # several networks shares one card.
    link_url: str | None = Field(default=None, max_length=2000)
    sentiment_polarity: float | None = None
    sentiment_label: str | None = Field(default=None, max_length=16)
    rating: int | None = None  # a review's stars, 1–5
    priority: int | None = None
    priority_reasons: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )


class Card(SQLModel, table=True):
    """One mention in one channel: its message, its state and who holds it; the poster's outbox.

    A mention matched by several watches has a card in each of their channels. Cards of one
    conversation (or one link) in a channel share a top-level card: see ThreadKey.
    """

    __table_args__ = (
        UniqueConstraint("mention_id", "channel_id"),
        # The digest counts a channel's cards by when they arrived, were claimed or closed.
        Index("ix_card_channel_id_queued_at", "channel_id", "queued_at"),
        Index("ix_card_channel_id_claimed_at", "channel_id", "claimed_at"),
        Index("ix_card_channel_id_closed_at", "channel_id", "closed_at"),
        # What still waits in a channel, and since when, read from the index alone.
        Index("ix_card_channel_id_state", "channel_id", "state", "posted_at", "claimed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", ondelete="CASCADE")
    channel_id: str = Field(max_length=32, index=True)
    watch_id: int | None = Field(
        default=None, foreign_key="watch.id", ondelete="SET NULL", index=True
    )
    reason: str | None = Field(default=None, max_length=500)  # which watch and term matched
    snoozed_until: datetime | None = _ts()
    closing_note: str | None = Field(default=None, max_length=3000)
    state: str = Field(default=CardState.QUEUED, max_length=16, index=True)
    message_ts: str | None = Field(default=None, max_length=32)
    thread_ts: str | None = Field(default=None, max_length=32)
    queued_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    posted_at: datetime | None = _ts()
    claimed_by: str | None = Field(default=None, max_length=32)
    claimed_at: datetime | None = _ts()
    closed_by: str | None = Field(default=None, max_length=32)
    closed_at: datetime | None = _ts()
    post_attempts: int = Field(default=0)  # failed or unfinished posts in a row
    post_lease_until: datetime | None = _ts()  # a poster is posting it until then
    # After a failed post the card is not tried again before then (a growing backoff).
    retry_at: datetime | None = _ts()
    last_post_error: str | None = Field(default=None, max_length=1000)
    # Bumped by every state change; Slack shows `synced_version` until the card is re-sent.
    version: int = Field(default=0)
    synced_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Response targets: set once when the card's reminder or escalation is sent, never again.
    reminded_at: datetime | None = _ts()
    escalated_at: datetime | None = _ts()


class ThreadKey(SQLModel, table=True):
    """A key (a network's conversation, a linked URL) that leads to its top-level card.

    The first card of a conversation posted in a channel claims the key; every later card
    with the same key goes in that card's thread, whatever order they are posted in.
    """

    __table_args__ = (UniqueConstraint("channel_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str = Field(max_length=32)
    key: str = Field(max_length=700)
    card_id: int = Field(foreign_key="card.id", ondelete="CASCADE", index=True)


class SentimentFeedback(SQLModel, table=True):
    """Someone's correction of a mention's sentiment: labelled data for retraining."""

    id: int | None = Field(default=None, primary_key=True)
    mention_id: int = Field(foreign_key="mention.id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=32)
    label: str = Field(max_length=16)  # what the person says it is
    model_label: str | None = Field(default=None, max_length=16)  # what overheard said
    model_polarity: float | None = None
    at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


class MutedAuthor(SQLModel, table=True):
    """An author whose mentions a watch stores but no longer posts."""

    __table_args__ = (UniqueConstraint("author_id", "watch_id"),)

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(foreign_key="author.id", ondelete="CASCADE")
    watch_id: int = Field(foreign_key="watch.id", ondelete="CASCADE", index=True)
    muted_by: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


class Event(SQLModel, table=True):
    """An append-only record of a state change: what happened, to which card, by whom."""

    id: int | None = Field(default=None, primary_key=True)
    card_id: int = Field(foreign_key="card.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Route(SQLModel, table=True):
    """A rule sending some of a watch's mentions to another channel than the watch's own.

    A rule matches when every condition it sets holds; a mention goes to the first matching
    rule's channel (by `position`), or to the watch's channel when none matches.
    """

    id: int | None = Field(default=None, primary_key=True)
    watch_id: int = Field(foreign_key="watch.id", ondelete="CASCADE", index=True)
    channel_id: str = Field(max_length=32)
    position: int = Field(default=0)
    priority_at_most: int | None = None  # P1..P4: matches this priority or a more urgent one
    sentiment: str | None = Field(default=None, max_length=16)  # negative, neutral, positive
    reach_at_least: int | None = None  # 1..100
    keyword: str | None = Field(default=None, max_length=200)  # a word or phrase in the text
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


class ConfigEntry(SQLModel, table=True):
    """A workspace setting changed from Slack (SLA targets, escalation contact): key → JSON."""

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


class DigestSchedule(SQLModel, table=True):
    """When a channel gets its digest: a local time in a time zone, daily or weekly."""

    channel_id: str = Field(primary_key=True, max_length=32)
    at_time: str = Field(max_length=5)  # HH:MM, local
    timezone: str = Field(max_length=64)  # an IANA zone name
    weekly: bool = Field(default=False)  # Mondays only
    # Name staff with <@U…> in the digest's response times; off: figures without names.
    name_staff: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    updated_by: str = Field(max_length=32)
    updated_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)


class DigestSent(SQLModel, table=True):
    """A digest slot: claimed by one worker before posting, with the message once posted.

    One row per channel, kind (daily, weekly) and first local day covered, so a slot can be
    claimed once; a claim whose worker died (lease over, no message) is taken over, and the
    taker first looks for the message in Slack before posting again.
    """

    __table_args__ = (UniqueConstraint("channel_id", "kind", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    channel_id: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    day: date
    claimed_by: str = Field(max_length=64)
    claimed_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    lease_until: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    attempts: int = Field(default=1)
    message_ts: str | None = Field(default=None, max_length=32)
    posted_at: datetime | None = _ts()
    chart_posted_at: datetime | None = _ts()


class AdminNotice(SQLModel, table=True):
    """A problem admins must act on (the bot not in a channel, a channel archived, ...).

    One row per problem (`key`); repeats bump `count` and `last_at`. Admins are told once
    by DM (`notified_at`) and see it on the Home tab until it is cleared.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=64)
    channel_id: str | None = Field(default=None, max_length=32)
    message: str = Field(max_length=1000)
    first_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    last_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    count: int = Field(default=1)
    notified_at: datetime | None = _ts()
    cleared_at: datetime | None = _ts()


class HomeViewer(SQLModel, table=True):
    """Someone who opened the App Home, and a fingerprint of the view last published to them."""

    user_id: str = Field(primary_key=True, max_length=32)
    opened_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    published_hash: str | None = Field(default=None, max_length=64)
    published_at: datetime | None = _ts()


class ChannelPace(SQLModel, table=True):
    """Slack's pace for one channel, shared by every poster: no message goes before `next_at`.

    A poster moves `next_at` forward with a compare-and-set before each message, so workers
    together keep to Slack's one message per second; a 429 moves it to the end of Retry-After.
    A channel Slack refuses (`paused_code`: not_in_channel, ...) is tried again at `next_at`.
    The row of `*` stands for the whole workspace: paused when Slack refuses the token.
    """

    channel_id: str = Field(primary_key=True, max_length=32)
    next_at: datetime = Field(sa_type=UTCDateTime(), nullable=False)
    paused_code: str | None = Field(default=None, max_length=64)
    paused_at: datetime | None = _ts()
    last_posted_at: datetime | None = _ts()
