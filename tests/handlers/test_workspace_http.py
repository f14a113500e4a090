"""One workspace only: Slack Connect guest's clicks and commands are refused."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import Engine

from bot.services.deps import Deps
from bot.services.pipeline import ingest_mentions
from bot.services.poster import Poster
from bot.slack import ids
from bot.slack.chat import SlackChat
from bot.slack.clients import poster_client
from bot.store.db import session_scope
from bot.store.models import CardState
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL, get_card, make_fetched, make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET, SlackApp, running_app, wait_for


@pytest.fixture
def app(sqlite_engine: Engine, clock: Clock) -> Iterator[tuple[SlackApp, Deps]]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        settings = make_settings(
            SLACK_BOT_TOKEN=TEST_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
        )
        deps = Deps(settings, sqlite_engine, SlackChat(poster_client(settings)), {}, clock=clock)
        with running_app(deps, fake) as slack:
            yield slack, deps


def posted_card(deps: Deps) -> int:
    watch = make_watch(deps.engine)
    with session_scope(deps.engine) as session:
        (card,) = ingest_mentions(
            [make_fetched()], watch=watch, authors={}, session=session, now=deps.clock()
        )
    assert Poster(deps).post_pending().posted == [card.id]
    assert card.id is not None
    return card.id


def test_a_claim_from_another_organisation_changes_nothing(
    app: tuple[SlackApp, Deps], caplog: pytest.LogCaptureFixture
) -> None:
    slack, deps = app
    card_id = posted_card(deps)
    card = get_card(deps.engine, card_id)
    button = {"action_id": ids.CLAIM, "value": str(card_id), "type": "button"}

    refused = slack.block_action(
        button, user="UGUEST", channel=CHANNEL, message_ts=card.message_ts, team="TEVIL"
    )

    assert refused.status_code == 200
    # Refused before any listener ran (they run after the answer, so the log says it).
    assert "refused a block_actions from team TEVIL" in caplog.text

    # The same click from a member of the workspace goes through, and only theirs.
    slack.block_action(button, user="UALICE", channel=CHANNEL, message_ts=card.message_ts)
    wait_for(lambda: len(slack.fake.calls_to("chat.update")) == 1)  # the card, updated once
    assert get_card(deps.engine, card_id).claimed_by == "UALICE"
    assert get_card(deps.engine, card_id).state == CardState.CLAIMED
    assert [e for e in slack.fake.ephemerals if e["user"] == "UGUEST"] == []


def test_a_command_from_another_organisation_is_answered_with_a_refusal(
    app: tuple[SlackApp, Deps],
) -> None:
    slack, _ = app
    body = slack.command("/score", "pg").text  # from our workspace: answered
    assert "another organisation" not in body

    foreign = urlencode(
        {
            "team_id": "TEVIL",
            "channel_id": CHANNEL,
            "user_id": "UGUEST",
            "command": "/score",
            "text": "pg",
            "response_url": slack.fake.response_url(),
            "trigger_id": "1.2.3",
        }
    )
    reply = slack.signed_post(foreign)
    assert reply.status_code == 200
    assert "another organisation" in reply.json()["text"]


def test_an_unexpected_failure_tells_the_person_who_clicked_with_an_error_id(
    app: tuple[SlackApp, Deps], caplog: pytest.LogCaptureFixture
) -> None:
    slack, _ = app
    broken = {"action_id": ids.CLAIM, "value": "2147483648abc", "type": "button"}

    response = slack.block_action(broken, user="UALICE", channel=CHANNEL)

    assert response.status_code == 200
    wait_for(lambda: len(slack.fake.responses) == 1)
    (told,) = slack.fake.responses
    assert "something failed on overheard's side" in told["text"]
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False
    error_id = told["text"].rsplit("`", 2)[-2]
    assert f"error id {error_id}" in caplog.text  # the same id is in the log, with the trace
