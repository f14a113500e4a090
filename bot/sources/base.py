"""What every source returns, what it raises, and the Protocol it implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class SourceError(Exception):
    """A network answered badly (HTTP error, malformed body); the cursor must not move."""


class RateLimited(SourceError):
    """The network asked us to slow down; retry after `retry_after_s` seconds."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class FetchedAuthor:
    """An author as a network describes them; every metric is optional."""

    handle: str
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
    title: str | None = None


@dataclass(slots=True)
class FetchResult:
    """What one fetch returned: new mentions, author details and the cursor to store after."""

    mentions: list[FetchedMention]
    cursor: dict[str, Any]
    authors: dict[str, FetchedAuthor] = field(default_factory=dict)


class Source(Protocol):
    """A network overheard reads mentions from."""

    name: str

    def fetch(self, query: str, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return every mention of `query` newer than `cursor`, and the cursor to store next."""
        ...

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Return the author's current public metrics, or None when the network has none."""
        ...
