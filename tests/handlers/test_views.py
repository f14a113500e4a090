"""Modal submissions as Bolt calls them: input refused in the modal, else ack, change, tell."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from bot.services.watches import list_watches
from bot.slack import ids
from bot.store.db import session_scope
from bot.store.models import CardState, SentimentFeedback
from handlers.views import (
    handle_not_relevant_submission,
    handle_note_submission,
    handle_sentiment_submission,
    handle_snooze_submission,
)
from tests.factories import CHANNEL, get_card
from tests.fakes.bolt import FakeAck
from tests.handlers.conftest import Workspace


def submission(
    callback_id: str, card_id: int, values: dict[str, Any], user: str = "UALICE"
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The body and view of a view_submission, as the listener reads them."""
    view = {
        "id": "V0MODAL",
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps({"card_id": card_id, "channel_id": CHANNEL}),
        "state": {"values": values},
    }
    return {"type": "view_submission", "user": {"id": user}, "view": view}, view


def typed(block: str, action: str, text: str) -> dict[str, Any]:
    return {block: {action: {"type": "plain_text_input", "value": text}}}


def picked(block: str, action: str, value: str) -> dict[str, Any]:
    return {block: {action: {"type": "radio_buttons", "selected_option": {"value": value}}}}


def thread_texts(slack: Workspace, card_id: int) -> list[str]:
    card = get_card(slack.deps.engine, card_id)
    return [n["text"] for n in slack.fake.thread(CHANNEL, card.thread_ts or "")]


