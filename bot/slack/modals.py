"""The card menu's modals and private replies, and readers for what the modals send back.

Each modal carries the card's id (and the channel it was opened from, for the same channel
check as the buttons) in `private_metadata`; everything else is read back from the database.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import Option
from slack_sdk.models.views import View

from bot.services.cards import NOTE_MAX_CHARS, SnoozePeriod
from bot.services.feedback import FEEDBACK_LABELS
from bot.services.menu import MenuChoice, MenuContext, NotRelevant
from bot.services.mutes import Muted
from bot.services.watches import EXCLUSION_MAX_CHARS
from bot.slack import ids
from bot.slack.cards import Message, network_name
from bot.slack.mrkdwn import escape_mrkdwn, escaped_within, plain_within
from bot.slack.views import build_score_message
from bot.store.models import SentimentFeedback
from bot.text import clean_text

SNIPPET_MAX_CHARS = 200
QUERY_MAX_SHOWN = 600
OPTION_TEXT_MAX_CHARS = 75
SNOOZE_LABELS = {
    SnoozePeriod.HOUR: "1 hour",
    SnoozePeriod.FOUR_HOURS: "4 hours",
    SnoozePeriod.DAY: "1 day",
}
EXCLUDE_AUTHOR_VALUE = "author"
_SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]+")


@dataclass(frozen=True)
class CardRef:
    """The card a modal is about and the channel its menu was used in."""

    card_id: int
    channel_id: str


def build_menu_modal(choice: MenuChoice, context: MenuContext) -> dict[str, Any]:
    """The modal a menu choice opens."""
    builders = {
        MenuChoice.RESOLVE_WITH_NOTE: build_note_modal,
        MenuChoice.SNOOZE: build_snooze_modal,
        MenuChoice.NOT_RELEVANT: build_not_relevant_modal,
        MenuChoice.SENTIMENT: build_sentiment_modal,
    }
    if choice not in builders:
        raise ValueError(f"{choice} opens no modal")
    return builders[choice](context)


def build_note_modal(context: MenuContext) -> dict[str, Any]:
    """Ask what was done, to resolve the card with that note."""
    note = InputBlock(
        block_id=ids.NOTE_BLOCK,
        label="What was done?",
        element=PlainTextInputElement(
            action_id=ids.NOTE_INPUT, multiline=True, max_length=NOTE_MAX_CHARS
        ),
        hint="Shown on the card and in its thread.",
    )
    return _modal(ids.NOTE_VIEW, "Resolve with a note", "Resolve", context, [note])


def build_snooze_modal(context: MenuContext) -> dict[str, Any]:
    """Ask for how long to take the card out of the queue."""
    options = [_option(SNOOZE_LABELS[period], period.value) for period in SnoozePeriod]
    period = InputBlock(
        block_id=ids.SNOOZE_BLOCK,
        label="Bring it back in",
        element=RadioButtonsElement(
            action_id=ids.SNOOZE_INPUT, options=options, initial_option=options[0]
        ),
    )
    explain = _note("It comes back to the queue unclaimed, with a note in its thread.")
    return _modal(ids.SNOOZE_VIEW, "Snooze", "Snooze", context, [period, explain])


def build_not_relevant_modal(context: MenuContext) -> dict[str, Any]:
    """Offer to exclude a word or the author from the card's watch, then dismiss the card."""
    watch = context.watch
    if watch is None:
        blocks: list[Block] = [
            _note(
                "The card will be dismissed. The watch that found it was removed, so there "
                "is nothing to exclude from."
            )
        ]
        return _modal(ids.NOT_RELEVANT_VIEW, "Not relevant", "Dismiss", context, blocks)
    query = escaped_within(watch.query, QUERY_MAX_SHOWN)
    blocks = [
        SectionBlock(
            text=_mrkdwn(
                f"The card will be dismissed. To keep posts like it out of watch #{watch.id} "
                f"(`{query}`), you can also exclude:"
            )
        ),
        InputBlock(
            block_id=ids.EXCLUDE_WORD_BLOCK,
            label="A word or phrase",
            optional=True,
            element=PlainTextInputElement(
                action_id=ids.EXCLUDE_WORD_INPUT,
                max_length=EXCLUSION_MAX_CHARS,
                placeholder="for example: jobs",
            ),
            hint="Added to the watch's query as -word: posts with it are not fetched again.",
        ),
    ]
    if context.author_exclusion is not None and context.view.author is not None:
        handle = context.view.author.handle
        blocks.append(
            InputBlock(
                block_id=ids.EXCLUDE_AUTHOR_BLOCK,
                label="The author",
                optional=True,
                element=CheckboxesElement(
                    action_id=ids.EXCLUDE_AUTHOR_INPUT,
                    options=[_option(f"Exclude posts by {handle}", EXCLUDE_AUTHOR_VALUE)],
                ),
                hint=f"Added to the query as {context.author_exclusion}.",
            )
        )
    return _modal(ids.NOT_RELEVANT_VIEW, "Not relevant", "Dismiss", context, blocks)


