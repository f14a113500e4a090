"""What the services need from a chat service, and how it fails: no Slack in sight.

The Slack implementation (and the terminal one) live in `bot.slack.chat`; the services
hand them a card's data and the backend renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.services.digest import Digest
from bot.store.models import AdminNotice, Author, Card, EventKind, Mention

if TYPE_CHECKING:
    from bot.services.home import HomeData


@dataclass(frozen=True, slots=True)
class ThreadActivity:
    """What a top-level card says about the cards posted in its thread."""

    replies: int = 0
    latest_at: datetime | None = None  # when the newest of them was written
    also_on: tuple[str, ...] = ()  # other networks in the thread (keys, like "rss")


@dataclass(frozen=True, slots=True)
class CardView:
    """Everything a card shows, read back from the database."""

    card: Card
    mention: Mention
    author: Author | None
    thread: ThreadActivity = field(default_factory=ThreadActivity)


@dataclass(frozen=True, slots=True)
class Overdue:
    """How long an unclaimed card has waited, against its priority's response target."""

    priority: int  # 1–4; a mention without one is held to P4
    waited: timedelta
    target: timedelta


class ChatError(Exception):
    """The chat service refused a message; `code` is its error string."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class ChatRateLimited(ChatError):
    """The chat service asked us to wait `retry_after_s` seconds."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__("ratelimited")
        self.retry_after_s = retry_after_s


class ChatBackend(Protocol):
    """Posting, updating and finding cards, noting changes in their threads; the Home; DMs."""

    def post_card(
        self, view: CardView, *, thread_ts: str | None = None, broadcast: bool = False
    ) -> str:
        """Post a card (in a thread when `thread_ts`, also to the channel when `broadcast`)."""
        ...

    def update_card(self, view: CardView) -> None:
        """Replace a posted card's content with what `view` now shows."""
        ...

    def find_card(self, channel: str, card_id: int, *, thread_ts: str | None = None) -> str | None:
        """The ts of a card already posted for this id, in the channel or the thread given."""
        ...

    def post_note(self, view: CardView, kind: EventKind, actor: str) -> None:
        """Say in the card's thread who changed it and how."""
        ...

    def post_reminder(self, view: CardView, overdue: Overdue, *, escalates: bool) -> None:
        """Say in the card's thread that it is past its response target, unclaimed.

        `escalates` says whether someone is told if it waits twice as long.
        """
        ...

    def post_escalation(self, view: CardView, overdue: Overdue, *, to: str) -> None:
        """Tell the escalation contact: a user group (S…) in the card's thread, shown in its
        channel too, or a channel (C…, G…) with a link to the card."""

    def home_fingerprint(self, home: HomeData) -> str:
        """A short digest of the Home `home` renders to: equal digests, equal Homes."""
        ...

    def publish_home(self, user_id: str, home: HomeData) -> None:
        """Show `home` on the user's Home tab."""
        ...

    def send_notice(self, user_id: str, notice: AdminNotice) -> None:
        """Send an admin notice to one person by direct message."""

    def post_digest(self, digest: Digest, *, on_demand: bool = False) -> str:
        """Post a channel's digest, tagged so a scheduled one can be found again; its ts."""
        ...

    def find_digest(self, digest: Digest) -> str | None:
        """The ts of the scheduled digest for this channel, kind and day, if already posted."""
        ...

    def post_digest_chart(self, digest: Digest, thread_ts: str, png: bytes, alt_text: str) -> None:
        """Upload the digest's chart into its thread."""
        ...
