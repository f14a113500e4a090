"""Block Kit cards for mentions, their thread notes, and a terminal rendering of them."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.durations import short_duration
from bot.services.chat import ThreadActivity
from bot.slack import ids
from bot.slack.menu import build_card_menu
from bot.slack.mrkdwn import escaped_within, mrkdwn_link, plain_within, safe_http_url
from bot.sources import REGISTRY
from bot.store.models import Author, Card, CardState, EventKind, Mention
from bot.text import clean_text, strip_control

# Budgets for outside text, in characters (UTF-16 units, see `slack_len`). Each block holds
# at most one long piece, so the sums stay well inside Slack's 3000 per text object.
HEADER_MAX_CHARS = 150
BODY_MAX_CHARS = 2900
NAME_MAX_CHARS = 80
NETWORK_MAX_CHARS = 40
LABEL_MAX_CHARS = 24
USER_ID_MAX_CHARS = 40
LINK_URL_MAX_CHARS = 1500
FALLBACK_SNIPPET_MAX_CHARS = 150
PLAIN_EXCERPT_MAX_CHARS = 300
REASONS_MAX_CHARS = 300
CLOSING_NOTE_MAX_CHARS = 1200
REASON_MAX_CHARS = 500  # Card.reason: which watch and terms matched
MAX_ALSO_ON = 10  # there are fewer networks than this

_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_SENTIMENT_EMOJI = {"positive": "🙂", "negative": "😟", "neutral": "😐", "mixed": "🤔"}
_NOTES = {
    EventKind.CLAIMED: "🙋",
    EventKind.RESOLVED: "✅",
    EventKind.DISMISSED: "🚫",
    EventKind.REOPENED: "↩️",
    EventKind.SNOOZED: "💤",
    EventKind.WOKE: "⏰",
}
_ENTITY = re.compile(r"<([^<>]*)>")
_NO_TEXT = "(no text)"


@dataclass(frozen=True)
class Message:
    """Blocks plus the plain-text fallback Slack shows in notifications."""

    blocks: list[Block]
    text: str

    def to_slack(self) -> dict[str, Any]:
        """Return `blocks` and `text` as kwargs for chat.postMessage / chat.update."""
        return {"blocks": [block.to_dict() for block in self.blocks], "text": self.text}


def network_name(network: str) -> str:
    """Return the human name of a network, e.g. "Hacker News" for "hackernews"."""
    return REGISTRY.name_of(network)


def build_mention_card(
    mention: Mention,
    author: Author | None,
    card: Card,
    *,
    thread: ThreadActivity | None = None,
) -> Message:
    """Build the claimable card for one mention in its current state.

    A top-level card is its conversation's: a reply leading one is titled by the conversation,
    and `thread` says what has been posted under it since.
    """
    if card.id is None:
        raise ValueError("a card must be stored before it is built (its id goes in the buttons)")
    state = CardState(card.state)
    prefix = f"card-{card.id}-v{card.version}"
    blocks: list[Block] = []

    in_thread = card.thread_ts is not None and card.thread_ts != card.message_ts
    # In a thread the top card already names the conversation: a reply shows only its own.
    heading = mention.title or (None if in_thread else mention.conversation_title)
    title = " ".join(clean_text(heading or "").split())  # a header is one line
    if title:
        blocks.append(
            HeaderBlock(
                block_id=f"{prefix}-title",
                text=PlainTextObject(text=plain_within(title, HEADER_MAX_CHARS), emoji=True),
            )
        )
    blocks.append(_context(f"{prefix}-meta", _meta_line(mention, author)))
    body = clean_text(mention.text)
    blocks.append(
        SectionBlock(
            block_id=f"{prefix}-body",
            text=_mrkdwn(escaped_within(body, BODY_MAX_CHARS) if body else _NO_TEXT),
        )
    )
    blocks.append(_context(f"{prefix}-post", _post_line(mention)))
    if card.reason:
        blocks.append(
            _context(f"{prefix}-why", f"🔎 {_escaped_line(card.reason, REASON_MAX_CHARS)}")
        )
    if thread is not None and thread.replies:
        blocks.append(_context(f"{prefix}-thread", _thread_line(thread)))
    blocks.append(_context(f"{prefix}-state", _state_line(card, state)))
    menu = build_card_menu(card.id, state, has_author=author is not None)
    blocks.append(
        ActionsBlock(block_id=f"{prefix}-actions", elements=[*_buttons(state, card.id), *menu])
    )
    return Message(blocks=blocks, text=_fallback(mention, author))


def build_plain_card(mention: Mention, author: Author | None, card: Card) -> Message:
    """The card at its barest, for when Slack refuses the full one's blocks.

    One section with the network, the author, a short excerpt and the link, and the card's
    buttons, so the mention still reaches the channel and can be claimed.
    """
    if card.id is None:
        raise ValueError("a card must be stored before it is built (its id goes in the buttons)")
    who = _author_name(author) if author is not None else "unknown author"
    excerpt = _escaped_line(mention.title or mention.text or "", PLAIN_EXCERPT_MAX_CHARS)
    lines = [f"*{_network(mention)}* mention by {who}", excerpt or _NO_TEXT]
    url = safe_http_url(mention.url, max_chars=LINK_URL_MAX_CHARS)
    if url is not None:
        lines.append(mrkdwn_link(url, f"Open on {_network(mention)}"))
    prefix = f"card-{card.id}-v{card.version}-plain"
    blocks: list[Block] = [
        SectionBlock(block_id=f"{prefix}-body", text=_mrkdwn("\n".join(lines))),
        ActionsBlock(
            block_id=f"{prefix}-actions", elements=_buttons(CardState(card.state), card.id)
        ),
    ]
    return Message(blocks=blocks, text=_fallback(mention, author))


def build_thread_note(
    kind: EventKind,
    user_id: str,
    *,
    version: int,
    snoozed_until: datetime | None = None,
    note: str | None = None,
) -> Message:
    """Build the thread note saying who claimed, resolved, dismissed, reopened or snoozed it.

    `version` is the card's version after the change, so each note's block id is unique; a
    snooze says until when, a closing note is quoted, and a woken card is announced as back.
    """
    if kind not in _NOTES:
        raise ValueError(f"no thread note for {kind!r}")
    if kind is EventKind.WOKE:
        line = f"{_NOTES[kind]} Back from snooze: this is waiting for someone to claim it."
    elif kind is EventKind.SNOOZED and snoozed_until is not None:
        line = f"{_NOTES[kind]} {_user(user_id)} snoozed this until {_slack_date(snoozed_until)}."
    elif note and kind in (EventKind.RESOLVED, EventKind.DISMISSED):
        line = f"{_NOTES[kind]} {_user(user_id)} {kind.value} this: {_closing_note(note)}"
    else:
        line = f"{_NOTES[kind]} {_user(user_id)} {kind.value} this."
    return Message(blocks=[_context(f"note-{kind.value}-v{version}", line)], text=line)


def build_already_claimed_message(claimed_by: str) -> str:
    """Return the ephemeral text for someone who lost a claim race."""
    return f"{_user(claimed_by)} already claimed this mention."


def render_card_text(card: Message) -> str:
    """Render a card as plain lines for a terminal, with buttons as `[Claim] [Resolve]`."""
    lines: list[str] = []
    for block in card.blocks:
        data = block.to_dict()
        kind = data.get("type")
        if kind in ("header", "section"):
            lines.append(_readable(data["text"]) if "text" in data else "")
            lines.extend(_readable(field) for field in data.get("fields", []))
        elif kind == "context":
            lines.append("  ".join(_readable(el) for el in data["elements"] if "text" in el))
        elif kind == "actions":  # a terminal can press the buttons, not open the menu
            buttons = (el for el in data["elements"] if el["type"] == "button")
            lines.append(" ".join(f"[{el['text']['text']}]" for el in buttons))
        elif kind == "divider":
            lines.append("---")
    # The console prints this: nothing in it may move the cursor or recolour the terminal.
    return "\n".join(strip_control(line) for line in lines)


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack must not turn outside text that looks like a URL or #channel into a link.
    return MarkdownTextObject(text=text, verbatim=True)


def _context(block_id: str, text: str) -> ContextBlock:
    return ContextBlock(block_id=block_id, elements=[_mrkdwn(text)])


def _escaped_line(text: str, limit: int) -> str:
    """Clean, flatten to one line and escape a short piece of outside text."""
    return escaped_within(" ".join(clean_text(text).split()), limit)


def _network(mention: Mention) -> str:
    return _escaped_line(network_name(mention.network), NETWORK_MAX_CHARS) or "?"


def _author_name(author: Author) -> str:
    """Return the author's display name, or their handle, escaped for mrkdwn."""
    for name in (author.display_name or "", author.handle):
        escaped = _escaped_line(name, NAME_MAX_CHARS)
        if escaped:
            return escaped
    return "unknown author"


