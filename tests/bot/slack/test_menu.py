"""The card's menu: what each state offers, within the overflow menu's limits, ids only."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.services.menu import MenuChoice
from bot.slack import ids
from bot.slack.menu import BadMenuValue, build_card_menu, menu_value, read_menu_value
from bot.store.models import CardState
from tests.bot.slack.test_cards import block, make_card, make_card_row

OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OVERFLOW_MAX_OPTIONS = 5
SELECT_MAX_OPTIONS = 100


def menu_of(state: CardState, *, has_author: bool = True, card_id: int = 7) -> dict[str, Any]:
    (menu,) = build_card_menu(card_id, state, has_author=has_author)
    data: dict[str, Any] = menu.to_dict()  # slack_sdk checks its own limits here
    return data


def labels(menu: dict[str, Any]) -> list[str]:
    return [o["text"]["text"] for o in menu["options"]]


@pytest.mark.parametrize(
    ("state", "shown"),
    [
        (
            CardState.POSTED,
            [
                "Resolve with a note…",
                "Snooze…",
                "Not relevant…",
                "Wrong sentiment…",
                "Author's reach · mute…",
            ],
        ),
        (
            CardState.CLAIMED,
            [
                "Resolve with a note…",
                "Snooze…",
                "Not relevant…",
                "Wrong sentiment…",
                "Author's reach · mute…",
            ],
        ),
        (CardState.SNOOZED, ["Reopen", "Wrong sentiment…", "Author's reach · mute…"]),
        (CardState.RESOLVED, ["Reopen", "Wrong sentiment…", "Author's reach · mute…"]),
        (CardState.DISMISSED, ["Reopen", "Wrong sentiment…", "Author's reach · mute…"]),
    ],
)
def test_each_state_offers_only_what_applies(state: CardState, shown: list[str]) -> None:
    assert labels(menu_of(state)) == shown


def test_a_card_without_an_author_offers_no_author_entry() -> None:
    assert "Author's reach · mute…" not in labels(menu_of(CardState.POSTED, has_author=False))
    assert labels(menu_of(CardState.RESOLVED, has_author=False)) == ["Reopen", "Wrong sentiment…"]


@pytest.mark.parametrize("state", list(CardState))
@pytest.mark.parametrize("has_author", [True, False])
def test_every_menu_fits_the_overflow_and_option_limits(state: CardState, has_author: bool) -> None:
    menu = menu_of(state, has_author=has_author, card_id=2**63 - 1)

    assert menu["type"] == "overflow"
    assert menu["action_id"] == ids.CARD_MENU
    # At most five (an overflow's cap, far inside a select's 100); at least two, which older
    # clients require of an overflow.
    assert 2 <= len(menu["options"]) <= min(OVERFLOW_MAX_OPTIONS, SELECT_MAX_OPTIONS)
    for option in menu["options"]:
        assert option["text"]["type"] == "plain_text"
        assert 1 <= len(option["text"]["text"]) <= OPTION_TEXT_MAX
        assert 1 <= len(option["value"]) <= OPTION_VALUE_MAX


@pytest.mark.parametrize("choice", list(MenuChoice))
def test_an_option_carries_only_the_card_id_and_the_choice(choice: MenuChoice) -> None:
    assert menu_value(4242, choice) == f"4242:{choice.value}"
    assert read_menu_value(menu_value(4242, choice)) == (4242, choice)


@pytest.mark.parametrize("value", ["", "4242", "x:snooze", "4242:explode", ":", "4242:"])
def test_a_value_this_app_did_not_build_is_refused(value: str) -> None:
    with pytest.raises(BadMenuValue):
        read_menu_value(value)


def test_the_menu_sits_after_the_buttons_of_the_card_and_survives_validation() -> None:
    card = make_card(card_row=make_card_row(id=9, state=CardState.CLAIMED))

    elements = block(card, "actions")["elements"]
    assert [e["type"] for e in elements] == ["button", "button", "overflow"]
    assert [o["value"] for o in elements[-1]["options"]] == [
        "9:note",
        "9:snooze",
        "9:not_relevant",
        "9:sentiment",
        "9:author",
    ]
    assert Block.parse(block(card, "actions")) is not None