def build_sentiment_modal(context: MenuContext) -> dict[str, Any]:
    """Ask what the mention's sentiment really is."""
    said = context.view.mention.sentiment_label or "unknown"
    labels = [label for label in FEEDBACK_LABELS if label != said]
    blocks: list[Block] = [
        SectionBlock(text=_mrkdwn(f"overheard read this as *{escape_mrkdwn(said)}*.")),
        InputBlock(
            block_id=ids.SENTIMENT_BLOCK,
            label="It is really",
            element=RadioButtonsElement(
                action_id=ids.SENTIMENT_INPUT,
                options=[_option(label, label) for label in labels],
            ),
        ),
        _note("Your answer is kept, with your name, to train the next sentiment model."),
    ]
    return _modal(ids.SENTIMENT_VIEW, "Wrong sentiment", "Save", context, blocks)


def build_author_message(context: MenuContext) -> Message:
    """The author's reach and its breakdown, privately, with a way to mute them on the watch."""
    author = context.view.author
    if author is None:
        raise ValueError("the card has no author")
    score = build_score_message(author.handle, [author])
    watch, mute = context.watch, context.mute
    blocks = list(score.blocks)
    if watch is None:
        blocks.append(_note("The watch that found this mention was removed: no one to mute."))
    elif mute is not None:
        blocks.append(
            _note(
                f"🔇 Muted on watch #{watch.id} by {_user(mute.muted_by)}: their mentions "
                "there are stored, not posted."
            )
        )
    else:
        explain = f"Their later mentions on watch #{watch.id} are stored but not posted."
        mute_button = ButtonElement(
            text=f"Mute on watch #{watch.id}",
            action_id=ids.MUTE_AUTHOR,
            value=str(context.view.card.id),
            style="danger",
            confirm=ConfirmObject(
                title="Mute this author?", text=explain, confirm="Mute", deny="Cancel"
            ),
        )
        blocks += [ActionsBlock(elements=[mute_button]), _note(explain)]
    return Message(blocks=blocks, text=score.text)


def build_muted_message(muted: Muted) -> Message:
    """Say privately that the author is muted, and what that means."""
    author = muted.author
    who = escaped_within(f"{author.handle} ({network_name(author.network)})", 200)
    text = (
        f"🔇 Muted {who} on watch #{muted.watch_id}: their later mentions there are stored, "
        "not posted."
    )
    return Message(blocks=[SectionBlock(text=_mrkdwn(text))], text=text)


def build_not_relevant_message(result: NotRelevant) -> Message:
    """Say privately that the card is dismissed, and what its watch now reads."""
    watch = result.watch
    text = "🚫 Dismissed as not relevant."
    if result.added and watch is not None:
        added = escape_mrkdwn(" ".join(result.added))
        query = escaped_within(watch.query, QUERY_MAX_SHOWN)
        text += f" Watch #{watch.id} now excludes {added}: `{query}`"
    return Message(blocks=[SectionBlock(text=_mrkdwn(text))], text=text)