def _meta_line(mention: Mention, author: Author | None) -> str:
    parts = [f"*{_network(mention)}*"]
    if author is None:
        parts.append("by unknown author")
    else:
        name = _author_name(author)
        url = safe_http_url(author.url, max_chars=LINK_URL_MAX_CHARS)
        parts.append(f"by {mrkdwn_link(url, name) if url else name}")
        if author.score is not None:
            parts.append(f"reach {author.score}/100")
    parts.append(_sentiment(mention))
    if mention.priority is not None:
        why = "; ".join(mention.priority_reasons or [])
        reasons = f" ({_escaped_line(why, REASONS_MAX_CHARS)})" if why else ""
        parts.append(f"*P{mention.priority}*{reasons}")
    return " · ".join(parts)


def _sentiment(mention: Mention) -> str:
    """Return emoji, label and polarity (with a real minus sign), or "sentiment unknown"."""
    if not mention.sentiment_label:
        return "sentiment unknown"
    label = _escaped_line(mention.sentiment_label, LABEL_MAX_CHARS) or "unknown"
    emoji = _SENTIMENT_EMOJI.get(mention.sentiment_label.lower())
    text = f"{emoji} {label}" if emoji else label
    polarity = mention.sentiment_polarity
    if polarity is None or not math.isfinite(polarity):
        return text
    rounded = round(polarity, 2)
    sign = "−" if rounded < 0 else "+" if rounded > 0 else ""
    return f"{text} ({sign}{abs(rounded):.2f})"


