"""The bot's own team, asked of Slack once; while Slack can't say, it is not asked per click."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.workspace import RETRY_AFTER_S, HomeTeam
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack


def test_a_failed_auth_test_is_not_repeated_on_every_request_until_a_minute_passes() -> None:
    now = [0.0]
    with FakeSlack(token=TEST_TOKEN) as fake:
        home = HomeTeam(WebClient(token=TEST_TOKEN, base_url=fake.base_url), clock=lambda: now[0])
        fake.fail_next("auth.test", error="internal_error", status=200)

        assert home.id() is None  # Slack can't say: requests go by unchecked
        assert home.id() is None
        assert len(fake.calls_to("auth.test")) == 1

        now[0] = RETRY_AFTER_S + 1
        assert home.id() == fake.team_id
        assert home.id() == fake.team_id
        assert len(fake.calls_to("auth.test")) == 2
