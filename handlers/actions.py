"""Card buttons: Claim, Resolve, Dismiss and Reopen."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.services.cards import AlreadyClaimed, CardAction, CardError, act_on_card
from bot.services.deps import Deps
from bot.slack import ids
from bot.slack.cards import build_already_claimed_message

ACTIONS = {
    ids.CLAIM: CardAction.CLAIM,
    ids.RESOLVE: CardAction.RESOLVE,
    ids.DISMISS: CardAction.DISMISS,
    ids.REOPEN: CardAction.REOPEN,
}


def handle_card_button(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Change the card's state; the card is updated in place and the change noted in its thread."""
    ack()
    pressed = body["actions"][0]
    user_id, channel_id = body["user"]["id"], body["channel"]["id"]
    try:
        act_on_card(
            deps.chat,
            int(pressed["value"]),
            ACTIONS[pressed["action_id"]],
            user_id,
            channel_id=channel_id,
            engine=deps.engine,
            now=deps.clock(),
        )
    except AlreadyClaimed as exc:
        text = build_already_claimed_message(exc.by)
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=text)
    except CardError as exc:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=str(exc))


def handle_open_post_button(ack: Ack) -> None:
    """The 'open' link button only needs an acknowledgement."""
    ack()


def register(app: App) -> None:
    """Attach the card button listeners."""
    for action_id in ACTIONS:
        app.action(action_id)(handle_card_button)
    app.action(ids.OPEN_POST)(handle_open_post_button)