def _date(moment: datetime) -> str:
    """A time Slack shows in each reader's time zone, with a UTC fallback."""
    moment = _utc(moment)
    fallback = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _thread_line(thread: ThreadActivity) -> str:
    """Say how many cards the thread holds, when the newest was written and the other networks."""
    parts = [f"💬 {thread.replies} {'reply' if thread.replies == 1 else 'replies'}"]
    if thread.latest_at is not None:
        parts.append(f"latest {_date(thread.latest_at)}")
    names = sorted(
        (_escaped_line(network_name(n), NETWORK_MAX_CHARS) for n in thread.also_on),
        key=str.casefold,
    )
    if names:
        parts.append("also on " + ", ".join(names[:MAX_ALSO_ON]))
    return " · ".join(parts)


def _post_line(mention: Mention) -> str:
    when = _date(mention.created_at)
    url = safe_http_url(mention.url, max_chars=LINK_URL_MAX_CHARS)
    if url is None:
        return f"Posted {when}"
    return f"{mrkdwn_link(url, f'Open on {_network(mention)}')} · posted {when}"


def _state_line(card: Card, state: CardState) -> str:
    since = _utc(card.posted_at or card.queued_at)
    if state is CardState.SNOOZED:
        if card.snoozed_until is None:
            return "💤 Snoozed"
        return f"💤 Snoozed until {_slack_date(card.snoozed_until)}"
    if state in (CardState.QUEUED, CardState.POSTED):
        # No "posted 5 min ago": the card is static and that would go stale; the post line
        # carries the time, which Slack renders in each reader's time zone.
        return "⏳ Unclaimed"
    if state is CardState.CLAIMED:
        line = f"🙋 Claimed by {_user(card.claimed_by)}"
        if card.claimed_at is not None:
            line += f" {_duration(_utc(card.claimed_at) - since)} after it was posted"
        return line
    if state is CardState.RESOLVED:
        line = f"✅ Resolved by {_user(card.closed_by)}"
        if card.closed_at is not None:
            line += f" · {_duration(_utc(card.closed_at) - since)} after it was posted"
        return line + _note_line(card)
    return f"🚫 Dismissed by {_user(card.closed_by)}" + _note_line(card)


