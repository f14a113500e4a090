"""Card buttons and menu as Bolt calls them: ack first, then the card changes or we say why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from bot.services.menu import MenuChoice
from bot.slack import ids
from bot.store.db import session_scope
from bot.store.models import CardState, MutedAuthor
from handlers.actions import handle_card_button, handle_card_menu, handle_mute_button
from tests.factories import CHANNEL, get_card
from tests.fakes.bolt import FakeAck
from tests.handlers.conftest import Workspace


def press(action_id: str, card_id: int, user: str, channel: str = CHANNEL) -> dict[str, Any]:
    """The parts of a block_actions payload the listener reads."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "actions": [{"action_id": action_id, "value": str(card_id), "type": "button"}],
    }


def shown_card(slack: Workspace, card_id: int) -> dict[str, Any]:
    """The card's message as Slack now shows it."""
    ts = get_card(slack.deps.engine, card_id).message_ts
    (message,) = [m for m in slack.fake.messages(CHANNEL) if m["ts"] == ts]
    return message


def card_blocks(slack: Workspace, card_id: int) -> str:
    return json.dumps(shown_card(slack, card_id)["blocks"])


def buttons(slack: Workspace, card_id: int) -> list[str]:
    blocks = shown_card(slack, card_id)["blocks"]
    elements = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return [e["text"]["text"] for e in elements if e["type"] == "button"]


