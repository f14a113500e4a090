"""The menu's modals and private replies: within Slack's limits, outside text inert, read back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.services.cards import SnoozePeriod
from bot.services.chat import CardView
from bot.services.menu import MenuChoice, MenuContext, NotRelevant
from bot.services.mutes import Muted
from bot.slack import ids
from bot.slack.modals import (
    build_author_message,
    build_feedback_message,
    build_menu_modal,
    build_muted_message,
    build_not_relevant_message,
    read_card_ref,
    read_exclusion,
    read_note,
    read_sentiment_label,
    read_snooze_period,
)
from bot.store.models import MutedAuthor, SentimentFeedback, Watch
from tests.bot.slack.test_cards import (
    HOSTILE,
    NOW,
    TOKEN,
    make_author,
    make_card_row,
    make_mention,
    text_objects,
)

MODAL_CHOICES = [
    MenuChoice.RESOLVE_WITH_NOTE,
    MenuChoice.SNOOZE,
    MenuChoice.NOT_RELEVANT,
    MenuChoice.SENTIMENT,
]
TITLE_MAX = 24
PRIVATE_METADATA_MAX = 3000
MODAL_BLOCKS_MAX = 100


def make_watch(**overrides: Any) -> Watch:
    fields: dict[str, Any] = {"id": 3, "query": "acme", "channel_id": "C0CARDS", "created_at": NOW}
    fields.update(overrides)
    return Watch(**fields)


def context(
    *,
    watch: Watch | None = None,
    author_exclusion: str | None = "-author:pg",
    mute: MutedAuthor | None = None,
    **mention: Any,
) -> MenuContext:
    view = CardView(make_card_row(), make_mention(**mention), make_author())
    return MenuContext(view, watch or make_watch(), author_exclusion, mute)


def submitted(modal: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The view as Slack sends it back on submission."""
    return {**modal, "id": "V1", "state": {"values": values}}


def assert_inert(node: Any) -> None:
    for text in [t["text"] for t in text_objects(node) if t["type"] == "mrkdwn"]:
        for token in TOKEN.findall(text):
            assert token.startswith("@U"), f"unexpected <{token}> in {text!r}"


@pytest.mark.parametrize("choice", MODAL_CHOICES)
def test_each_modal_fits_slacks_limits_and_carries_the_card_and_channel(
    choice: MenuChoice,
) -> None:
    modal = build_menu_modal(choice, context())

    View(**modal).validate_json()
    assert modal["type"] == "modal"
    assert 1 <= len(modal["title"]["text"]) <= TITLE_MAX
    assert len(modal["submit"]["text"]) <= TITLE_MAX
    assert len(modal["private_metadata"]) <= PRIVATE_METADATA_MAX
    assert len(modal["blocks"]) <= MODAL_BLOCKS_MAX
    assert json.loads(modal["private_metadata"]) == {"card_id": 7, "channel_id": "C0CARDS"}
    assert read_card_ref(modal).card_id == 7


@pytest.mark.parametrize("choice", MODAL_CHOICES)
@pytest.mark.parametrize("hostile", HOSTILE)
def test_outside_text_in_a_modal_is_escaped(choice: MenuChoice, hostile: str) -> None:
    modal = build_menu_modal(
        choice, context(watch=make_watch(query=f'acme "{hostile}"'), text=hostile)
    )

    assert_inert(modal["blocks"])


def test_the_author_message_rejects_a_card_without_an_author() -> None:
    ctx = context()
    bare = MenuContext(CardView(ctx.view.card, ctx.view.mention, None), ctx.watch, None, None)

    with pytest.raises(ValueError, match="no author"):
        build_author_message(bare)


def test_a_modal_choice_that_opens_no_modal_is_refused() -> None:
    with pytest.raises(ValueError, match="no modal"):
        build_menu_modal(MenuChoice.AUTHOR, context())


def test_snooze_offers_one_hour_four_hours_and_a_day_and_reads_the_pick() -> None:
    modal = build_menu_modal(MenuChoice.SNOOZE, context())
    (radio,) = [b["element"] for b in modal["blocks"] if b.get("block_id") == ids.SNOOZE_BLOCK]

    assert [o["text"]["text"] for o in radio["options"]] == ["1 hour", "4 hours", "1 day"]
    assert radio["initial_option"]["value"] == "1h"
    picked = {ids.SNOOZE_BLOCK: {ids.SNOOZE_INPUT: {"selected_option": {"value": "1d"}}}}
    assert read_snooze_period(submitted(modal, picked)) is SnoozePeriod.DAY


