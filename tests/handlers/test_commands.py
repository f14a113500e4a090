"""/score, called directly: it answers in its acknowledgement, privately."""

from __future__ import annotations

import json
import re

import pytest

from bot.services.pipeline import upsert_author
from bot.sources.base import FetchedAuthor
from bot.store.db import session_scope
from handlers.commands import handle_score_command
from tests.factories import CHANNEL, NOW
from tests.fakes.bolt import FakeAck
from tests.fakes.slack_api import validate_blocks
from tests.handlers.conftest import Workspace


def command(text: str) -> dict[str, str]:
    """The parts of a slash command payload the listeners read."""
    return {"command": "/score", "text": text, "user_id": "UALICE", "channel_id": CHANNEL}


def answer(ack: FakeAck) -> str:
    """The one acknowledgement's blocks and text, checked against Block Kit's limits."""
    (reply,) = ack.calls
    assert validate_blocks(reply.get("blocks", [])) == []
    return json.dumps(reply, ensure_ascii=False)


def no_respond(**kwargs: object) -> None:
    raise AssertionError(f"answered through response_url: {kwargs}")


@pytest.mark.parametrize("text", ["", "   ", "@"])
def test_score_without_a_handle_answers_with_how_to_use_it(slack: Workspace, text: str) -> None:
    ack = FakeAck()

    handle_score_command(ack, command(text), no_respond, slack.deps)

    assert "Usage: `/score HANDLE [network]` or `/score PROFILE-LINK`" in answer(ack)


def test_score_for_a_handle_never_seen_and_no_network_to_ask_says_so(slack: Workspace) -> None:
    ack = FakeAck()

    handle_score_command(ack, command("nobody"), no_respond, slack.deps)

    assert "No author called “nobody” has been seen yet" in answer(ack)


def test_score_for_a_known_author_in_any_case_shows_the_reach_and_its_factors(
    slack: Workspace,
) -> None:
    with session_scope(slack.deps.engine) as session:
        author = upsert_author(
            "hackernews",
            FetchedAuthor(handle="Fernwood", karma=12_000),
            session=session,
            now=NOW,
            metrics_fresh=True,
        )
    ack = FakeAck()

    handle_score_command(ack, command("@fernwood on hacker news"), no_respond, slack.deps)

    reply = answer(ack)
    assert f"Reach *{author.score}/100*" in reply
    assert "(Fernwood) on Hacker News" in reply
    assert re.search(r"karma: 12,000 → \d+ pts", reply)
