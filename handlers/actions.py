"""Card buttons (Claim, Resolve, Dismiss, Reopen), the card's menu, the author's Mute button
and /score's Share button."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services.cards import AlreadyClaimed, CardAction, CardError, act_on_card
from bot.services.deps import Deps
from bot.services.menu import MenuChoice, open_menu_choice
from bot.services.mutes import mute_author
from bot.services.reach import report_author
from bot.slack import ids
from bot.slack.cards import build_already_claimed_message
from bot.slack.menu import read_menu_value
from bot.slack.modals import build_author_message, build_menu_modal, build_muted_message
from bot.slack.scores import build_author_gone, build_score_cards, build_share_refused
from bot.store.db import session_scope

# What Slack answers when the bot may not post in a channel (private, archived, or a DM).
SHARE_REFUSALS = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "cannot_dm_bot"}
)
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


def handle_card_menu(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Answer a pick from a card's menu: reopen it, open the choice's modal, or show the author."""
    ack()
    card_id, choice = read_menu_value(body["actions"][0]["selected_option"]["value"])
    user_id, channel_id = body["user"]["id"], body["channel"]["id"]
    try:
        if choice is MenuChoice.REOPEN:
            act_on_card(
                deps.chat,
                card_id,
                CardAction.REOPEN,
                user_id,
                channel_id=channel_id,
                engine=deps.engine,
                now=deps.clock(),
            )
            return
        with session_scope(deps.engine) as session:
            context = open_menu_choice(card_id, choice, channel_id=channel_id, session=session)
    except CardError as exc:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=str(exc))
        return
    if choice is MenuChoice.AUTHOR:
        reply = build_author_message(context)
        client.chat_postEphemeral(channel=channel_id, user=user_id, **reply.to_slack())
    else:
        client.views_open(trigger_id=body["trigger_id"], view=build_menu_modal(choice, context))


def handle_mute_button(ack: Ack, body: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Mute the card's author on its watch, from the private author reply."""
    ack()
    card_id = int(body["actions"][0]["value"])
    user_id, channel_id = body["user"]["id"], body["channel"]["id"]
    try:
        with session_scope(deps.engine) as session:
            muted = mute_author(
                card_id, user_id, channel_id=channel_id, session=session, now=deps.clock()
            )
    except CardError as exc:
        client.chat_postEphemeral(channel=channel_id, user=user_id, text=str(exc))
        return
    client.chat_postEphemeral(
        channel=channel_id, user=user_id, **build_muted_message(muted).to_slack()
    )


def handle_share_score_button(
    ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, deps: Deps
) -> None:
    """Post a /score card in the channel it was asked in, saying who shared it."""
    ack()
    author_id = int(body["actions"][0]["value"])
    user_id, channel_id = body["user"]["id"], body["channel"]["id"]
    now = deps.clock()
    with session_scope(deps.engine) as session:
        report = report_author(author_id, session=session, now=now)
    if report is None:
        respond(**build_author_gone().to_slack(), response_type="ephemeral", replace_original=False)
        return
    card = build_score_cards([report], now=now, shared_by=user_id)
    try:
        client.chat_postMessage(
            channel=channel_id, **card.to_slack(), unfurl_links=False, unfurl_media=False
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in SHARE_REFUSALS:
            raise
        refused = build_share_refused()
        respond(**refused.to_slack(), response_type="ephemeral", replace_original=False)


def handle_open_post_button(ack: Ack) -> None:
    """The 'open' link button only needs an acknowledgement."""
    ack()


def register(app: App) -> None:
    """Attach the card button and menu listeners."""
    for action_id in ACTIONS:
        app.action(action_id)(handle_card_button)
    app.action(ids.CARD_MENU)(handle_card_menu)
    app.action(ids.MUTE_AUTHOR)(handle_mute_button)
    app.action(ids.OPEN_POST)(handle_open_post_button)
    app.action(ids.SHARE_SCORE)(handle_share_score_button)
