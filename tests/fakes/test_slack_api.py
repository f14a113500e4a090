"""Tests for the HTTP-level Slack fake, driven through a real slack_sdk WebClient."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from tests.fakes.slack_api import TEST_TOKEN, FakeSlack, validate_blocks

TOKEN = "xoxb-test"
CHANNEL = "C0123MENTIONS"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN) as server:
        yield server


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=fake.base_url)


def card_blocks() -> list[Any]:
    return [
        HeaderBlock(text="New mention", block_id="head"),
        SectionBlock(
            text=MarkdownTextObject(text="*@someone* said something nice"),
            fields=[PlainTextObject(text="Reach: 12"), PlainTextObject(text="Sentiment: +0.4")],
            block_id="body",
        ),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text="via Hacker News")]),
        ActionsBlock(
            block_id="actions",
            elements=[
                ButtonElement(text="Claim", action_id="claim", value="m-1", style="primary"),
                ButtonElement(text="Open", action_id="open", url="https://example.com/m/1"),
            ],
        ),
    ]


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Claim"},
        "action_id": "claim",
        **overrides,
    }


def overflow(count: int, **option: Any) -> dict[str, Any]:
    fields = {"text": {"type": "plain_text", "text": "Snooze"}, "value": "1:snooze", **option}
    return {"type": "overflow", "action_id": "menu", "options": [dict(fields)] * count}


def modal(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "snooze",
        "title": {"type": "plain_text", "text": "Snooze"},
        "submit": {"type": "plain_text", "text": "Snooze"},
        "private_metadata": '{"card_id": 1}',
        "blocks": [section("For how long?")],
        **overrides,
    }


def error_of(excinfo: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(excinfo.value.response["error"])


# ----------------------------------------------------------------------------- basics


def test_base_url_has_trailing_slash_and_random_port(fake: FakeSlack) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/", fake.base_url)


def test_base_url_requires_start() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeSlack().base_url


def test_auth_test(client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["ok"] is True
    assert (resp["user_id"], resp["team_id"], resp["bot_id"]) == (
        "U0000BOT",
        "T0000TEAM",
        "B0000BOT",
    )


def test_wrong_token_is_invalid_auth(fake: FakeSlack) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=fake.base_url)
    with pytest.raises(SlackApiError) as excinfo:
        bad.chat_postMessage(channel=CHANNEL, text="hi")
    assert excinfo.value.response.status_code == 200
    assert error_of(excinfo) == "invalid_auth"
    assert fake.messages(CHANNEL) == []
    [call] = fake.calls_to("chat.postMessage")
    assert call.failed


def test_missing_token_is_invalid_auth(fake: FakeSlack) -> None:
    anonymous = WebClient(base_url=fake.base_url)
    with pytest.raises(SlackApiError) as excinfo:
        anonymous.auth_test()
    assert error_of(excinfo) == "invalid_auth"


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("nope.nothing")
    assert error_of(excinfo) == "unknown_method"


# ----------------------------------------------------------------------------- messages


def test_post_message_with_blocks_reads_back(fake: FakeSlack, client: WebClient) -> None:
    blocks = card_blocks()
    resp = client.chat_postMessage(channel=CHANNEL, text="New mention", blocks=blocks)

    assert resp["ok"] is True
    assert resp["channel"] == CHANNEL
    assert re.fullmatch(r"\d{10}\.\d{6}", resp["ts"])
    assert resp["message"]["ts"] == resp["ts"]
    assert resp["message"]["text"] == "New mention"
    [stored] = fake.messages(CHANNEL)
    assert stored["ts"] == resp["ts"]
    assert stored["blocks"] == [b.to_dict() for b in blocks]
    [call] = fake.calls_to("chat.postMessage")
    assert call.args["channel"] == CHANNEL
    assert call.headers["Content-Type"].startswith("application/json")
    assert not call.failed


def test_ts_values_are_unique_and_increasing(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=CHANNEL, text=str(i))["ts"] for i in range(5)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5


def test_form_encoded_post_parses_blocks_string_and_token_field(fake: FakeSlack) -> None:
    no_header = WebClient(base_url=fake.base_url)
    blocks = [section("from a form")]
    no_header.api_call(
        "chat.postMessage",
        params={
            "token": TOKEN,
            "channel": CHANNEL,
            "text": "fallback",
            "blocks": json.dumps(blocks),
        },
    )
    [call] = fake.calls_to("chat.postMessage")
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.args["blocks"] == blocks
    assert fake.messages(CHANNEL)[0]["blocks"] == blocks


def test_update_replaces_text_and_blocks(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="old", blocks=[section("old")])["ts"]
    resp = client.chat_update(channel=CHANNEL, ts=ts, text="claimed", blocks=[section("claimed")])

    assert (resp["channel"], resp["ts"], resp["text"]) == (CHANNEL, ts, "claimed")
    [stored] = fake.messages(CHANNEL)
    assert stored["text"] == "claimed"
    assert stored["blocks"] == [section("claimed")]


def test_update_unknown_message(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel=CHANNEL, ts="1.000000", text="x")
    assert error_of(excinfo) == "message_not_found"


def test_thread_reply_shows_up_in_thread(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    reply = client.chat_postMessage(channel=CHANNEL, text="claimed by <@U1>", thread_ts=parent)

    assert reply["message"]["thread_ts"] == parent
    [stored] = fake.thread(CHANNEL, parent)
    assert stored["text"] == "claimed by <@U1>"
    [top] = fake.messages(CHANNEL)
    assert top["ts"] == parent
    assert top["reply_count"] == 1
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])["permalink"]
    assert f"thread_ts={parent}" in link


def test_conversations_replies_reads_a_thread_parent_first_in_pages(
    client: WebClient,
) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    for i in range(3):
        client.chat_postMessage(
            channel=CHANNEL,
            text=f"reply {i}",
            thread_ts=parent,
            metadata={"event_type": "t", "event_payload": {"i": i}},
        )

    first = client.conversations_replies(channel=CHANNEL, ts=parent, limit=2)
    rest = client.conversations_replies(
        channel=CHANNEL,
        ts=parent,
        limit=2,
        cursor=first["response_metadata"]["next_cursor"],
        include_all_metadata=True,
    )

    assert [m["text"] for m in first["messages"]] == ["card", "reply 0"]
    assert first["has_more"] and "metadata" not in first["messages"][1]
    assert [m["text"] for m in rest["messages"]] == ["reply 1", "reply 2"]
    assert rest["messages"][1]["metadata"]["event_payload"] == {"i": 2}
    assert not rest["has_more"]
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_replies(channel=CHANNEL, ts="1.000000")
    assert error_of(excinfo) == "thread_not_found"


def test_post_message_requires_channel(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="", text="hi")
    assert error_of(excinfo) == "channel_not_found"


def test_text_over_40k_is_msg_too_long(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="x" * 40_001)
    assert error_of(excinfo) == "msg_too_long"


def test_blocks_without_text_is_no_text(fake: FakeSlack, client: WebClient) -> None:
    with (
        pytest.warns(UserWarning, match="top-level `text`"),
        pytest.raises(SlackApiError) as excinfo,
    ):
        client.chat_postMessage(channel=CHANNEL, blocks=[section("no fallback")])
    assert error_of(excinfo) == "no_text"
    assert fake.messages(CHANNEL) == []


def test_require_text_can_be_disabled() -> None:
    with FakeSlack(token=TOKEN, require_text=False) as lenient:
        client = WebClient(token=TOKEN, base_url=lenient.base_url)
        with pytest.warns(UserWarning, match="top-level `text`"):
            client.chat_postMessage(channel=CHANNEL, blocks=[section("no fallback")])
        assert len(lenient.messages(CHANNEL)) == 1


def test_post_ephemeral(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postEphemeral(channel=CHANNEL, user="U1", text="only you", blocks=[])
    assert re.fullmatch(r"\d{10}\.\d{6}", resp["message_ts"])
    [eph] = fake.ephemerals
    assert (eph["channel"], eph["user"], eph["text"]) == (CHANNEL, "U1", "only you")
    assert fake.messages(CHANNEL) == []


# ----------------------------------------------------------------------------- Block Kit


def test_51_blocks_is_invalid_blocks(client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="ok", blocks=[DividerBlock()] * 50)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="too many", blocks=[DividerBlock()] * 51)
    assert error_of(excinfo) == "invalid_blocks"
    assert any("at most 50 blocks" in e for e in excinfo.value.response["errors"])


@pytest.mark.parametrize(
    ("blocks", "reason"),
    [
        ([section("x" * 3001)], "1-3000 characters"),
        ([section("")], "1-3000 characters"),
        (
            [{"type": "section", "fields": [{"type": "plain_text", "text": "f"}] * 11}],
            "at most 10 fields",
        ),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "1-2000"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "1-150"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}], "plain_text"),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
            "1-10 elements",
        ),
        ([{"type": "actions", "elements": [button()] * 26}], "1-25 elements"),
        (
            [
                {
                    "type": "actions",
                    "elements": [button(text={"type": "plain_text", "text": "b" * 76})],
                }
            ],
            "1-75",
        ),
        ([{"type": "actions", "elements": [button(value="v" * 2001)]}], "1-2000"),
        ([{"type": "actions", "elements": [button(url="https://x/" + "u" * 2991)]}], "1-3000"),
        ([{"type": "actions", "elements": [button(action_id="a" * 256)]}], "1-255"),
        ([{"type": "actions", "elements": [button(style="default")]}], "primary or danger"),
        ([section("s", accessory=button(style="secondary"))], "primary or danger"),
        ([section("s", block_id="b" * 256)], "1-255"),
        ([section("a", block_id="same"), section("b", block_id="same")], "not unique"),
        ([{"type": "actions", "elements": [overflow(6)]}], "1-5 options"),
        (
            [
                {
                    "type": "actions",
                    "elements": [overflow(2, text={"type": "plain_text", "text": "o" * 76})],
                }
            ],
            "1-75",
        ),
        ([{"type": "actions", "elements": [overflow(2, value="v" * 151)]}], "1-150"),
    ],
)
def test_block_kit_limits(client: WebClient, blocks: list[dict[str, Any]], reason: str) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)
    assert error_of(excinfo) == "invalid_blocks"
    errors = excinfo.value.response["errors"]
    assert any(reason in e for e in errors), errors


def test_block_kit_limits_apply_to_update_and_ephemeral(client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="ok")["ts"]
    too_long = [section("x" * 3001)]
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel=CHANNEL, ts=ts, text="t", blocks=too_long)
    assert error_of(excinfo) == "invalid_blocks"
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postEphemeral(channel=CHANNEL, user="U1", text="t", blocks=too_long)
    assert error_of(excinfo) == "invalid_blocks"


def test_sdk_built_card_is_valid() -> None:
    assert validate_blocks([b.to_dict() for b in card_blocks()]) == []


# ----------------------------------------------------------------------------- failures


def test_fail_next_rate_limit(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel=CHANNEL, text="hi")
    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert error_of(excinfo) == "ratelimited"

    client.chat_postMessage(channel=CHANNEL, text="hi again")
    assert [c.failed for c in fake.calls_to("chat.postMessage")] == [True, False]
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["hi again"]


def test_fail_next_with_200_error_and_times(fake: FakeSlack, client: WebClient) -> None:
    fake.fail_next("chat.postMessage", error="channel_not_found", status=200, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel=CHANNEL, text="hi")
        assert excinfo.value.response.status_code == 200
        assert "Retry-After" not in excinfo.value.response.headers
        assert error_of(excinfo) == "channel_not_found"
    client.chat_postMessage(channel=CHANNEL, text="now it works")
    client.auth_test()  # other methods were never affected
    assert len(fake.calls_to("chat.postMessage")) == 3


def test_sdk_rate_limit_retry_handler_recovers(fake: FakeSlack) -> None:
    retrying = WebClient(
        token=TOKEN,
        base_url=fake.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.fail_next("chat.postMessage", retry_after=0)
    assert retrying.chat_postMessage(channel=CHANNEL, text="eventually")["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


def test_reset_clears_recorded_state(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel=CHANNEL, text="hi")
    client.chat_postEphemeral(channel=CHANNEL, user="U1", text="psst")
    fake.fail_next("auth.test")
    fake.reset()
    assert (fake.calls, fake.ephemerals, fake.messages(CHANNEL)) == ([], [], [])
    assert client.auth_test()["ok"] is True


# ----------------------------------------------------------------------------- lookups


def test_users_info_default_and_configured(fake: FakeSlack, client: WebClient) -> None:
    user = client.users_info(user="U42")["user"]
    assert user["id"] == "U42"
    assert {"name", "real_name", "tz"} <= user.keys()
    assert "display_name" in user["profile"]

    fake.users["U7"] = {
        "real_name": "Ada Lovelace",
        "tz": "Europe/London",
        "profile": {"display_name": "ada"},
    }
    user = client.users_info(user="U7")["user"]
    assert (user["real_name"], user["tz"], user["profile"]["display_name"]) == (
        "Ada Lovelace",
        "Europe/London",
        "ada",
    )
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="nobody")
    assert error_of(excinfo) == "user_not_found"


def test_conversations_info(fake: FakeSlack, client: WebClient) -> None:
    fake.channels["C9"] = {"name": "brand-mentions"}
    channel = client.conversations_info(channel="C9")["channel"]
    assert (channel["id"], channel["name"], channel["is_channel"]) == ("C9", "brand-mentions", True)
    with pytest.raises(SlackApiError) as excinfo:
        client.conversations_info(channel="#general")
    assert error_of(excinfo) == "channel_not_found"


def test_views_publish(fake: FakeSlack, client: WebClient) -> None:
    view = {"type": "home", "blocks": [section("Your claims")]}
    resp = client.views_publish(user_id="U1", view=view)
    assert resp["view"]["type"] == "home"
    assert fake.home_views["U1"] == view

    with pytest.raises(SlackApiError) as excinfo:
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("x")] * 101})
    assert error_of(excinfo) == "invalid_arguments"
    assert any("at most 100 blocks" in e for e in excinfo.value.response["errors"])
    assert fake.home_views["U1"] == view


def test_get_permalink(client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CHANNEL, text="card")["ts"]
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"]
    assert link.endswith(f"/archives/{CHANNEL}/p{ts.replace('.', '')}")


def test_concurrent_posts_are_all_recorded(fake: FakeSlack) -> None:
    def post(i: int) -> str:
        client = WebClient(token=TOKEN, base_url=fake.base_url)
        return str(client.chat_postMessage(channel=CHANNEL, text=f"m{i}")["ts"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        stamps = list(pool.map(post, range(40)))
    assert len(set(stamps)) == 40
    assert len(fake.calls_to("chat.postMessage")) == 40
    assert sorted(m["ts"] for m in fake.messages(CHANNEL)) == sorted(stamps)


def test_views_open_records_the_modal_and_checks_its_limits(
    fake: FakeSlack, client: WebClient
) -> None:
    opened = client.views_open(trigger_id="123.456.abc", view=modal())["view"]

    assert opened["id"].startswith("V")
    assert (opened["callback_id"], opened["private_metadata"]) == ("snooze", '{"card_id": 1}')
    assert [v["callback_id"] for v in fake.opened_views] == ["snooze"]
    for bad, reason in [
        (modal(title={"type": "plain_text", "text": "t" * 25}), "1-24"),
        (modal(submit={"type": "plain_text", "text": "s" * 25}), "1-24"),
        (modal(private_metadata="m" * 3001), "1-3000"),
        (modal(blocks=[section("x")] * 101), "at most 100 blocks"),
        (modal(type="home"), "type modal"),
    ]:
        with pytest.raises(SlackApiError) as excinfo:
            client.views_open(trigger_id="123.456.abc", view=bad)
        assert error_of(excinfo) == "invalid_arguments"
        assert any(reason in e for e in excinfo.value.response["errors"]), reason
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id="", view=modal())
    assert error_of(excinfo) == "invalid_arguments"
    assert len(fake.opened_views) == 1


def test_files_upload_v2_uploads_the_bytes_and_shares_them_in_a_thread(
    fake: FakeSlack, client: WebClient
) -> None:
    parent = client.chat_postMessage(channel=CHANNEL, text="digest")["ts"]

    client.files_upload_v2(
        channel=CHANNEL,
        thread_ts=parent,
        file=b"\x89PNG fake",
        filename="chart.png",
        title="Chart",
        alt_txt="a chart",
        initial_comment="here",
    )

    (url_call,) = fake.calls_to("files.getUploadURLExternal")
    assert (url_call.args["filename"], url_call.args["length"]) == ("chart.png", "9")
    (shared,) = fake.files
    assert shared["data"] == b"\x89PNG fake"
    assert (shared["channel_id"], shared["thread_ts"], shared["initial_comment"]) == (
        CHANNEL,
        parent,
        "here",
    )
    assert (shared["title"], shared["alt_txt"]) == ("Chart", "a chart")
    (reply,) = fake.thread(CHANNEL, parent)
    assert reply["files"][0]["name"] == "chart.png"


def test_completing_an_upload_whose_bytes_never_came_is_refused(
    fake: FakeSlack, client: WebClient
) -> None:
    file_id = client.files_getUploadURLExternal(filename="a.png", length=3)["file_id"]

    with pytest.raises(SlackApiError) as error:
        client.files_completeUploadExternal(files=[{"id": file_id}], channel_id=CHANNEL)

    assert error.value.response["error"] == "file_not_found"
    assert fake.files == []


def test_with_a_channel_gap_a_second_message_too_soon_is_refused_with_429() -> None:
    with FakeSlack(token=TEST_TOKEN, channel_gap_s=60) as fake:
        client = WebClient(token=TEST_TOKEN, base_url=fake.base_url)
        client.chat_postMessage(channel="C1", text="first")
        client.chat_postMessage(channel="C2", text="another channel, its own pace")

        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C1", text="too soon")

        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "1"
        assert [m["text"] for m in fake.messages("C1")] == ["first"]
        assert fake.rate_limited == ["C1"]
