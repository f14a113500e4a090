"""The chat backends: Slack's Web API, or the terminal when no Slack tokens are set."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from bot.retry import seconds_to_wait
from bot.services.chat import CardView, ChatError, ChatRateLimited, Overdue
from bot.services.digest import Digest
from bot.services.home import HomeData
from bot.slack.cards import (
    Message,
    build_mention_card,
    build_plain_card,
    build_thread_note,
    render_card_text,
)
from bot.slack.digest import build_digest
from bot.slack.home import build_home_view, build_notice_message, view_fingerprint
from bot.slack.sla import build_channel_escalation, build_group_escalation, build_reminder
from bot.store.models import AdminNotice, EventKind

log = logging.getLogger(__name__)

# Cards carry this message metadata, so a card whose post outcome was lost can be found.
CARD_EVENT_TYPE = "overheard_card"
# Digests carry their slot (channel, kind, first day), so a crashed send can be found.
DIGEST_EVENT_TYPE = "overheard_digest"
# When Slack's Retry-After can't be read, assume a polite default.
DEFAULT_RETRY_AFTER_S = 30.0
# Slack's answers to blocks it won't show: the card is sent again, plainer.
BLOCK_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"})
PROBLEMS_LOGGED_CHARS = 500


class SlackChat:
    """Posts cards with a Slack WebClient."""

    def __init__(
        self, client: WebClient, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.client = client
        self._clock = clock  # only for a Retry-After given as a date
        self._workspace_url: str | None = None  # for links to messages, asked once

    def post_card(
        self, view: CardView, *, thread_ts: str | None = None, broadcast: bool = False
    ) -> str:
        """Post a card with unfurling off; tag it so a crashed post can be found again."""
        card_id = view.card.id

        def post(message: Message) -> Any:
            content = message.to_slack()
            if not content["blocks"]:  # the text alone
                del content["blocks"]
            return self.client.chat_postMessage(
                channel=view.card.channel_id,
                thread_ts=thread_ts,
                reply_broadcast=bool(thread_ts and broadcast) or None,
                unfurl_links=False,
                unfurl_media=False,
                metadata={
                    "event_type": CARD_EVENT_TYPE,
                    "event_payload": {"card_id": card_id},
                },
                **content,
            )

        try:
            response = self._with_plain_fallback(view, post)
        except SlackApiError as exc:
            raise _chat_error(exc, now=self._clock()) from exc
        except OSError as exc:  # refused, reset, timed out: Slack never saw it or never answered
            raise ChatError(f"connection: {exc}") from exc
        return str(response["ts"])

    def _with_plain_fallback(self, view: CardView, send: Callable[[Message], Any]) -> Any:
        """Send the card; if Slack refuses its blocks, send the plain card, then text alone.

        A mention must not be lost to a block Slack dislikes: it goes out plainer instead.
        """
        messages = [_card(view), _plain(view), Message(blocks=[], text=_plain(view).text)]
        for message in messages[:-1]:
            try:
                return send(message)
            except SlackApiError as exc:
                error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                if error not in BLOCK_ERRORS:
                    raise
                problems = exc.response.get("errors") or []
                log.warning(
                    "Slack refused card %s's blocks (%s: %s); sending it plainer",
                    view.card.id,
                    error,
                    "; ".join(str(p) for p in problems)[:PROBLEMS_LOGGED_CHARS],
                )
        return send(messages[-1])

    def find_card(self, channel: str, card_id: int, *, thread_ts: str | None = None) -> str | None:
        """Find a card a crashed post left in the channel or a thread (needs channels:history)."""
        try:
            if thread_ts is not None:
                return _find_in_thread(self.client, channel, thread_ts, card_id)
            return _find_in_history(self.client, channel, card_id)
        except SlackApiError as exc:
            raise _chat_error(exc, now=self._clock()) from exc
        except OSError as exc:
            raise ChatError(f"connection: {exc}") from exc

    def update_card(self, view: CardView) -> None:
        """Replace a posted card's blocks and fallback text."""
        card = view.card
        if card.message_ts is None:
            raise ValueError(f"card {card.id} is not posted yet")
        message_ts = card.message_ts

        def update(message: Message) -> Any:
            return self.client.chat_update(
                channel=card.channel_id, ts=message_ts, **message.to_slack()
            )

        try:
            self._with_plain_fallback(view, update)
        except SlackApiError as exc:
            raise _chat_error(exc, now=self._clock()) from exc
        except OSError as exc:
            raise ChatError(f"connection: {exc}") from exc

    def post_note(self, view: CardView, kind: EventKind, actor: str) -> None:
        """Post the one-line note in the card's thread."""
        card = view.card
        self._send(
            self.client.chat_postMessage,
            channel=card.channel_id,
            thread_ts=card.thread_ts,
            **_note(view, kind, actor).to_slack(),
        )

    def post_reminder(self, view: CardView, overdue: Overdue, *, escalates: bool) -> None:
        """Reply in the card's thread that it is past its response target."""
        card = view.card
        self._send(
            self.client.chat_postMessage,
            channel=card.channel_id,
            thread_ts=card.thread_ts,
            **_reminder(view, overdue, escalates=escalates).to_slack(),
        )

    def post_escalation(self, view: CardView, overdue: Overdue, *, to: str) -> None:
        """Call a user group in the card's thread (shown in the channel too), or tell a
        channel, with a link to the card."""
        card = view.card
        if card.message_ts is None:
            raise ValueError(f"card {card.id} is not posted yet")
        if not _is_channel(to):
            self._send(
                self.client.chat_postMessage,
                channel=card.channel_id,
                thread_ts=card.thread_ts,
                reply_broadcast=True,
                **build_group_escalation(_card_id(view), overdue, to).to_slack(),
            )
            return
        try:
            response = self.client.chat_getPermalink(
                channel=card.channel_id, message_ts=card.message_ts
            )
        except SlackApiError as exc:
            raise _chat_error(exc, now=self._clock()) from exc
        except OSError as exc:
            raise ChatError(f"connection: {exc}") from exc
        self._send(
            self.client.chat_postMessage,
            channel=to,
            unfurl_links=False,
            unfurl_media=False,
            **build_channel_escalation(view, overdue, response.get("permalink")).to_slack(),
        )

    def home_fingerprint(self, home: HomeData) -> str:
        """A digest of the Home view `home` renders to."""
        return view_fingerprint(build_home_view(home, workspace_url=self._workspace()))

    def publish_home(self, user_id: str, home: HomeData) -> None:
        """Publish the Home view with views.publish."""
        view = build_home_view(home, workspace_url=self._workspace())
        self._send(self.client.views_publish, user_id=user_id, view=view)

    def send_notice(self, user_id: str, notice: AdminNotice) -> None:
        """DM the notice: posted to the user's id, it lands in the app's Messages tab."""
        self._send(
            self.client.chat_postMessage,
            channel=user_id,
            unfurl_links=False,
            unfurl_media=False,
            **build_notice_message(notice).to_slack(),
        )

    def _workspace(self) -> str | None:
        """The workspace's URL from auth.test, kept once known; None while Slack can't say."""
        if self._workspace_url is None:
            try:
                url = self.client.auth_test().get("url")
            except (SlackApiError, OSError) as exc:
                log.warning("auth.test failed, so the Home has no message links: %s", exc)
                return None
            self._workspace_url = str(url) if url else None
        return self._workspace_url

    def post_digest(self, digest: Digest, *, on_demand: bool = False) -> str:
        """Post the digest, its top mentions linked to their cards, tagged with its slot."""
        permalinks = {}
        for top in {*digest.top_by_reach, *digest.top_by_negativity}:
            response = self._call(
                self.client.chat_getPermalink, channel=top.channel_id, message_ts=top.message_ts
            )
            permalinks[top.card_id] = str(response["permalink"])
        response = self._call(
            self.client.chat_postMessage,
            channel=digest.period.channel_id,
            unfurl_links=False,
            unfurl_media=False,
            metadata={"event_type": DIGEST_EVENT_TYPE, "event_payload": _slot(digest, on_demand)},
            **build_digest(digest, permalinks).to_slack(),
        )
        return str(response["ts"])

    def find_digest(self, digest: Digest) -> str | None:
        """Find the scheduled digest of this slot among the channel's newest messages."""
        wanted = _slot(digest, on_demand=False)
        try:
            for message in _history(self.client, digest.period.channel_id):
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == DIGEST_EVENT_TYPE
                    and metadata.get("event_payload") == wanted
                ):
                    return str(message["ts"])
        except SlackApiError as exc:
            raise _chat_error(exc, now=self._clock()) from exc
        except OSError as exc:
            raise ChatError(f"connection: {exc}") from exc
        return None

    def post_digest_chart(self, digest: Digest, thread_ts: str, png: bytes, alt_text: str) -> None:
        """Upload the chart into the digest's thread (files.getUploadURLExternal, then complete)."""
        day = digest.period.first_day.isoformat()
        self._call(
            self.client.files_upload_v2,
            channel=digest.period.channel_id,
            thread_ts=thread_ts,
            file=png,
            filename=f"overheard-digest-{day}.png",
            title=f"Mentions per hour, 7 days to {day}",
            alt_txt=alt_text,
        )

    def _send(self, method: Any, **kwargs: Any) -> None:
        self._call(method, **kwargs)

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            raise _chat_error(exc, now=self._clock()) from exc
        except SlackRequestError as exc:  # the file upload itself failed
            raise ChatError(f"upload: {exc}") from exc
        except OSError as exc:
            raise ChatError(f"connection: {exc}") from exc


