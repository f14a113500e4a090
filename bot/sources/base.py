"""What every source returns, what it raises, and the Protocol it implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class SourceError(Exception):
    """A network answered badly (HTTP error, malformed body); the cursor must not move."""


class RateLimited(SourceError):
    """The network asked us to slow down; retry after `retry_after_s` seconds."""

    def __init__(self, message: str, *, retry_after_s: float, body: bytes = b"") -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.body = body  # the start of the 429's body: some networks explain themselves there


@dataclass(frozen=True, slots=True)
class FetchedAuthor:
    """An author as a network describes them; every metric is optional."""

    handle: str
    # The network's stable account id where it has one (X user id, Bluesky DID, Mastodon
    # account URI, Reddit t2_ fullname): a renamed account keeps it, so it keys the author.
    account_id: str | None = None
    display_name: str | None = None
    url: str | None = None
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    karma: int | None = None
    created_at: datetime | None = None
    verified: bool | None = None


@dataclass(frozen=True, slots=True)
class FetchedMention:
    """One public post that matched a watch, normalised across networks."""

    network: str
    external_id: str
    url: str
    text: str
    created_at: datetime
    author: FetchedAuthor
    lang: str | None = None
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    parent_id: str | None = None
    conversation_id: str | None = None
    title: str | None = None  # the post's own title (a story's, a submission's, an entry's)
    rating: int | None = None  # a review's stars, 1–5 (app stores): a sentiment signal
    # What the conversation is called, where the network says (a comment's story title).
    conversation_title: str | None = None
    # The page the post is about, where the network says (a story's or an entry's link).
    link_url: str | None = None


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """What one watch asks of one network, already translated to that network's search."""

    query: (
        str  # the network's native search string (bot.services.query translates the watch's query)
    )
    hashtags: tuple[str, ...] = ()  # tags named in the query, for networks with tag timelines
    lang: str | None = None  # ISO 639-1 code when the watch asks for one language
    # The watch's options for this network, by the names its declaration gives them
    # (e.g. an rss watch's feed_url); each source reads its own.
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class FetchResult:
    """What one fetch returned: new mentions, author details and the cursor to store after."""

    mentions: list[FetchedMention]
    cursor: dict[str, Any]
    authors: dict[str, FetchedAuthor] = field(default_factory=dict)


class Source(Protocol):
    """A network overheard reads mentions from."""

    name: str
    # Settings this source still needs (e.g. ("X_BEARER_TOKEN",)); empty when it can run.
    missing_settings: tuple[str, ...]

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return every mention matching `spec` newer than `cursor`, and the cursor to store."""
        ...

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Return the author's current public metrics, or None when the network has none."""
        ...