def test_an_empty_note_is_refused_in_the_modal_and_the_card_stays_open(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    ack = FakeAck()
    body, view = submission(ids.NOTE_VIEW, card_id, typed(ids.NOTE_BLOCK, ids.NOTE_INPUT, "  "))

    handle_note_submission(ack, body, view, slack.client, slack.deps)

    ((answer,),) = [[c] for c in ack.calls]
    assert answer["response_action"] == "errors"
    assert "note is empty" in answer["errors"][ids.NOTE_BLOCK]
    assert get_card(slack.deps.engine, card_id).state == CardState.POSTED


def test_a_note_resolves_the_card_and_is_quoted_in_its_thread(slack: Workspace) -> None:
    card_id = slack.post_card()
    body, view = submission(
        ids.NOTE_VIEW, card_id, typed(ids.NOTE_BLOCK, ids.NOTE_INPUT, "Refunded & replied.")
    )
    ack = FakeAck()

    handle_note_submission(ack, body, view, slack.client, slack.deps)

    assert ack.calls == [{"text": ""}]
    card = get_card(slack.deps.engine, card_id)
    assert (card.state, card.closing_note) == (CardState.RESOLVED, "Refunded & replied.")
    assert thread_texts(slack, card_id) == ["✅ <@UALICE> resolved this: Refunded &amp; replied."]


def test_snoozing_takes_the_card_out_of_the_queue_and_says_until_when(slack: Workspace) -> None:
    card_id = slack.post_card()
    body, view = submission(
        ids.SNOOZE_VIEW, card_id, picked(ids.SNOOZE_BLOCK, ids.SNOOZE_INPUT, "4h")
    )

    handle_snooze_submission(FakeAck(), body, view, slack.client, slack.deps)

    card = get_card(slack.deps.engine, card_id)
    assert card.state == CardState.SNOOZED
    (update,) = slack.fake.calls_to("chat.update")
    assert "💤 Snoozed until <!date^" in json.dumps(update.args["blocks"], ensure_ascii=False)
    (note,) = thread_texts(slack, card_id)
    assert note.startswith("💤 <@UALICE> snoozed this until <!date^")


def test_snoozing_a_card_closed_meanwhile_is_answered_privately(slack: Workspace) -> None:
    card_id = slack.post_card()
    body, view = submission(ids.NOTE_VIEW, card_id, typed(ids.NOTE_BLOCK, ids.NOTE_INPUT, "Done"))
    handle_note_submission(FakeAck(), body, view, slack.client, slack.deps)
    body, view = submission(
        ids.SNOOZE_VIEW, card_id, picked(ids.SNOOZE_BLOCK, ids.SNOOZE_INPUT, "1h"), user="UBOB"
    )

    handle_snooze_submission(FakeAck(), body, view, slack.client, slack.deps)

    (ephemeral,) = slack.fake.ephemerals
    assert (ephemeral["user"], ephemeral["channel"]) == ("UBOB", CHANNEL)
    assert "only open ones can be snoozed" in ephemeral["text"]
    assert get_card(slack.deps.engine, card_id).state == CardState.RESOLVED


def test_a_malicious_exclusion_is_refused_in_the_modal_and_nothing_changes(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    calls_before = len(slack.fake.calls)
    for word in ['-"', '"', "<!channel>", 'x" OR "acme']:
        ack = FakeAck()
        body, view = submission(
            ids.NOT_RELEVANT_VIEW,
            card_id,
            typed(ids.EXCLUDE_WORD_BLOCK, ids.EXCLUDE_WORD_INPUT, word),
        )

        handle_not_relevant_submission(ack, body, view, slack.client, slack.deps)

        (answer,) = ack.calls
        assert answer["response_action"] == "errors", word
        assert "exclusion" in answer["errors"][ids.EXCLUDE_WORD_BLOCK]
    assert len(slack.fake.calls) == calls_before  # nothing said, nothing updated
    assert get_card(slack.deps.engine, card_id).state == CardState.POSTED
    with session_scope(slack.deps.engine) as session:
        assert [w.query for w in list_watches(session=session)] == ["acme"]


def test_not_relevant_excludes_the_word_and_author_dismisses_and_says_what_changed(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    values = {
        **typed(ids.EXCLUDE_WORD_BLOCK, ids.EXCLUDE_WORD_INPUT, "refund"),
        ids.EXCLUDE_AUTHOR_BLOCK: {
            ids.EXCLUDE_AUTHOR_INPUT: {"selected_options": [{"value": "author"}]}
        },
    }
    body, view = submission(ids.NOT_RELEVANT_VIEW, card_id, values)

    handle_not_relevant_submission(FakeAck(), body, view, slack.client, slack.deps)

    with session_scope(slack.deps.engine) as session:
        (watch,) = list_watches(session=session)
    assert watch.query == "acme -refund -author:kestrel"
    card = get_card(slack.deps.engine, card_id)
    assert (card.state, card.closed_by) == (CardState.DISMISSED, "UALICE")
    (ephemeral,) = slack.fake.ephemerals
    assert f"Watch #{watch.id} now excludes -refund -author:kestrel" in ephemeral["text"]
    (note,) = thread_texts(slack, card_id)
    assert note == (
        f"🚫 <@UALICE> dismissed this: Not relevant; watch #{watch.id} now excludes "
        "-refund -author:kestrel"
    )


def test_a_sentiment_correction_is_stored_with_who_gave_it_and_acknowledged(
    slack: Workspace,
) -> None:
    card_id = slack.post_card()
    version = get_card(slack.deps.engine, card_id).version
    body, view = submission(
        ids.SENTIMENT_VIEW, card_id, picked(ids.SENTIMENT_BLOCK, ids.SENTIMENT_INPUT, "neutral")
    )

    handle_sentiment_submission(FakeAck(), body, view, slack.client, slack.deps)

    with session_scope(slack.deps.engine) as session:
        (row,) = session.exec(select(SentimentFeedback)).all()
    assert (row.user_id, row.label, row.model_label) == ("UALICE", "neutral", "negative")
    (ephemeral,) = slack.fake.ephemerals
    assert ephemeral["text"].startswith("Thanks: noted as *neutral* (overheard said negative).")
    assert get_card(slack.deps.engine, card_id).version == version  # the card is unchanged