def test_claim_acknowledges_before_anything_else_then_updates_the_card(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    calls_before = len(slack.fake.calls)
    ack = FakeAck(
        snapshot=lambda: (
            len(slack.fake.calls) - calls_before,
            get_card(slack.deps.engine, card_id).state,
        )
    )

    handle_card_button(ack, press(ids.CLAIM, card_id, "UALICE"), slack.client, slack.deps)

    assert ack.seen == [(0, CardState.POSTED)]  # no Slack call and no change before the ack
    card = get_card(slack.deps.engine, card_id)
    assert (card.state, card.claimed_by) == (CardState.CLAIMED, "UALICE")
    assert "Claimed by <@UALICE>" in card_blocks(slack, card_id)
    (note,) = slack.fake.thread(CHANNEL, card.thread_ts or "")
    assert "<@UALICE>" in note["text"]
    assert slack.fake.ephemerals == []


def test_claiming_a_card_someone_holds_tells_only_the_clicker_who_has_it(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    handle_card_button(FakeAck(), press(ids.CLAIM, card_id, "UALICE"), slack.client, slack.deps)
    ack = FakeAck()

    handle_card_button(ack, press(ids.CLAIM, card_id, "UBOB"), slack.client, slack.deps)

    assert len(ack.calls) == 1
    (ephemeral,) = slack.fake.ephemerals
    assert (ephemeral["user"], ephemeral["channel"]) == ("UBOB", CHANNEL)
    assert "<@UALICE> already claimed" in ephemeral["text"]
    assert get_card(slack.deps.engine, card_id).claimed_by == "UALICE"
    assert len(slack.fake.calls_to("chat.update")) == 1  # only Alice's claim changed the card


def test_a_button_pressed_in_another_channel_is_refused_privately_and_changes_nothing(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    ack = FakeAck()

    handle_card_button(
        ack, press(ids.CLAIM, card_id, "UMALLORY", channel="C0ELSEWHERE"), slack.client, slack.deps
    )

    assert len(ack.calls) == 1
    (ephemeral,) = slack.fake.ephemerals
    assert (ephemeral["user"], ephemeral["channel"]) == ("UMALLORY", "C0ELSEWHERE")
    assert "another channel" in ephemeral["text"]
    assert get_card(slack.deps.engine, card_id).state == CardState.POSTED
    assert slack.fake.calls_to("chat.update") == []


def test_resolve_then_reopen_from_the_buttons_puts_the_card_back_unclaimed(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    for action_id in (ids.CLAIM, ids.RESOLVE):
        handle_card_button(FakeAck(), press(action_id, card_id, "UALICE"), slack.client, slack.deps)
    assert "Resolved by <@UALICE>" in card_blocks(slack, card_id)

    handle_card_button(FakeAck(), press(ids.REOPEN, card_id, "UBOB"), slack.client, slack.deps)

    card = get_card(slack.deps.engine, card_id)
    assert (card.state, card.claimed_by, card.closed_by) == (CardState.POSTED, None, None)
    assert buttons(slack, card_id) == ["Claim", "Resolve", "Dismiss"]
    assert "Resolved by" not in card_blocks(slack, card_id)
    notes = [n["text"] for n in slack.fake.thread(CHANNEL, card.thread_ts or "")]
    assert notes == [
        "🙋 <@UALICE> claimed this.",
        "✅ <@UALICE> resolved this.",
        "↩️ <@UBOB> reopened this.",
    ]
    assert slack.fake.ephemerals == []


# --- the card's menu -----------------------------------------------------------------------


def pick(choice: MenuChoice, card_id: int, user: str, channel: str = CHANNEL) -> dict[str, Any]:
    """The parts of an overflow menu's block_actions payload the listener reads."""
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "trigger_id": "123.456.abc",
        "actions": [
            {
                "action_id": ids.CARD_MENU,
                "type": "overflow",
                "selected_option": {"value": f"{card_id}:{choice.value}"},
            }
        ],
    }


def mute_press(card_id: int, user: str, channel: str = CHANNEL) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "channel": {"id": channel},
        "container": {"type": "message", "is_ephemeral": True},
        "actions": [{"action_id": ids.MUTE_AUTHOR, "value": str(card_id), "type": "button"}],
    }


def test_a_menu_pick_acknowledges_first_then_opens_that_cards_modal(slack: Workspace) -> None:
    card_id = slack.post_card()
    calls_before = len(slack.fake.calls)
    ack = FakeAck(snapshot=lambda: len(slack.fake.calls) - calls_before)

    handle_card_menu(ack, pick(MenuChoice.SNOOZE, card_id, "UALICE"), slack.client, slack.deps)

    assert ack.seen == [0]
    (opened,) = slack.fake.opened_views
    assert opened["callback_id"] == ids.SNOOZE_VIEW
    assert json.loads(opened["private_metadata"]) == {"card_id": card_id, "channel_id": CHANNEL}
    assert slack.fake.calls_to("views.open")[0].args["trigger_id"] == "123.456.abc"
    assert get_card(slack.deps.engine, card_id).state == CardState.POSTED  # nothing changed yet


@pytest.mark.parametrize("choice", list(MenuChoice))
def test_every_menu_choice_from_another_channel_is_refused_privately(
    slack: Workspace, choice: MenuChoice
) -> None:
    card_id = slack.post_card()
    if choice is MenuChoice.REOPEN:
        handle_card_button(
            FakeAck(), press(ids.DISMISS, card_id, "UALICE"), slack.client, slack.deps
        )
    before = get_card(slack.deps.engine, card_id)

    handle_card_menu(
        FakeAck(), pick(choice, card_id, "UMALLORY", "C0ELSEWHERE"), slack.client, slack.deps
    )

    (ephemeral,) = slack.fake.ephemerals
    assert (ephemeral["user"], ephemeral["channel"]) == ("UMALLORY", "C0ELSEWHERE")
    assert "another channel" in ephemeral["text"]
    assert slack.fake.opened_views == []
    assert get_card(slack.deps.engine, card_id).version == before.version


def test_a_pick_from_a_menu_the_card_has_outgrown_is_answered_privately(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    handle_card_button(FakeAck(), press(ids.RESOLVE, card_id, "UALICE"), slack.client, slack.deps)

    handle_card_menu(FakeAck(), pick(MenuChoice.SNOOZE, card_id, "UBOB"), slack.client, slack.deps)

    (ephemeral,) = slack.fake.ephemerals
    assert "resolved" in ephemeral["text"] and "no longer applies" in ephemeral["text"]
    assert slack.fake.opened_views == []


def test_reopen_from_the_menu_puts_a_resolved_card_back_with_a_thread_note(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    handle_card_button(FakeAck(), press(ids.RESOLVE, card_id, "UALICE"), slack.client, slack.deps)

    handle_card_menu(FakeAck(), pick(MenuChoice.REOPEN, card_id, "UBOB"), slack.client, slack.deps)

    card = get_card(slack.deps.engine, card_id)
    assert (card.state, card.closed_by) == (CardState.POSTED, None)
    assert buttons(slack, card_id) == ["Claim", "Resolve", "Dismiss"]
    assert (
        slack.fake.thread(CHANNEL, card.thread_ts or "")[-1]["text"] == "↩️ <@UBOB> reopened this."
    )


def test_the_author_pick_answers_privately_with_the_reach_and_a_mute_button(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()

    handle_card_menu(
        FakeAck(), pick(MenuChoice.AUTHOR, card_id, "UALICE"), slack.client, slack.deps
    )

    (ephemeral,) = slack.fake.ephemerals
    assert ephemeral["user"] == "UALICE"
    shown = json.dumps(ephemeral["blocks"])
    assert "kestrel" in shown and "reach" in shown
    (mute,) = [e for b in ephemeral["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert (mute["action_id"], mute["value"]) == (ids.MUTE_AUTHOR, str(card_id))


def test_the_mute_button_mutes_once_and_a_second_press_is_told_so(slack: Workspace) -> None:
    card_id = slack.post_card()

    handle_mute_button(FakeAck(), mute_press(card_id, "UALICE"), slack.client, slack.deps)
    handle_mute_button(FakeAck(), mute_press(card_id, "UBOB"), slack.client, slack.deps)

    first, second = (e["text"] for e in slack.fake.ephemerals)
    assert first.startswith("🔇 Muted kestrel (Hacker News) on watch #")
    assert second == "This author is already muted on this watch."
    with session_scope(slack.deps.engine) as session:
        (mute,) = session.exec(select(MutedAuthor)).all()
    assert mute.muted_by == "UALICE"
