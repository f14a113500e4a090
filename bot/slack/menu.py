"""The card's "⋯" menu: the less frequent things to do with a card, after its buttons.

Why an overflow menu, and why these five at most: an overflow fires on every pick and never
shows a stale selection (a select menu in a message keeps showing the last pick, and picking
it again sends nothing), and Slack made it for "less visually important actions after a row
of buttons". It holds at most five options, so the menu lists only what applies to the
card now (`bot.services.menu.menu_choices`), and the choices that need more than a click open
a modal: Snooze asks 1 h / 4 h / 1 day there, Not relevant what to exclude, Wrong sentiment
the right label, Resolve with a note the note. The author's reach and muting share one
entry, because muting is decided looking at who the author is: it answers privately with
the reach breakdown and a Mute button. An open card offers at most five entries (note,
snooze, not relevant, sentiment, author); a closed or snoozed one three (reopen, sentiment,
author), never fewer than two, which older clients require.
"""

from __future__ import annotations

from slack_sdk.models.blocks import OverflowMenuElement, PlainTextObject
from slack_sdk.models.blocks.basic_components import Option

from bot.services.menu import MenuChoice, menu_choices
from bot.slack import ids
from bot.store.models import CardState

MENU_MAX_OPTIONS = 5
MENU_LABELS = {
    MenuChoice.REOPEN: "Reopen",
    MenuChoice.RESOLVE_WITH_NOTE: "Resolve with a note…",
    MenuChoice.SNOOZE: "Snooze…",
    MenuChoice.NOT_RELEVANT: "Not relevant…",
    MenuChoice.SENTIMENT: "Wrong sentiment…",
    MenuChoice.AUTHOR: "Author's reach · mute…",
}


class BadMenuValue(ValueError):
    """A menu value that is not one this app built."""


def build_card_menu(
    card_id: int, state: CardState, *, has_author: bool
) -> list[OverflowMenuElement]:
    """The card's menu, as the element list to append to its buttons (empty if nothing applies)."""
    choices = menu_choices(state, has_author=has_author)
    if not choices:
        return []
    if len(choices) > MENU_MAX_OPTIONS:
        raise ValueError(f"an overflow menu holds {MENU_MAX_OPTIONS} options, not {len(choices)}")
    options = [
        Option(text=PlainTextObject(text=MENU_LABELS[c], emoji=True), value=menu_value(card_id, c))
        for c in choices
    ]
    return [OverflowMenuElement(action_id=ids.CARD_MENU, options=options)]


def menu_value(card_id: int, choice: MenuChoice) -> str:
    """An option's value: the card's id and the choice, nothing else (state is read back)."""
    return f"{card_id}:{choice.value}"


def read_menu_value(value: str) -> tuple[int, MenuChoice]:
    """The card id and choice in an option's value."""
    raw_id, _, raw_choice = value.partition(":")
    try:
        return int(raw_id), MenuChoice(raw_choice)
    except ValueError as exc:
        raise BadMenuValue(f"not a card menu value: {value[:40]!r}") from exc