def _note_line(card: Card) -> str:
    """The closing note on a line of its own, escaped, or nothing."""
    return f"\n📝 {_closing_note(card.closing_note)}" if card.closing_note else ""


def _closing_note(note: str) -> str:
    return escaped_within(clean_text(note), CLOSING_NOTE_MAX_CHARS) or "…"


def _slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's time zone, with a UTC fallback."""
    moment = _utc(moment)
    fallback = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _buttons(state: CardState, card_id: int) -> list[ButtonElement]:
    if state in (CardState.QUEUED, CardState.POSTED):
        spec = [
            ("Claim", ids.CLAIM, True),
            ("Resolve", ids.RESOLVE, False),
            ("Dismiss", ids.DISMISS, False),
        ]
    elif state is CardState.CLAIMED:
        spec = [("Resolve", ids.RESOLVE, True), ("Dismiss", ids.DISMISS, False)]
    else:
        spec = [("Reopen", ids.REOPEN, False)]
    return [
        ButtonElement(
            text=PlainTextObject(text=label, emoji=True),
            action_id=action_id,
            value=str(card_id),
            style="primary" if primary else None,
        )
        for label, action_id, primary in spec
    ]


def _fallback(mention: Mention, author: Author | None) -> str:
    """Return the notification text: network, author, reach, sentiment and a snippet."""
    text = f"{_network(mention)} mention"
    if author is not None:
        text += f" by {_author_name(author)}"
        if author.score is not None:
            text += f" (reach {author.score}/100)"
    label = _escaped_line(mention.sentiment_label or "", LABEL_MAX_CHARS)
    text += f", {label or 'sentiment unknown'}"
    title = mention.title or mention.conversation_title
    snippet = " — ".join(piece for piece in (title, mention.text) if piece)
    snippet = _escaped_line(snippet, FALLBACK_SNIPPET_MAX_CHARS)
    return f"{text}: {snippet}" if snippet else text


def _user(user_id: str | None) -> str:
    """Mention a Slack user id as `<@U…>`; anything not shaped like one is shown escaped."""
    if not user_id:
        return "someone"
    if _SLACK_USER_ID.fullmatch(user_id):
        return f"<@{user_id}>"
    return _escaped_line(user_id, USER_ID_MAX_CHARS) or "someone"


def _utc(moment: datetime) -> datetime:
    # The database hands back aware UTC; a naive value can only come from code, and means UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _duration(delta: timedelta) -> str:
    """Return a short human span: "under a minute", "5 min", "3 h", "2 d"."""
    return short_duration(delta) or "under a minute"


def _readable(text_object: dict[str, Any]) -> str:
    """Turn a text object back into what a reader would see: entities and links resolved."""
    text = str(text_object.get("text", ""))
    if text_object.get("type") != "mrkdwn":
        return text
    out: list[str] = []
    position = 0
    for match in _ENTITY.finditer(text):
        out.append(_unescape(text[position : match.start()]))
        out.append(_readable_entity(match.group(1)))
        position = match.end()
    out.append(_unescape(text[position:]))
    return "".join(out)


def _readable_entity(inner: str) -> str:
    target, _, label = inner.partition("|")
    target, label = _unescape(target), _unescape(label)
    if target.startswith("!date^"):
        return label or target
    if target.startswith("!"):  # <!channel>, <!subteam^S1|@team>
        return label or f"@{target[1:]}"
    if target.startswith("@"):
        return f"@{label}" if label else target
    if target.startswith("#"):
        return f"#{label}" if label else target
    return f"{label} ({target})" if label else target


def _unescape(text: str) -> str:
    # `&amp;` last, so an escaped "&lt;" in the source stays the text "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