def _slot(digest: Digest, on_demand: bool) -> dict[str, Any]:
    period = digest.period
    return {
        "channel_id": period.channel_id,
        "kind": period.kind.value,
        "day": period.first_day.isoformat(),
        "on_demand": on_demand,
    }


def _history(client: WebClient, channel: str) -> Any:
    """The channel's newest top-level messages, with metadata, up to HISTORY_PAGES pages."""
    cursor: str | None = None
    for _page in range(HISTORY_PAGES):
        response = client.conversations_history(
            channel=channel, limit=HISTORY_PAGE, include_all_metadata=True, cursor=cursor
        )
        yield from response.get("messages") or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or cursor is None:
            return


HISTORY_PAGE = 200
HISTORY_PAGES = 5


def _find_in_history(client: WebClient, channel: str, card_id: int) -> str | None:
    """Look through the channel's newest messages for the card's metadata."""
    return _find_in_pages(
        lambda cursor: client.conversations_history(
            channel=channel, limit=HISTORY_PAGE, include_all_metadata=True, cursor=cursor
        ),
        card_id,
    )


def _find_in_thread(client: WebClient, channel: str, thread_ts: str, card_id: int) -> str | None:
    """Look through a thread's replies for the card's metadata."""
    return _find_in_pages(
        lambda cursor: client.conversations_replies(
            channel=channel,
            ts=thread_ts,
            limit=HISTORY_PAGE,
            include_all_metadata=True,
            cursor=cursor,
        ),
        card_id,
    )


