"""Card buttons: Claim, Resolve, Dismiss and Reopen."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.cards import build_already_claimed_message, build_mention_card, build_thread_note
from bot.conversations import AlreadyClaimed, ConversationError, apply_card_action
from bot.db import session_scope
from bot.deps import Deps

ACTIONS = {ids.CLAIM: "claim", ids.RESOLVE: "resolve", ids.DISMISS: "dismiss", ids.REOPEN: "reopen"}
NOTE_KIND = {
    "claim": "claimed",
    "resolve": "resolved",
    "dismiss": "dismissed",
    "reopen": "reopened",
}


def handle_card_button(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Change the card's state, update it in place and note the change in its thread."""
    ack()
    action = ACTIONS[body["actions"][0]["action_id"]]
    user_id, channel_id = body["user"]["id"], body["channel"]["id"]
    now = deps.clock()
    try:
        with session_scope(deps.engine) as session:
            view = apply_card_action(
                int(body["actions"][0]["value"]),
                action,
                user_id,
                channel_id=channel_id,
                session=session,
                now=now,
            )
    except AlreadyClaimed as exc:
        text = build_already_claimed_message(exc.by)
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
        return
    except ConversationError as exc:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=str(exc))
        return
    card = build_mention_card(view.mention, view.author, view.conversation, now=now)
    conversation = view.conversation
    assert conversation.message_ts is not None  # only posted cards have buttons
    client.chat_update(
        channel=conversation.channel_id, ts=conversation.message_ts, **card.to_slack()
    )
    note = build_thread_note(NOTE_KIND[action], user_id, now=now)
    client.chat_postMessage(
        channel=conversation.channel_id, thread_ts=conversation.thread_ts, **note.to_slack()
    )


def handle_open_post_button(ack: Ack) -> None:
    """The 'open' link button only needs an acknowledgement."""
    ack()


def register(app: App) -> None:
    """Attach the card button listeners."""
    for action_id in ACTIONS:
        app.action(action_id)(handle_card_button)
    app.action(ids.OPEN_POST)(handle_open_post_button)
