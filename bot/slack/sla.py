"""Messages for cards past their response target: the reminder and the escalations."""

from __future__ import annotations

import re
from datetime import timedelta

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from bot.durations import DAY_S, HOUR_S, MINUTE_S
from bot.services.chat import CardView, Overdue
from bot.slack.cards import Message, network_name
from bot.slack.mrkdwn import escaped_within, mrkdwn_link, safe_http_url
from bot.text import clean_text

SUMMARY_MAX_CHARS = 300
NAME_MAX_CHARS = 80
ID_MAX_CHARS = 32
# How to set a contact, said in a reminder when none is set.
SET_CONTACT_HINT = "`/overheard sla escalate`"
_GROUP_ID = re.compile(r"S[A-Z0-9]{2,31}")
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,31}")
_UNITS = (("d", DAY_S), ("h", HOUR_S), ("min", MINUTE_S))


def span(delta: timedelta) -> str:
    """A wait in its two largest units: "1 h 5 min", "2 d 3 h", "15 min", "under a minute"."""
    seconds = max(0, int(delta.total_seconds()))
    parts: list[str] = []
    for unit, size in _UNITS:
        if seconds >= size and len(parts) < 2:
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts) or "under a minute"


def build_reminder(card_id: int, overdue: Overdue, *, escalates: bool) -> Message:
    """Build the thread reply saying a card is past its target and who else will hear of it."""
    line = (
        f"⏰ Waiting {span(overdue.waited)}, past the P{overdue.priority} response target of "
        f"{span(overdue.target)}. Claim it to take it on."
    )
    if escalates:
        line += f" Still unclaimed at {span(2 * overdue.target)}, it is escalated."
    else:
        line += f" No one else is told: set an escalation contact with {SET_CONTACT_HINT}."
    return _message(f"sla-remind-{card_id}", line)


def build_group_escalation(card_id: int, overdue: Overdue, group_id: str) -> Message:
    """Build the thread reply that calls a user group to a card waiting twice its target."""
    line = (
        f"🚨 {_group(group_id)} this has waited {span(overdue.waited)} unclaimed, twice the "
        f"P{overdue.priority} response target of {span(overdue.target)}. Can someone claim it?"
    )
    return _message(f"sla-escalate-{card_id}", line)


def build_channel_escalation(view: CardView, overdue: Overdue, permalink: str | None) -> Message:
    """Build the message telling an escalation channel about a card, with a link to it."""
    card = view.card
    where = _channel(card.channel_id)
    link = safe_http_url(permalink)
    card_ref = mrkdwn_link(link, "this card") if link else "a card"
    line = (
        f"🚨 {card_ref} in {where} has waited {span(overdue.waited)} unclaimed, twice the "
        f"P{overdue.priority} response target of {span(overdue.target)}."
    )
    summary = summarize(view)
    return Message(
        blocks=[
            SectionBlock(block_id=f"sla-escalate-{card.id}", text=_mrkdwn(line)),
            ContextBlock(block_id=f"sla-summary-{card.id}", elements=[_mrkdwn(summary)]),
        ],
        text=f"{line} {summary}",
    )


def summarize(view: CardView) -> str:
    """Network, author and the start of what they wrote, escaped: it is outside text."""
    mention, author = view.mention, view.author
    who = ""
    if author is not None:
        name = " ".join(clean_text(author.display_name or author.handle).split())
        who = escaped_within(name, NAME_MAX_CHARS)
    title = mention.title or mention.conversation_title
    said = " — ".join(piece for piece in (title, mention.text) if piece)
    snippet = escaped_within(" ".join(clean_text(said).split()), SUMMARY_MAX_CHARS)
    network = escaped_within(network_name(mention.network), NAME_MAX_CHARS)
    head = f"*{network}*" + (f" · {who}" if who else "")
    return f"{head}: “{snippet}”" if snippet else head


def _group(group_id: str) -> str:
    # Only a well-formed id becomes a mention; anything else is shown, escaped, not pinged.
    if _GROUP_ID.fullmatch(group_id):
        return f"<!subteam^{group_id}>"
    return escaped_within(group_id, ID_MAX_CHARS)


def _channel(channel_id: str) -> str:
    if _CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return escaped_within(channel_id, ID_MAX_CHARS)


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: the summary is outside text; Slack must not turn names in it into links.
    return MarkdownTextObject(text=text, verbatim=True)


def _message(block_id: str, line: str) -> Message:
    return Message(blocks=[SectionBlock(block_id=block_id, text=_mrkdwn(line))], text=line)