def _find_in_pages(read: Callable[[str | None], Any], card_id: int) -> str | None:
    """Read up to HISTORY_PAGES pages of messages, looking for the card's metadata."""
    cursor: str | None = None
    for _page in range(HISTORY_PAGES):
        response = read(cursor)
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if (
                metadata.get("event_type") == CARD_EVENT_TYPE
                # Cards posted before the rename carry their id as "conversation_id".
                and payload.get("card_id", payload.get("conversation_id")) == card_id
            ):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
        if not response.get("has_more") or cursor is None:
            return None
    return None


def _chat_error(exc: SlackApiError, *, now: datetime) -> ChatError:
    response = exc.response
    if response.status_code == 429:
        raw = response.headers.get("Retry-After") or response.headers.get("retry-after")
        wait = seconds_to_wait(raw, now=now) if raw is not None else None
        return ChatRateLimited(DEFAULT_RETRY_AFTER_S if wait is None else wait)
    error = response.get("error") if isinstance(response.data, dict) else None
    return ChatError(str(error or f"HTTP {response.status_code}"))


class ConsoleChat:
    """Prints cards to a terminal, for trying overheard without a Slack workspace."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self._lock = threading.Lock()
        self._next_ts = 0

    def post_card(
        self, view: CardView, *, thread_ts: str | None = None, broadcast: bool = False
    ) -> str:
        """Print the card with its buttons and a number to act on it by."""
        card = view.card
        with self._lock:
            self._next_ts += 1
            ts = f"{self._next_ts}.000000"
            where = f"in {card.channel_id}" + (
                f", in the thread of {thread_ts}" if thread_ts else ""
            )
            self._print(f"card #{card.id} {where}", _card(view))
        return ts

    def find_card(self, channel: str, card_id: int, *, thread_ts: str | None = None) -> str | None:
        """A terminal keeps no history: nothing to find."""
        return None

    def update_card(self, view: CardView) -> None:
        """Print the card again as it now stands."""
        with self._lock:
            self._print(f"card #{view.card.id} updated", _card(view))

    def post_note(self, view: CardView, kind: EventKind, actor: str) -> None:
        """Print the thread note under the card's number."""
        note = _note(view, kind, actor)
        with self._lock:
            self.out.write(f"   #{view.card.id}: {render_card_text(note)}\n")
            self.out.flush()

    def post_reminder(self, view: CardView, overdue: Overdue, *, escalates: bool) -> None:
        """Print the reminder under the card's number."""
        self._print_line(view, _reminder(view, overdue, escalates=escalates))

    def post_escalation(self, view: CardView, overdue: Overdue, *, to: str) -> None:
        """Print the escalation under the card's number, saying where it would go."""
        if _is_channel(to):
            message = build_channel_escalation(view, overdue, None)
            with self._lock:
                self._print(f"to {to}, about card #{view.card.id}", message)
        else:
            self._print_line(view, build_group_escalation(_card_id(view), overdue, to))

    def _print_line(self, view: CardView, message: Message) -> None:
        with self._lock:
            self.out.write(f"   #{view.card.id}: {render_card_text(message)}\n")

    def home_fingerprint(self, home: HomeData) -> str:
        """A digest of the Home view, as Slack would get it."""
        return view_fingerprint(build_home_view(home))

    def publish_home(self, user_id: str, home: HomeData) -> None:
        """A terminal has no Home tab: nothing to show."""

    def send_notice(self, user_id: str, notice: AdminNotice) -> None:
        """Print the notice, addressed to the admin it would be sent to."""
        with self._lock:
            self.out.write(f"\n!! for {user_id}: {notice.message}\n")

    def post_digest(self, digest: Digest, *, on_demand: bool = False) -> str:
        """Print the digest."""
        with self._lock:
            self._next_ts += 1
            ts = f"{self._next_ts}.000000"
            self._print(f"digest for {digest.period.channel_id}", build_digest(digest))
        return ts

    def find_digest(self, digest: Digest) -> str | None:
        """A terminal keeps no history: nothing to find."""
        return None

    def post_digest_chart(self, digest: Digest, thread_ts: str, png: bytes, alt_text: str) -> None:
        """Say what the chart shows; a terminal can't show the image."""
        with self._lock:
            self.out.write(f"   chart ({len(png)} bytes PNG): {alt_text}\n")
            self.out.flush()

    def _print(self, heading: str, card: Message) -> None:
        self.out.write(f"\n── {heading} " + "─" * 40 + "\n")
        self.out.write(render_card_text(card) + "\n")
        self.out.flush()


def _card(view: CardView) -> Message:
    return build_mention_card(view.mention, view.author, view.card, thread=view.thread)


def _plain(view: CardView) -> Message:
    return build_plain_card(view.mention, view.author, view.card)


def _note(view: CardView, kind: EventKind, actor: str) -> Message:
    card = view.card
    return build_thread_note(
        kind,
        actor,
        version=card.version,
        snoozed_until=card.snoozed_until,
        note=card.closing_note,
    )


def _card_id(view: CardView) -> int:
    if view.card.id is None:
        raise ValueError("a card must be stored before it is reminded about")
    return view.card.id


def _reminder(view: CardView, overdue: Overdue, *, escalates: bool) -> Message:
    return build_reminder(_card_id(view), overdue, escalates=escalates)


def _is_channel(contact: str) -> bool:
    """A channel (C…, G…) gets a message of its own; a user group (S…) is called in the thread."""
    return contact[:1] in ("C", "G")
