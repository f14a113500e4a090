"""The card menu's rules: what each state offers, stale choices refused, not relevant atomic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.cards import CardAction, NotAllowed, apply_card_action
from bot.services.chat import ChatBackend
from bot.services.menu import MenuChoice, dismiss_not_relevant, menu_choices, open_menu_choice
from bot.services.watches import WatchError, list_watches, remove_watch
from bot.slack.chat import SlackChat
from bot.store.db import session_scope
from bot.store.models import CardState
from tests.factories import CHANNEL, NOW, get_card, make_posted_card
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

M = MenuChoice
OPEN = [M.RESOLVE_WITH_NOTE, M.SNOOZE, M.NOT_RELEVANT, M.SENTIMENT]


@pytest.fixture
def chat() -> Iterator[ChatBackend]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        yield SlackChat(WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5))


@pytest.mark.parametrize(
    ("state", "has_author", "choices"),
    [
        (CardState.POSTED, True, [*OPEN, M.AUTHOR]),
        (CardState.CLAIMED, True, [*OPEN, M.AUTHOR]),
        (CardState.QUEUED, False, OPEN),
        (CardState.SNOOZED, True, [M.REOPEN, M.SENTIMENT, M.AUTHOR]),
        (CardState.RESOLVED, True, [M.REOPEN, M.SENTIMENT, M.AUTHOR]),
        (CardState.DISMISSED, False, [M.REOPEN, M.SENTIMENT]),
    ],
)
def test_the_menu_offers_only_what_the_cards_state_allows(
    state: CardState, has_author: bool, choices: list[MenuChoice]
) -> None:
    assert menu_choices(state, has_author=has_author) == choices


def test_a_choice_from_a_stale_menu_is_refused(sqlite_engine: Engine) -> None:
    card_id = make_posted_card(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        apply_card_action(
            card_id, CardAction.DISMISS, "UBOB", channel_id=CHANNEL, session=session, now=NOW
        )

    with (
        pytest.raises(NotAllowed, match="no longer applies"),
        session_scope(sqlite_engine) as session,
    ):
        open_menu_choice(card_id, M.SNOOZE, channel_id=CHANNEL, session=session)


def test_a_choice_from_another_channel_is_refused(sqlite_engine: Engine) -> None:
    card_id = make_posted_card(sqlite_engine)

    with (
        pytest.raises(NotAllowed, match="another channel"),
        session_scope(sqlite_engine) as session,
    ):
        open_menu_choice(card_id, M.AUTHOR, channel_id="C0ELSEWHERE", session=session)


def test_the_author_choice_knows_how_to_exclude_the_author_and_whether_they_are_muted(
    sqlite_engine: Engine,
) -> None:
    card_id = make_posted_card(sqlite_engine)

    with session_scope(sqlite_engine) as session:
        context = open_menu_choice(card_id, M.AUTHOR, channel_id=CHANNEL, session=session)

    assert context.author_exclusion == "-author:kestrel"
    assert context.mute is None
    assert context.watch is not None and context.watch.query == "acme"


def test_not_relevant_on_a_card_closed_meanwhile_leaves_the_watch_as_it_was(
    engine: Engine, chat: ChatBackend
) -> None:
    card_id = make_posted_card(engine)
    with session_scope(engine) as session:
        apply_card_action(
            card_id, CardAction.RESOLVE, "UBOB", channel_id=CHANNEL, session=session, now=NOW
        )

    with pytest.raises(NotAllowed, match="already resolved"):
        dismiss_not_relevant(
            chat,
            card_id,
            "UALICE",
            word="jobs",
            exclude_author=True,
            channel_id=CHANNEL,
            engine=engine,
            now=NOW,
        )

    with session_scope(engine) as session:
        assert [w.query for w in list_watches(session=session)] == ["acme"]
    assert get_card(engine, card_id).state == CardState.RESOLVED


def test_not_relevant_without_a_watch_dismisses_but_cannot_exclude(
    sqlite_engine: Engine, chat: ChatBackend
) -> None:
    card_id = make_posted_card(sqlite_engine)
    with session_scope(sqlite_engine) as session:
        for watch in list_watches(session=session):
            assert watch.id is not None
            remove_watch(watch.id, session=session)

    with pytest.raises(WatchError, match="removed"):
        dismiss_not_relevant(
            chat,
            card_id,
            "UALICE",
            word="jobs",
            exclude_author=False,
            channel_id=CHANNEL,
            engine=sqlite_engine,
            now=NOW,
        )
    result = dismiss_not_relevant(
        chat,
        card_id,
        "UALICE",
        word="",
        exclude_author=False,
        channel_id=CHANNEL,
        engine=sqlite_engine,
        now=NOW,
    )

    assert (result.view.card.state, result.added, result.watch) == (
        CardState.DISMISSED,
        [],
        None,
    )
    assert result.view.card.closing_note == "Not relevant"
