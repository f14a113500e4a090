"""SlackChat on the loopback fake: where cards and notes land, and how Slack's failures read."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.services.chat import CardView, ChatError, ChatRateLimited
from bot.slack.chat import CARD_EVENT_TYPE, HISTORY_PAGE, SlackChat
from bot.store.models import CardState, EventKind
from tests.bot.slack.test_cards import make_author, make_card_row, make_mention
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

CHANNEL = "C0CARDS"  # make_card_row's channel


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TEST_TOKEN) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5)


def card_view(card_id: int = 7, **card: Any) -> CardView:
    return CardView(make_card_row(id=card_id, **card), make_mention(), make_author())


def posted(chat: SlackChat, card_id: int = 7, **card: Any) -> CardView:
    """Post a card and return its view as the poster records it: message and thread ts set."""
    ts = chat.post_card(card_view(card_id, **card))
    return card_view(card_id, message_ts=ts, thread_ts=ts, **card)


def test_a_card_is_posted_unfurled_never_and_tagged_with_its_id(
    fake: FakeSlack, client: WebClient
) -> None:
    ts = SlackChat(client).post_card(card_view(7))

    (call,) = fake.calls_to("chat.postMessage")
    assert (call.args["unfurl_links"], call.args["unfurl_media"]) == (False, False)
    (message,) = fake.messages(CHANNEL)
    assert message["ts"] == ts
    assert message["metadata"] == {"event_type": CARD_EVENT_TYPE, "event_payload": {"card_id": 7}}
    assert message["text"]  # a fallback for notifications


def test_a_reply_card_goes_in_the_thread_and_only_a_broadcast_one_also_in_the_channel(
    fake: FakeSlack, client: WebClient
) -> None:
    chat = SlackChat(client)
    story = chat.post_card(card_view(1))

    quiet = chat.post_card(card_view(2), thread_ts=story)
    loud = chat.post_card(card_view(3), thread_ts=story, broadcast=True)

    assert [m["ts"] for m in fake.thread(CHANNEL, story)] == [quiet, loud]
    assert [m["ts"] for m in fake.messages(CHANNEL)] == [story, loud]


def test_update_card_replaces_the_posted_card_in_place(fake: FakeSlack, client: WebClient) -> None:
    chat = SlackChat(client)
    view = posted(chat)
    claimed = card_view(
        7,
        message_ts=view.card.message_ts,
        state=CardState.CLAIMED,
        claimed_by="U0ALICE",
        claimed_at=view.card.posted_at,
        version=4,
    )

    chat.update_card(claimed)

    (message,) = fake.messages(CHANNEL)
    assert message["ts"] == view.card.message_ts and "edited" in message
    assert "Claimed by <@U0ALICE>" in str(message["blocks"])
    (update,) = fake.calls_to("chat.update")
    assert update.args["text"]  # the fallback is sent again with the blocks


def test_update_card_of_a_card_never_posted_is_refused(client: WebClient) -> None:
    with pytest.raises(ValueError, match="not posted"):
        SlackChat(client).update_card(card_view(7))


def test_a_note_goes_in_the_cards_thread_not_the_channel(
    fake: FakeSlack, client: WebClient
) -> None:
    chat = SlackChat(client)
    view = posted(chat)

    chat.post_note(view, EventKind.CLAIMED, "U0ALICE")

    (note,) = fake.thread(CHANNEL, view.card.thread_ts or "")
    assert note["text"] == "🙋 <@U0ALICE> claimed this."
    assert len(fake.messages(CHANNEL)) == 1


def test_find_card_finds_a_card_by_its_tag_beyond_the_first_page_of_history(
    fake: FakeSlack, client: WebClient
) -> None:
    chat = SlackChat(client)
    ts = chat.post_card(card_view(7))
    for i in range(HISTORY_PAGE):
        client.chat_postMessage(channel=CHANNEL, text=f"chatter {i}")

    assert chat.find_card(CHANNEL, 7) == ts
    assert chat.find_card(CHANNEL, 8) is None
    # The card is on the second page; the search for a card never posted reads both and stops.
    assert len(fake.calls_to("conversations.history")) == 4


def test_find_card_finds_a_card_posted_in_a_thread(fake: FakeSlack, client: WebClient) -> None:
    chat = SlackChat(client)
    top = chat.post_card(card_view(7))
    reply = chat.post_card(card_view(8), thread_ts=top)

    assert chat.find_card(CHANNEL, 8) is None  # not in the channel itself...
    assert chat.find_card(CHANNEL, 8, thread_ts=top) == reply  # ...but in its thread
    assert chat.find_card(CHANNEL, 9, thread_ts=top) is None
    assert fake.calls_to("conversations.replies")[0].args["include_all_metadata"] in (
        True,
        "1",
        "true",
    )


def test_find_card_recognises_a_card_tagged_before_the_rename(client: WebClient) -> None:
    old = client.chat_postMessage(
        channel=CHANNEL,
        text="an old card",
        metadata={"event_type": CARD_EVENT_TYPE, "event_payload": {"conversation_id": 7}},
    )

    assert SlackChat(client).find_card(CHANNEL, 7) == old["ts"]


def test_find_card_ignores_other_apps_messages_that_carry_the_same_id(client: WebClient) -> None:
    client.chat_postMessage(
        channel=CHANNEL,
        text="someone else's event",
        metadata={"event_type": "deploy_finished", "event_payload": {"card_id": 7}},
    )

    assert SlackChat(client).find_card(CHANNEL, 7) is None


Operation = Callable[[SlackChat], object]
OPERATIONS: dict[str, tuple[str, Operation]] = {
    "post_card": ("chat.postMessage", lambda chat: chat.post_card(card_view())),
    "update_card": (
        "chat.update",
        lambda chat: chat.update_card(card_view(message_ts="1.0", thread_ts="1.0")),
    ),
    "post_note": (
        "chat.postMessage",
        lambda chat: chat.post_note(card_view(thread_ts="1.0"), EventKind.CLAIMED, "U0ALICE"),
    ),
    "find_card": ("conversations.history", lambda chat: chat.find_card(CHANNEL, 7)),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_rate_limit_says_how_long_slack_asked_to_wait(
    fake: FakeSlack, client: WebClient, operation: str
) -> None:
    method, call = OPERATIONS[operation]
    fake.fail_next(method, status=429, retry_after=7)

    with pytest.raises(ChatRateLimited) as caught:
        call(SlackChat(client))

    assert caught.value.retry_after_s == 7.0
    assert caught.value.code == "ratelimited"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_slack_refusal_carries_slacks_error_code(
    fake: FakeSlack, client: WebClient, operation: str
) -> None:
    method, call = OPERATIONS[operation]
    fake.fail_next(method, status=200, error="not_in_channel")

    with pytest.raises(ChatError) as caught:
        call(SlackChat(client))

    assert type(caught.value) is ChatError
    assert caught.value.code == "not_in_channel"


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_unreachable_slack_is_a_connection_chat_error(operation: str) -> None:
    _method, call = OPERATIONS[operation]
    client = WebClient(token=TEST_TOKEN, base_url=f"http://127.0.0.1:{unused_port()}/api/")

    with pytest.raises(ChatError) as caught:
        call(SlackChat(client))

    assert caught.value.code.startswith("connection: ")


@pytest.mark.parametrize(
    "error", ["invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long"]
)
def test_a_card_slack_refuses_the_blocks_of_goes_out_as_a_plain_card_with_its_buttons(
    fake: FakeSlack, client: WebClient, error: str
) -> None:
    fake.fail_next("chat.postMessage", status=200, error=error)

    ts = SlackChat(client).post_card(card_view(7))

    (message,) = fake.messages(CHANNEL)
    assert message["ts"] == ts
    assert message["metadata"]["event_payload"] == {"card_id": 7}  # found again after a crash
    section, actions = message["blocks"]
    mention = make_mention()
    assert mention.url is not None and mention.url in section["text"]["text"]
    assert "by pg" in section["text"]["text"]  # the author
    assert "support queue honest" in section["text"]["text"]  # an excerpt
    assert [b["text"]["text"] for b in actions["elements"]] == ["Claim", "Resolve", "Dismiss"]


def test_when_slack_refuses_even_the_plain_card_the_text_alone_is_posted(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.fail_next("chat.postMessage", status=200, error="invalid_blocks", times=2)

    SlackChat(client).post_card(card_view(7))

    (message,) = fake.messages(CHANNEL)
    assert message["blocks"] == [] and message["text"]


def test_an_update_slack_refuses_the_blocks_of_replaces_the_card_with_a_plain_one(
    fake: FakeSlack, client: WebClient
) -> None:
    chat = SlackChat(client)
    view = posted(chat)
    fake.fail_next("chat.update", status=200, error="invalid_blocks")

    chat.update_card(view)

    (message,) = fake.messages(CHANNEL)
    assert [b["type"] for b in message["blocks"]] == ["section", "actions"]


def test_other_refusals_are_not_retried_plainer(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", status=200, error="not_in_channel")

    with pytest.raises(ChatError) as refused:
        SlackChat(client).post_card(card_view(7))

    assert refused.value.code == "not_in_channel"
    assert len(fake.calls_to("chat.postMessage")) == 1
