"""Card buttons as Bolt calls them: ack first, then the card changes or the user hears why not."""

from __future__ import annotations

import json
from typing import Any

from bot.slack import ids
from bot.store.models import CardState
from handlers.actions import handle_card_button
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
    return [e["text"]["text"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


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