def test_the_note_modal_limits_the_note_and_reads_it_back() -> None:
    modal = build_menu_modal(MenuChoice.RESOLVE_WITH_NOTE, context())
    (element,) = [b["element"] for b in modal["blocks"] if b.get("block_id") == ids.NOTE_BLOCK]

    assert (element["multiline"], element["max_length"]) == (True, 1000)
    typed = {ids.NOTE_BLOCK: {ids.NOTE_INPUT: {"value": "Refunded."}}}
    assert read_note(submitted(modal, typed)) == "Refunded."


def test_not_relevant_offers_a_word_and_the_author_and_reads_both() -> None:
    modal = build_menu_modal(MenuChoice.NOT_RELEVANT, context())
    blocks = {b.get("block_id"): b for b in modal["blocks"]}

    assert blocks[ids.EXCLUDE_WORD_BLOCK]["optional"] is True
    (option,) = blocks[ids.EXCLUDE_AUTHOR_BLOCK]["element"]["options"]
    assert option["text"]["text"] == "Exclude posts by pg"
    assert "watch #3 (`acme`)" in json.dumps(modal)
    values = {
        ids.EXCLUDE_WORD_BLOCK: {ids.EXCLUDE_WORD_INPUT: {"value": "jobs"}},
        ids.EXCLUDE_AUTHOR_BLOCK: {ids.EXCLUDE_AUTHOR_INPUT: {"selected_options": [option]}},
    }
    assert read_exclusion(submitted(modal, values)) == ("jobs", True)
    assert read_exclusion(submitted(modal, {})) == ("", False)


def test_not_relevant_leaves_out_what_cannot_be_excluded() -> None:
    no_author = build_menu_modal(MenuChoice.NOT_RELEVANT, context(author_exclusion=None))
    bare = context()
    no_watch = build_menu_modal(
        MenuChoice.NOT_RELEVANT, MenuContext(bare.view, None, "-author:pg", None)
    )

    assert ids.EXCLUDE_AUTHOR_BLOCK not in json.dumps(no_author)
    assert ids.EXCLUDE_WORD_BLOCK not in json.dumps(no_watch)
    assert "nothing to exclude from" in json.dumps(no_watch)


def test_wrong_sentiment_offers_the_other_labels_and_reads_the_pick() -> None:
    modal = build_menu_modal(MenuChoice.SENTIMENT, context(sentiment_label="negative"))
    (radio,) = [b["element"] for b in modal["blocks"] if b.get("block_id") == ids.SENTIMENT_BLOCK]

    assert [o["value"] for o in radio["options"]] == ["neutral", "positive"]
    assert "read this as *negative*" in json.dumps(modal)
    picked = {ids.SENTIMENT_BLOCK: {ids.SENTIMENT_INPUT: {"selected_option": {"value": "neutral"}}}}
    assert read_sentiment_label(submitted(modal, picked)) == "neutral"


def test_the_author_message_shows_the_reach_breakdown_and_a_mute_button() -> None:
    message = build_author_message(context()).to_slack()

    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert (button["action_id"], button["value"], button["style"]) == (
        ids.MUTE_AUTHOR,
        "7",
        "danger",
    )
    assert button["text"]["text"] == "Mute on watch #3"
    assert "reach" in json.dumps(message) and message["text"]


def test_the_author_message_says_who_muted_them_instead_of_offering_it_again() -> None:
    mute = MutedAuthor(author_id=5, watch_id=3, muted_by="U0MUTER", at=NOW)

    message = build_author_message(context(mute=mute)).to_slack()

    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert "Muted on watch #3 by <@U0MUTER>" in json.dumps(message)


def test_replies_escape_outside_text() -> None:
    author = make_author(handle="<!channel>")
    watch = make_watch(query='acme -"<!here>"')
    ctx = context()
    replies = [
        build_muted_message(Muted(author, 3)),
        build_not_relevant_message(NotRelevant(ctx.view, watch, ['-"<!here>"'])),
        build_feedback_message(
            SentimentFeedback(
                mention_id=1, user_id="U1", label="positive", model_label="<b>", at=NOW
            )
        ),
    ]

    for reply in replies:
        assert_inert(reply.to_slack()["blocks"])
        assert "<!" not in reply.text and "<b>" not in reply.text
