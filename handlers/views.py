"""Modal submissions from the card menu: resolve with a note, snooze, not relevant, sentiment."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.services.cards import CardError, clean_note
from bot.services.deps import Deps
from bot.services.feedback import record_sentiment_feedback
from bot.services.menu import dismiss_not_relevant, resolve_noted, snooze
from bot.services.watches import WatchError, exclusion_for_word
from bot.slack import ids
from bot.slack.modals import (
    build_feedback_message,
    build_not_relevant_message,
    read_card_ref,
    read_exclusion,
    read_note,
    read_sentiment_label,
    read_snooze_period,
)
from bot.store.db import session_scope


def handle_note_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Resolve the card with the note; a note that can't be saved is refused in the modal."""
    ref, note, user_id = read_card_ref(view), read_note(view), body["user"]["id"]
    try:
        clean_note(note)
    except CardError as exc:
        ack(response_action="errors", errors={ids.NOTE_BLOCK: str(exc)})
        return
    ack()
    try:
        resolve_noted(
            deps.chat,
            ref.card_id,
            note,
            user_id,
            channel_id=ref.channel_id,
            engine=deps.engine,
            now=deps.clock(),
        )
    except CardError as exc:
        client.chat_postEphemeral(channel=ref.channel_id, user=user_id, text=str(exc))


def handle_snooze_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Snooze the card for the period picked."""
    ack()
    ref, user_id = read_card_ref(view), body["user"]["id"]
    try:
        snooze(
            deps.chat,
            ref.card_id,
            read_snooze_period(view),
            user_id,
            channel_id=ref.channel_id,
            engine=deps.engine,
            now=deps.clock(),
        )
    except CardError as exc:
        client.chat_postEphemeral(channel=ref.channel_id, user=user_id, text=str(exc))


def handle_not_relevant_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Dismiss the card, excluding the word or author given; a bad word is refused in the modal."""
    ref, user_id = read_card_ref(view), body["user"]["id"]
    word, exclude_author = read_exclusion(view)
    try:
        exclusion_for_word(word)
    except WatchError as exc:
        ack(response_action="errors", errors={ids.EXCLUDE_WORD_BLOCK: str(exc)})
        return
    ack()
    try:
        result = dismiss_not_relevant(
            deps.chat,
            ref.card_id,
            user_id,
            word=word,
            exclude_author=exclude_author,
            channel_id=ref.channel_id,
            engine=deps.engine,
            now=deps.clock(),
        )
    except (CardError, WatchError) as exc:
        client.chat_postEphemeral(channel=ref.channel_id, user=user_id, text=str(exc))
        return
    reply = build_not_relevant_message(result)
    client.chat_postEphemeral(channel=ref.channel_id, user=user_id, **reply.to_slack())


def handle_sentiment_submission(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, deps: Deps
) -> None:
    """Store the sentiment someone says the mention really has, and thank them privately."""
    ack()
    ref, user_id = read_card_ref(view), body["user"]["id"]
    try:
        with session_scope(deps.engine) as session:
            feedback = record_sentiment_feedback(
                ref.card_id,
                read_sentiment_label(view),
                user_id,
                channel_id=ref.channel_id,
                session=session,
                now=deps.clock(),
            )
    except CardError as exc:
        client.chat_postEphemeral(channel=ref.channel_id, user=user_id, text=str(exc))
        return
    reply = build_feedback_message(feedback)
    client.chat_postEphemeral(channel=ref.channel_id, user=user_id, **reply.to_slack())


def register(app: App) -> None:
    """Attach the modal submission listeners."""
    app.view(ids.NOTE_VIEW)(handle_note_submission)
    app.view(ids.SNOOZE_VIEW)(handle_snooze_submission)
    app.view(ids.NOT_RELEVANT_VIEW)(handle_not_relevant_submission)
    app.view(ids.SENTIMENT_VIEW)(handle_sentiment_submission)