def build_feedback_message(feedback: SentimentFeedback) -> Message:
    """Thank someone for a sentiment correction, saying what was recorded."""
    said = escape_mrkdwn(feedback.model_label or "unknown")
    text = (
        f"Thanks: noted as *{escape_mrkdwn(feedback.label)}* (overheard said {said}). "
        "Corrections are exported for retraining with `overheard feedback export`."
    )
    return Message(blocks=[SectionBlock(text=_mrkdwn(text))], text=text)


# --- reading submissions -------------------------------------------------------------------


def read_card_ref(view: dict[str, Any]) -> CardRef:
    """The card and channel a submitted modal is about."""
    meta = json.loads(view["private_metadata"])
    return CardRef(card_id=int(meta["card_id"]), channel_id=str(meta["channel_id"]))


def read_note(view: dict[str, Any]) -> str:
    """The note typed in the resolve-with-a-note modal."""
    return _value(view, ids.NOTE_BLOCK, ids.NOTE_INPUT).get("value") or ""


def read_snooze_period(view: dict[str, Any]) -> SnoozePeriod:
    """The snooze length picked (the first one if none came back)."""
    picked = _value(view, ids.SNOOZE_BLOCK, ids.SNOOZE_INPUT).get("selected_option") or {}
    return SnoozePeriod(picked.get("value", SnoozePeriod.HOUR.value))


def read_exclusion(view: dict[str, Any]) -> tuple[str, bool]:
    """The word or phrase to exclude (maybe empty) and whether to exclude the author."""
    word = _value(view, ids.EXCLUDE_WORD_BLOCK, ids.EXCLUDE_WORD_INPUT).get("value") or ""
    ticked = _value(view, ids.EXCLUDE_AUTHOR_BLOCK, ids.EXCLUDE_AUTHOR_INPUT)
    values = {o.get("value") for o in ticked.get("selected_options") or []}
    return word, EXCLUDE_AUTHOR_VALUE in values


def read_sentiment_label(view: dict[str, Any]) -> str:
    """The sentiment label picked."""
    picked = _value(view, ids.SENTIMENT_BLOCK, ids.SENTIMENT_INPUT).get("selected_option") or {}
    return str(picked.get("value", ""))


def _value(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    values = (view.get("state") or {}).get("values") or {}
    found: dict[str, Any] = (values.get(block_id) or {}).get(action_id) or {}
    return found


# --- shared pieces -------------------------------------------------------------------------


def _modal(
    callback_id: str, title: str, submit: str, context: MenuContext, blocks: list[Block]
) -> dict[str, Any]:
    card = context.view.card
    meta = json.dumps({"card_id": card.id, "channel_id": card.channel_id})
    return View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Cancel",
        private_metadata=meta,
        blocks=[_snippet(context), *blocks],
    ).to_dict()


def _snippet(context: MenuContext) -> ContextBlock:
    """Which mention the modal is about: network, author and the start of the text."""
    mention, author = context.view.mention, context.view.author
    who = f" · {author.handle}" if author is not None else ""
    text = " ".join(clean_text(" ".join(filter(None, [mention.title, mention.text]))).split())
    line = escaped_within(f"{network_name(mention.network)}{who}: {text}", SNIPPET_MAX_CHARS)
    return ContextBlock(elements=[_mrkdwn(line)])


def _note(text: str) -> ContextBlock:
    return ContextBlock(elements=[_mrkdwn(text)])


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _option(text: str, value: str) -> Option:
    label = plain_within(text, OPTION_TEXT_MAX_CHARS)
    return Option(text=PlainTextObject(text=label, emoji=True), value=value)


def _user(user_id: str) -> str:
    return f"<@{user_id}>" if _SLACK_USER_ID.fullmatch(user_id) else escape_mrkdwn(user_id)
