"""The Slack chat backend turns Slack's refusals into ChatError and bounded rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient

from bot.retry import MAX_WAIT_S
from bot.services.chat import ChatError, ChatRateLimited
from bot.slack.chat import SlackChat
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

CHANNEL = "C0SUPPORT"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TEST_TOKEN) as server:
        yield server


def chat_for(fake: FakeSlack) -> SlackChat:
    client = WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5)
    return SlackChat(client, clock=lambda: NOW)


def test_a_429_raises_chat_rate_limited_with_slacks_retry_after(fake: FakeSlack) -> None:
    fake.fail_next("conversations.history", retry_after=42)

    with pytest.raises(ChatRateLimited) as caught:
        chat_for(fake).find_card(CHANNEL, 1)

    assert caught.value.retry_after_s == 42


def test_a_huge_retry_after_pauses_a_channel_for_at_most_an_hour(fake: FakeSlack) -> None:
    fake.fail_next("conversations.history", retry_after=99999)

    with pytest.raises(ChatRateLimited) as caught:
        chat_for(fake).find_card(CHANNEL, 1)

    assert caught.value.retry_after_s == MAX_WAIT_S == 3600


def test_another_refusal_raises_chat_error_with_slacks_error(fake: FakeSlack) -> None:
    fake.fail_next("conversations.history", error="channel_not_found", status=200)

    with pytest.raises(ChatError) as caught:
        chat_for(fake).find_card(CHANNEL, 1)

    assert not isinstance(caught.value, ChatRateLimited)
    assert caught.value.code == "channel_not_found"
