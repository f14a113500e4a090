"""The whole loop as Slack and Hacker News see it: fetch → card → signed clicks over HTTP."""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from bot.cli import build_parser
from bot.config import Settings
from bot.services.cards import count_open_cards, events_for, load_card
from bot.services.deps import Deps
from bot.services.menu import MenuChoice
from bot.services.poster import PROBE_EVERY, Poster
from bot.services.scheduler import run_once, wake_snoozed_cards
from bot.services.watches import add_watch, list_watches
from bot.slack import ids
from bot.slack.chat import SlackChat
from bot.slack.clients import poster_client
from bot.sources import build_sources
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Mention, SentimentFeedback
from tests.blocks import mrkdwn_texts
from tests.conftest import Clock, make_settings
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET, SlackApp, running_app, wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "hackernews"
CHANNEL = "C0SUPPORT"
HN_URL = "http://hn.test"
# Just after the newest hit in the recorded search (2026-01-15 11:50 UTC).
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HOSTILE = (
    "<!channel> <!here> <!everyone> <@U0ADMIN> <#C0GENERAL> <!subteam^S123> "
    "<https://evil.example|Acme support> &amp; \u202ereversed\u202c \x00nul "
    + "acme is broken "
    * 350
)


class Algolia:
    """Hacker News' Algolia API as recorded: search pages by `page`, users by name.

    Feeds a test serves (`feeds`, by URL) are answered too, for watches that read one.
    """

    def __init__(self) -> None:
        self.pages = [(FIXTURES / f"search_page{i}.json").read_bytes() for i in (0, 1)]
        self.requests: list[httpx.Request] = []
        self.feeds: dict[str, bytes] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if str(request.url) in self.feeds:
            return httpx.Response(
                200, content=self.feeds[str(request.url)], headers={"content-type": "text/xml"}
            )
        if request.url.path == "/api/v1/search_by_date":
            page = int(request.url.params.get("page", "0"))
            body = self.pages[page] if page < len(self.pages) else b'{"hits": [], "nbPages": 0}'
            return httpx.Response(200, content=body, headers={"content-type": "application/json"})
        if request.url.path.startswith("/api/v1/users/"):
            name = request.url.path.rsplit("/", 1)[-1]
            return httpx.Response(200, json={"username": name, "karma": 157316})
        return httpx.Response(404)

    def serve_hits(self, hits: list[dict[str, Any]]) -> None:
        """Answer the next searches with these hits, one page."""
        self.pages = [
            json.dumps(
                {"hits": hits, "nbHits": len(hits), "nbPages": 1, "page": 0, "hitsPerPage": 100}
            ).encode()
        ]


@dataclass
class Slack:
    """The app running in HTTP mode against a fake Slack, and a way to click like Slack."""

    fake: FakeSlack
    url: str
    deps: Deps
    algolia: Algolia
    sleeps: list[float]

    def signed_post(self, body: str, **kw: Any) -> httpx.Response:
        return SlackApp(self.url, self.fake).signed_post(body, **kw)

    def click(self, action_id: str, card_id: int, user: str, **kw: Any) -> httpx.Response:
        button = {
            "action_id": action_id,
            "block_id": f"card-{card_id}",
            "value": str(card_id),
            "type": "button",
            "action_ts": "1700000000.000001",
        }
        return self.act(button, card_id, user, **kw)

    def pick(self, choice: MenuChoice, card_id: int, user: str) -> httpx.Response:
        """Pick an entry of the card's "⋯" menu."""
        (menu,) = [
            e
            for b in card_message(self.fake, card_row(self.deps.engine, card_id))["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["type"] == "overflow"
        ]
        (option,) = [o for o in menu["options"] if o["value"] == f"{card_id}:{choice.value}"]
        picked = {
            "action_id": menu["action_id"],
            "block_id": f"card-{card_id}-actions",
            "type": "overflow",
            "selected_option": option,
            "action_ts": "1700000000.000002",
        }
        return self.act(picked, card_id, user)

    def submit(self, view: dict[str, Any], values: dict[str, Any], user: str) -> httpx.Response:
        """Submit a modal the app opened, with these input values, as Slack would."""
        payload = {
            "type": "view_submission",
            "team": {"id": "T0000TEAM", "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0000TEAM"},
            "api_app_id": "A0OVERHEARD",
            "token": "legacy-verification-token",
            "trigger_id": "123.456.def",
            "view": {**view, "state": {"values": values}},
            "response_urls": [],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.signed_post(body, content_type="application/x-www-form-urlencoded")

    def act(
        self,
        action: dict[str, Any],
        card_id: int,
        user: str,
        *,
        ephemeral: bool = False,
        **kw: Any,
    ) -> httpx.Response:
        """Send a block_actions payload for one action on the card's message (or a reply)."""
        conv = card_row(self.deps.engine, card_id)
        payload = {
            "type": "block_actions",
            "team": {"id": "T0000TEAM", "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": "T0000TEAM"},
            "api_app_id": "A0OVERHEARD",
            "token": "legacy-verification-token",
            "trigger_id": "123.456.abc",
            "container": {
                "type": "message",
                "message_ts": conv.message_ts,
                "channel_id": conv.channel_id,
                "is_ephemeral": ephemeral,
            },
            "channel": {"id": conv.channel_id, "name": "support"},
            "message": {"ts": conv.message_ts, "type": "message", "text": "card"},
            "response_url": "https://hooks.slack.com/actions/T0000TEAM/1/abc",
            "actions": [action],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.signed_post(body, content_type="application/x-www-form-urlencoded", **kw)

    def command(self, command: str, text: str, user: str = "UALICE") -> httpx.Response:
        body = urlencode(
            {
                "token": "legacy",
                "team_id": "T0000TEAM",
                "channel_id": CHANNEL,
                "user_id": user,
                "command": command,
                "text": text,
                "api_app_id": "A0OVERHEARD",
                "response_url": "https://hooks.slack.com/commands/T0000TEAM/1/abc",
                "trigger_id": "123.456.abc",
            }
        )
        return self.signed_post(body, content_type="application/x-www-form-urlencoded")


def card_row(engine: Engine, card_id: int) -> Card:
    with session_scope(engine) as session:
        row = session.get(Card, card_id)
        assert row is not None
        return row


def cards(engine: Engine) -> list[Card]:
    with session_scope(engine) as session:
        return list(session.exec(select(Card).order_by(col(Card.id))))


@pytest.fixture
def slack(engine: Engine) -> Iterator[Slack]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        settings: Settings = make_settings(
            SLACK_BOT_TOKEN=TEST_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            OVERHEARD_HACKERNEWS_URL=HN_URL,
            OVERHEARD_ALLOW_PRIVATE_URLS=True,  # the feeds served here are on made-up hosts
        )
        algolia = Algolia()
        http = httpx.Client(transport=httpx.MockTransport(algolia))
        sleeps: list[float] = []
        deps = Deps(
            settings,
            engine,
            SlackChat(poster_client(settings)),
            build_sources(settings, http),
            clock=Clock(NOW),
            sleep=sleeps.append,
        )
        with session_scope(engine) as session:
            add_watch(
                "acme",
                ["hackernews"],
                CHANNEL,
                known_sources=deps.sources,
                session=session,
                now=NOW,
            )
        try:
            with running_app(deps, fake) as app:
                yield Slack(fake, app.url, deps, algolia, sleeps)
        finally:
            http.close()


def block_text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def posted_cards(fake: FakeSlack) -> list[dict[str, Any]]:
    """Every card Slack accepted, in the channel or in a thread."""
    return [
        c.response["message"]
        for c in fake.calls_to("chat.postMessage")
        if not c.failed and (c.args.get("metadata") or {}).get("event_type") == "overheard_card"
    ]


def updates_of(fake: FakeSlack, card: Card) -> list[Any]:
    """The chat.update calls Slack received for one card's message."""
    return [c for c in fake.calls_to("chat.update") if c.args.get("ts") == card.message_ts]


def card_message(fake: FakeSlack, card: Card) -> dict[str, Any]:
    """A card as Slack now shows it, wherever it was posted."""
    top = fake.messages(CHANNEL)
    replies = fake.thread(CHANNEL, card.thread_ts or "")
    return next(m for m in top + replies if m["ts"] == card.message_ts)


def test_fetched_mentions_become_cards_and_a_second_fetch_posts_nothing(slack: Slack) -> None:
    new, posted = run_once(slack.deps)

    messages = posted_cards(slack.fake)
    assert new == posted == len(messages) == 5  # 7 hits, one without an objectID, one repeated
    for call in slack.fake.calls_to("chat.postMessage"):
        assert call.args["unfurl_links"] is False and call.args["unfurl_media"] is False
        assert call.args["text"]  # a plain fallback for notifications
    story = next(m for m in messages if "46620310" in block_text(m))
    assert "news.ycombinator.com/item?id=46620310" in block_text(story)
    elements = [e for b in story["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e["text"]["text"] for e in elements if e["type"] == "button"] == [
        "Claim",
        "Resolve",
        "Dismiss",
    ]
    assert all(c.state == CardState.POSTED for c in cards(slack.deps.engine))

    assert run_once(slack.deps) == (0, 0)
    assert len(posted_cards(slack.fake)) == 5


def test_claim_then_resolve_update_the_card_in_place_and_note_it_in_the_thread(
    slack: Slack,
) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]

    response = slack.click(ids.CLAIM, card.id or 0, "UALICE")

    assert response.status_code == 200
    wait_for(lambda: len(slack.fake.thread(CHANNEL, card.message_ts or "")) == 1)
    assert len(updates_of(slack.fake, card)) == 1  # the card itself, updated in place
    message = card_message(slack.fake, card)
    assert "Claimed by <@UALICE>" in block_text(message)
    assert "<@UALICE>" in slack.fake.thread(CHANNEL, card.message_ts or "")[0]["text"]

    slack.click(ids.RESOLVE, card.id or 0, "UALICE")

    wait_for(lambda: len(slack.fake.thread(CHANNEL, card.message_ts or "")) == 2)
    message = card_message(slack.fake, card)
    assert "Resolved by <@UALICE>" in block_text(message)
    assert "Reopen" in block_text(message) and "Claim" not in block_text(message)
    assert card_row(slack.deps.engine, card.id or 0).state == CardState.RESOLVED


def test_twenty_simultaneous_claims_over_http_leave_one_owner_and_tell_the_others(
    slack: Slack,
) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    users = [f"U{i:04d}" for i in range(20)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda u: slack.click(ids.CLAIM, card.id or 0, u), users))

    assert [r.status_code for r in responses] == [200] * 20
    wait_for(lambda: len(slack.fake.ephemerals) == 19)
    owner = card_row(slack.deps.engine, card.id or 0).claimed_by
    assert owner in users
    assert len(updates_of(slack.fake, card)) == 1
    assert {e["user"] for e in slack.fake.ephemerals} == set(users) - {owner}
    assert all(f"<@{owner}>" in e["text"] for e in slack.fake.ephemerals)


def test_requests_with_a_bad_or_stale_signature_are_refused_and_change_nothing(
    slack: Slack,
) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]

    forged = slack.click(ids.CLAIM, card.id or 0, "UMALLORY", secret="not-the-secret")
    stale = slack.click(ids.CLAIM, card.id or 0, "UMALLORY", timestamp=int(time.time()) - 600)

    assert (forged.status_code, stale.status_code) == (401, 401)
    assert card_row(slack.deps.engine, card.id or 0).state == CardState.POSTED
    assert updates_of(slack.fake, card) == []


def test_hostile_text_reaches_slack_escaped_and_within_block_kit_limits(slack: Slack) -> None:
    slack.algolia.serve_hits(
        [
            {
                "objectID": "46699999",
                "created_at_i": int(NOW.timestamp()) - 60,
                "created_at": "2026-01-15T11:59:00Z",
                "author": "<!channel>",
                # Algolia sends comment HTML with the author's own < and & escaped as entities.
                "comment_text": "<p>" + html.escape(HOSTILE) + "</p><p><b>bold</b></p>",
                "story_title": "<@U0ADMIN> Acme",
                "story_id": 1,
                "parent_id": 1,
                "_tags": ["comment", "author_x", "story_1"],
            }
        ]
    )

    run_once(slack.deps)

    (call,) = slack.fake.calls_to("chat.postMessage")
    assert not call.failed  # the fake enforces every Block Kit limit
    # Slack parses mrkdwn objects and the fallback text; plain_text is shown literally.
    sent = json.dumps([mrkdwn_texts(call.args["blocks"]), call.args["text"]], ensure_ascii=False)
    for forbidden in (
        "<!channel>",
        "<!here>",
        "<!everyone>",
        "<@U0ADMIN>",
        "<#C0GENERAL>",
        "<!subteam",
        "<https://evil",
        "\x00",
        "\u202e",
        "<p>",
        "<b>",
    ):
        assert forbidden not in sent
    assert "&lt;!channel&gt;" in sent and "&lt;https://evil.example|Acme support&gt;" in sent
    body = max(mrkdwn_texts(call.args["blocks"]), key=len)
    assert "reversed nul acme is broken" in body  # only the control characters are gone
    assert body.endswith("…")  # 5,000 characters are cut to fit, visibly


def test_a_rate_limited_post_waits_retry_after_and_loses_nothing(slack: Slack) -> None:
    slack.fake.fail_next("chat.postMessage", status=429, retry_after=3)

    run_once(slack.deps)

    assert 3 in slack.sleeps  # waited as long as Slack asked before trying again
    assert len(posted_cards(slack.fake)) == 5
    assert len(slack.fake.calls_to("chat.postMessage")) == 6
    assert all(c.state == CardState.POSTED for c in cards(slack.deps.engine))


def test_a_channel_slack_refuses_waits_untried_and_is_tried_again_later(slack: Slack) -> None:
    slack.fake.fail_next("chat.postMessage", status=200, error="channel_not_found", times=2)

    run_once(slack.deps)

    assert posted_cards(slack.fake) == []
    assert len(slack.fake.calls_to("chat.postMessage")) == 1  # the channel is not hammered
    queued = cards(slack.deps.engine)
    assert {c.state for c in queued} == {CardState.QUEUED}
    assert {c.post_attempts for c in queued} == {0}  # no card spent an attempt on it

    run_once(slack.deps)
    assert len(slack.fake.calls_to("chat.postMessage")) == 1  # paused: still untried
    clock = slack.deps.clock
    assert isinstance(clock, Clock)
    clock.advance(seconds=PROBE_EVERY.total_seconds())
    run_once(slack.deps)  # refused again: paused again
    clock.advance(seconds=PROBE_EVERY.total_seconds())
    run_once(slack.deps)  # fixed: every card goes

    assert len(posted_cards(slack.fake)) == 5


def test_score_command_answers_privately_with_the_breakdown(slack: Slack) -> None:
    run_once(slack.deps)

    response = slack.command("/score", "@fernwood")

    assert response.status_code == 200
    reply = json.dumps(response.json())
    assert "fernwood" in reply and "/100" in reply and "karma" in reply
    assert response.json().get("response_type", "ephemeral") == "ephemeral"


def test_score_for_a_slack_mention_says_it_is_no_handle(slack: Slack) -> None:
    response = slack.command("/score", "<!channel>")

    reply = json.dumps(response.json())
    assert "That's a Slack mention, not a social handle" in reply
    assert "<!channel>" not in reply


def test_healthz_reports_the_database(slack: Slack) -> None:
    response = httpx.get(slack.url + "/healthz")

    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_a_click_is_acknowledged_before_the_slow_slack_calls_finish(slack: Slack) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    slack.fake.delays["chat.update"] = 4.0  # Slack would time out a 3 s ack

    started = time.monotonic()
    response = slack.click(ids.CLAIM, card.id or 0, "UALICE")
    acked_after = time.monotonic() - started

    assert response.status_code == 200
    assert acked_after < 3.0
    wait_for(lambda: len(slack.fake.thread(CHANNEL, card.message_ts or "")) == 1)


def test_opening_the_home_tab_publishes_the_watches_and_the_queue(slack: Slack) -> None:
    run_once(slack.deps)
    event = {
        "token": "legacy",
        "team_id": "T0000TEAM",
        "api_app_id": "A0OVERHEARD",
        "type": "event_callback",
        "event_id": "Ev01",
        "event_time": 1_700_000_000,
        "event": {
            "type": "app_home_opened",
            "user": "UALICE",
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1700000000.000100",
        },
    }

    response = slack.signed_post(json.dumps(event), content_type="application/json")

    assert response.status_code == 200
    wait_for(lambda: "UALICE" in slack.fake.home_views)
    home = json.dumps(slack.fake.home_views["UALICE"])
    assert "Waiting for someone to claim them (5)" in home
    assert "acme" in home and f"<#{CHANNEL}>" in home


def test_overheard_command_lists_the_watches_privately(slack: Slack) -> None:
    response = slack.command("/overheard", "")

    reply = json.dumps(response.json())
    assert response.status_code == 200
    assert "`acme` on hackernews" in reply and f"<#{CHANNEL}>" in reply


def test_a_card_update_slack_refused_is_resent_by_the_next_poster_pass(slack: Slack) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    slack.fake.fail_next("chat.update", status=429, retry_after=1)

    slack.click(ids.CLAIM, card.id or 0, "UALICE")
    wait_for(lambda: len(slack.fake.thread(CHANNEL, card.message_ts or "")) == 1)
    assert "Claimed by" not in block_text(card_message(slack.fake, card))  # Slack is stale

    report = Poster(slack.deps).post_pending()

    assert report.updated == [card.id]
    assert "Claimed by <@UALICE>" in block_text(card_message(slack.fake, card))
    assert [c.status for c in updates_of(slack.fake, card)] == [429, 200]
    assert Poster(slack.deps).post_pending().updated == []  # in sync: nothing more to send


def hn_hit(
    object_id: str,
    text: str,
    *,
    story: str,
    minutes_ago: int,
    story_title: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    is_story = object_id == story
    hit: dict[str, Any] = {
        "objectID": object_id,
        "created_at_i": int(NOW.timestamp()) - 60 * minutes_ago,
        "author": f"user{object_id}",
        "story_id": int(story),
        "_tags": ["story"] if is_story else ["comment"],
        ("title" if is_story else "comment_text"): text,
    }
    if not is_story:
        hit["parent_id"] = int(story)
        if story_title is not None:
            hit["story_title"] = story_title  # Algolia names a comment's story
    if url is not None:
        hit["url" if is_story else "story_url"] = url
    return hit


def test_replies_go_into_their_story_cards_thread_and_urgent_ones_also_to_the_channel(
    slack: Slack,
) -> None:
    slack.algolia.serve_hits(
        [hn_hit("500", "Show HN: Acme Cloud 2.0", story="500", minutes_ago=30)]
    )
    run_once(slack.deps)
    (story,) = cards(slack.deps.engine)
    slack.algolia.serve_hits(
        [
            hn_hit("501", "Acme Cloud looks neat", story="500", minutes_ago=20),
            hn_hit("502", "Acme charged me twice and I need a refund", story="500", minutes_ago=10),
        ]
    )
    slack.deps.clock.advance(seconds=600)  # type: ignore[attr-defined]

    run_once(slack.deps)

    replies = slack.fake.thread(CHANNEL, story.message_ts or "")
    assert len(replies) == 2  # both cards sit in the story card's thread...
    top_level = slack.fake.messages(CHANNEL)
    assert [("refund" in block_text(m)) for m in top_level] == [False, True]  # ...P1 shown too
    neat, refund = cards(slack.deps.engine)[1:]
    assert neat.thread_ts == refund.thread_ts == story.message_ts
    assert neat.message_ts != story.message_ts


# --- the card's menu, end to end -------------------------------------------------------------


def opened_modal(slack: Slack, callback_id: str) -> dict[str, Any]:
    """The modal the app has just opened, once Slack has it."""
    wait_for(lambda: any(v["callback_id"] == callback_id for v in slack.fake.opened_views))
    return next(v for v in reversed(slack.fake.opened_views) if v["callback_id"] == callback_id)


def thread_texts(slack: Slack, card: Card) -> list[str]:
    return [m["text"] for m in slack.fake.thread(CHANNEL, card.thread_ts or "")]


def buttons_of(message: dict[str, Any]) -> list[str]:
    elements = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return [e["text"]["text"] for e in elements if e["type"] == "button"]


def radio(block: str, action: str, value: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": value}, "value": value}
    return {block: {action: {"type": "radio_buttons", "selected_option": option}}}


def typed(block: str, action: str, value: str) -> dict[str, Any]:
    return {block: {action: {"type": "plain_text_input", "value": value}}}


def snooze_from_the_menu(slack: Slack, card: Card, user: str, period: str) -> None:
    assert slack.pick(MenuChoice.SNOOZE, card.id or 0, user).status_code == 200
    modal = opened_modal(slack, ids.SNOOZE_VIEW)
    notes = len(thread_texts(slack, card))
    answer = slack.submit(modal, radio(ids.SNOOZE_BLOCK, ids.SNOOZE_INPUT, period), user)
    assert (answer.status_code, answer.text) == (200, "")  # the modal closes
    wait_for(lambda: len(thread_texts(slack, card)) == notes + 1)


def test_a_snoozed_card_leaves_the_queue_and_the_clock_brings_it_back_unclaimed(
    slack: Slack,
) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    slack.click(ids.CLAIM, card.id or 0, "UALICE")
    wait_for(lambda: len(thread_texts(slack, card)) == 1)

    snooze_from_the_menu(slack, card, "UALICE", "4h")

    assert "💤 Snoozed until <!date^" in block_text(card_message(slack.fake, card))
    assert buttons_of(card_message(slack.fake, card)) == ["Reopen"]
    assert thread_texts(slack, card)[-1].startswith("💤 <@UALICE> snoozed this until <!date^")
    with session_scope(slack.deps.engine) as session:
        assert count_open_cards(session=session) == 4  # five cards, one claimed then snoozed
    clock: Clock = slack.deps.clock  # type: ignore[assignment]

    clock.advance(hours=3, minutes=59)
    run_once(slack.deps)
    assert card_row(slack.deps.engine, card.id or 0).state == CardState.SNOOZED

    clock.advance(minutes=1)
    run_once(slack.deps)

    woke = card_row(slack.deps.engine, card.id or 0)
    assert (woke.state, woke.claimed_by, woke.snoozed_until) == (CardState.POSTED, None, None)
    message = card_message(slack.fake, card)
    assert "⏳ Unclaimed" in block_text(message)
    assert buttons_of(message) == ["Claim", "Resolve", "Dismiss"]
    assert thread_texts(slack, card)[-1] == (
        "⏰ Back from snooze: this is waiting for someone to claim it."
    )
    run_once(slack.deps)
    assert len(thread_texts(slack, card)) == 3  # claimed, snoozed, back: announced once


def test_two_workers_waking_at_once_bring_the_card_back_once(slack: Slack) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    snooze_from_the_menu(slack, card, "UALICE", "1h")
    slack.deps.clock.advance(hours=2)  # type: ignore[attr-defined]
    barrier = threading.Barrier(2)

    def worker(_: int) -> list[int]:
        barrier.wait()
        return wake_snoozed_cards(slack.deps)

    with ThreadPoolExecutor(max_workers=2) as pool:
        woken = list(pool.map(worker, range(2)))

    assert sorted(woken) == [[], [card.id]]
    backs = [t for t in thread_texts(slack, card) if t.startswith("⏰ Back from snooze")]
    assert len(backs) == 1
    with session_scope(slack.deps.engine) as session:
        kinds = [e.kind for e in events_for(card.id or 0, session=session)]
    assert kinds.count("woke") == 1


def test_resolve_with_a_note_shows_the_note_escaped_on_the_card_and_in_its_thread(
    slack: Slack,
) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    slack.pick(MenuChoice.RESOLVE_WITH_NOTE, card.id or 0, "UALICE")
    modal = opened_modal(slack, ids.NOTE_VIEW)
    assert modal["title"]["text"] == "Resolve with a note"

    empty = slack.submit(modal, typed(ids.NOTE_BLOCK, ids.NOTE_INPUT, "   "), "UALICE")
    assert empty.json()["response_action"] == "errors"  # the modal stays open, saying why
    done = slack.submit(
        modal, typed(ids.NOTE_BLOCK, ids.NOTE_INPUT, "<!channel> refunded & replied"), "UALICE"
    )

    assert done.status_code == 200
    wait_for(lambda: len(thread_texts(slack, card)) == 1)
    shown = block_text(card_message(slack.fake, card))
    assert "Resolved by <@UALICE>" in shown
    assert "📝 &lt;!channel&gt; refunded &amp; replied" in shown
    assert thread_texts(slack, card) == [
        "✅ <@UALICE> resolved this: &lt;!channel&gt; refunded &amp; replied"
    ]


def test_reopen_from_the_menu_brings_a_dismissed_card_back(slack: Slack) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    slack.click(ids.DISMISS, card.id or 0, "UALICE")
    wait_for(lambda: len(thread_texts(slack, card)) == 1)

    slack.pick(MenuChoice.REOPEN, card.id or 0, "UBOB")

    wait_for(lambda: len(thread_texts(slack, card)) == 2)
    assert card_row(slack.deps.engine, card.id or 0).state == CardState.POSTED
    assert thread_texts(slack, card)[-1] == "↩️ <@UBOB> reopened this."


def test_not_relevant_excludes_a_word_and_the_author_so_the_next_fetch_leaves_them_out(
    slack: Slack,
) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    with session_scope(slack.deps.engine) as session:
        author = load_card(card.id or 0, session=session).author
    assert author is not None
    slack.pick(MenuChoice.NOT_RELEVANT, card.id or 0, "UALICE")
    modal = opened_modal(slack, ids.NOT_RELEVANT_VIEW)
    assert f"Exclude posts by {author.handle}" in json.dumps(modal)
    values = {
        **typed(ids.EXCLUDE_WORD_BLOCK, ids.EXCLUDE_WORD_INPUT, "hiring"),
        ids.EXCLUDE_AUTHOR_BLOCK: {
            ids.EXCLUDE_AUTHOR_INPUT: {
                "type": "checkboxes",
                "selected_options": [{"value": "author"}],
            }
        },
    }

    assert slack.submit(modal, values, "UALICE").status_code == 200

    wait_for(lambda: len(slack.fake.ephemerals) == 1)
    with session_scope(slack.deps.engine) as session:
        (watch,) = list_watches(session=session)
        changes = [
            e for e in events_for(card.id or 0, session=session) if e.kind == "watch_changed"
        ]
    assert watch.query == f"acme -hiring -author:{author.handle}"
    assert [(e.actor, e.detail["before"]) for e in changes] == [("UALICE", "acme")]
    assert card_row(slack.deps.engine, card.id or 0).state == CardState.DISMISSED
    assert "Dismissed by <@UALICE>" in block_text(card_message(slack.fake, card))
    assert f"`acme -hiring -author:{author.handle}`" in slack.fake.ephemerals[0]["text"]

    slack.algolia.serve_hits(
        [
            hn_hit("600", "Acme is hiring again", story="600", minutes_ago=5),
            {
                **hn_hit("601", "Acme ships a CLI", story="601", minutes_ago=4),
                "author": author.handle,
            },
            hn_hit("602", "Acme ships a queue", story="602", minutes_ago=3),
        ]
    )
    slack.deps.clock.advance(seconds=600)  # type: ignore[attr-defined]
    run_once(slack.deps)

    with session_scope(slack.deps.engine) as session:
        stored = set(session.exec(select(Mention.external_id)))
    assert "602" in stored and not {"600", "601"} & stored


@pytest.mark.parametrize("word", ['-"', '"', "<!channel>", "<https://evil.example|x>", "a OR b:c"])
def test_a_malicious_exclusion_is_refused_in_the_modal_and_changes_nothing(
    slack: Slack, word: str
) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    updates = len(slack.fake.calls_to("chat.update"))  # top cards counting their replies
    slack.pick(MenuChoice.NOT_RELEVANT, card.id or 0, "UMALLORY")
    modal = opened_modal(slack, ids.NOT_RELEVANT_VIEW)

    answer = slack.submit(
        modal, typed(ids.EXCLUDE_WORD_BLOCK, ids.EXCLUDE_WORD_INPUT, word), "UMALLORY"
    )

    assert answer.status_code == 200
    refusal = answer.json()
    assert refusal["response_action"] == "errors"
    assert "exclusion" in refusal["errors"][ids.EXCLUDE_WORD_BLOCK]
    with session_scope(slack.deps.engine) as session:
        assert [w.query for w in list_watches(session=session)] == ["acme"]
    assert card_row(slack.deps.engine, card.id or 0).state == CardState.POSTED
    assert len(slack.fake.calls_to("chat.update")) == updates  # the card was not touched


def database_url(engine: Engine) -> str:
    """A URL reaching the test's database (its schema too, on PostgreSQL), for a command."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def test_wrong_sentiment_is_stored_with_who_said_it_and_the_cli_exports_it(
    slack: Slack, tmp_path: Path
) -> None:
    run_once(slack.deps)
    card = next(c for c in cards(slack.deps.engine))
    with session_scope(slack.deps.engine) as session:
        said = load_card(card.id or 0, session=session).mention.sentiment_label
    slack.pick(MenuChoice.SENTIMENT, card.id or 0, "UBOB")
    modal = opened_modal(slack, ids.SENTIMENT_VIEW)
    other = next(label for label in ("positive", "negative") if label != said)

    slack.submit(modal, radio(ids.SENTIMENT_BLOCK, ids.SENTIMENT_INPUT, other), "UBOB")

    wait_for(lambda: len(slack.fake.ephemerals) == 1)
    assert slack.fake.ephemerals[0]["user"] == "UBOB"
    assert slack.fake.ephemerals[0]["text"].startswith(f"Thanks: noted as *{other}*")
    with session_scope(slack.deps.engine) as session:
        (feedback,) = session.exec(select(SentimentFeedback)).all()
    assert (feedback.user_id, feedback.label, feedback.model_label) == ("UBOB", other, said)

    output = tmp_path / "feedback.tsv"
    args = build_parser().parse_args(["feedback", "export", "--output", str(output)])
    assert args.func(make_settings(DATABASE_URL=database_url(slack.deps.engine)), args) == 0

    header, row = output.read_text(encoding="utf-8").splitlines()
    assert header.split("\t")[:3] == ["mention_id", "network", "label"]
    fields = row.split("\t")
    assert fields[1:4] == ["hackernews", other, said or ""]
    assert fields[5] == "UBOB"


def test_a_muted_authors_next_mention_is_stored_but_not_posted(slack: Slack) -> None:
    run_once(slack.deps)
    card = cards(slack.deps.engine)[0]
    with session_scope(slack.deps.engine) as session:
        author = load_card(card.id or 0, session=session).author
    assert author is not None

    slack.pick(MenuChoice.AUTHOR, card.id or 0, "UALICE")
    wait_for(lambda: len(slack.fake.ephemerals) == 1)
    reply = slack.fake.ephemerals[0]
    assert author.handle in json.dumps(reply["blocks"]) and "/100" in json.dumps(reply["blocks"])
    (mute,) = [e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]]
    slack.act(
        {"action_id": mute["action_id"], "value": mute["value"], "type": "button"},
        card.id or 0,
        "UALICE",
        ephemeral=True,
    )
    wait_for(lambda: len(slack.fake.ephemerals) == 2)
    assert slack.fake.ephemerals[1]["text"].startswith(f"🔇 Muted {author.handle} (Hacker News)")
    posted_before = len(posted_cards(slack.fake))

    slack.algolia.serve_hits(
        [
            {**hn_hit("700", "Acme again", story="700", minutes_ago=5), "author": author.handle},
            hn_hit("701", "Acme, from someone else", story="701", minutes_ago=4),
        ]
    )
    slack.deps.clock.advance(seconds=600)  # type: ignore[attr-defined]
    new, posted = run_once(slack.deps)

    assert (new, posted) == (2, 1)
    assert len(posted_cards(slack.fake)) == posted_before + 1
    assert "from someone else" in block_text(posted_cards(slack.fake)[-1])
    with session_scope(slack.deps.engine) as session:
        (held,) = session.exec(
            select(Card)
            .join(Mention, col(Mention.id) == Card.mention_id)
            .where(Mention.external_id == "700")
        ).all()
        kinds = [e.kind for e in events_for(held.id or 0, session=session)]
    assert (held.state, held.message_ts) == (CardState.DISMISSED, None)
    assert kinds == ["queued", "muted"]


# --- conversations, watches and links ------------------------------------------------------

URGENT = "Acme charged me twice and I need a refund"


def starts_thread(message: dict[str, Any]) -> bool:
    """A top-level card (a broadcast reply is a copy of a card that lives in a thread)."""
    return message.get("thread_ts") in (None, message["ts"])


def top_cards(fake: FakeSlack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    return [m for m in fake.messages(channel) if starts_thread(m)]


def card_id_of(message: dict[str, Any]) -> int:
    card_id: int = message["metadata"]["event_payload"]["card_id"]
    return card_id


def conversation_of(engine: Engine, message: dict[str, Any]) -> str:
    with session_scope(engine) as session:
        card = session.get(Card, card_id_of(message))
        mention = session.get(Mention, card.mention_id if card else 0)
        assert mention is not None and mention.conversation_id is not None
        return mention.conversation_id


def context_lines(message: dict[str, Any]) -> list[str]:
    return [
        element["text"]
        for b in message["blocks"]
        if b["type"] == "context"
        for element in b["elements"]
    ]


def advance(slack: Slack, seconds: float) -> None:
    slack.deps.clock.advance(seconds=seconds)  # type: ignore[attr-defined]


def test_an_urgent_backlog_gives_each_story_one_top_card_with_its_comments_in_the_thread(
    slack: Slack,
) -> None:
    # 6 stories of 4 comments each, fetched at once; in 4 of them a comment is urgent, so
    # priority posts it before its story.
    hits = []
    for s in range(6):
        story = str(700 + 10 * s)
        title = f"Acme story {s}"
        hits.append(hn_hit(story, title, story=story, minutes_ago=90 - s))
        for c in range(1, 5):
            text = URGENT if s < 4 and c == 2 else f"Acme looks fine to me ({c})"
            hits.append(
                hn_hit(
                    str(int(story) + c), text, story=story, minutes_ago=60 - c, story_title=title
                )
            )
    slack.algolia.serve_hits(hits)

    new, posted = run_once(slack.deps)

    assert new == posted == 30
    tops = top_cards(slack.fake)
    stories = [conversation_of(slack.deps.engine, m) for m in tops]
    assert sorted(stories) == [str(700 + 10 * s) for s in range(6)]  # one top card each
    for top in tops:
        thread = slack.fake.thread(CHANNEL, top["ts"])
        story = conversation_of(slack.deps.engine, top)
        assert len(thread) == 4
        assert {conversation_of(slack.deps.engine, m) for m in thread} == {story}
        assert top["reply_count"] == 4
        assert any(line.startswith("💬 4 replies · latest <!date^") for line in context_lines(top))
        assert f"Acme story {(int(story) - 700) // 10}" == top["blocks"][0]["text"]["text"]
    led_by_a_comment = [m for m in tops if URGENT in block_text(m)]
    assert len(led_by_a_comment) == 4  # the urgent comment leads, titled by its story
    broadcast = [m for m in slack.fake.messages(CHANNEL) if not starts_thread(m)]
    assert all(URGENT in block_text(m) for m in broadcast)  # urgent replies still shown


def test_a_story_fetched_after_its_comments_joins_their_thread(slack: Slack) -> None:
    title = "Show HN: Acme Cloud 2.0"
    slack.algolia.serve_hits(
        [
            hn_hit("501", "Acme Cloud looks neat", story="500", minutes_ago=20, story_title=title),
            hn_hit("502", URGENT, story="500", minutes_ago=10, story_title=title),
        ]
    )
    run_once(slack.deps)
    (top,) = top_cards(slack.fake)
    slack.algolia.serve_hits([hn_hit("500", title, story="500", minutes_ago=30)])
    advance(slack, 600)

    assert run_once(slack.deps) == (1, 1)

    assert [m["ts"] for m in top_cards(slack.fake)] == [top["ts"]]  # no second top card
    thread = slack.fake.thread(CHANNEL, top["ts"])
    assert len(thread) == 2 and title in block_text(thread[-1])  # the story, in the thread
    (top,) = top_cards(slack.fake)
    assert any(line.startswith("💬 2 replies") for line in context_lines(top))


def test_a_mention_two_watches_match_is_a_card_in_each_channel_saying_why(
    slack: Slack,
) -> None:
    incidents = "C0INCIDENTS"
    with session_scope(slack.deps.engine) as session:
        watch = add_watch(
            "acme outage",
            ["hackernews"],
            incidents,
            known_sources=slack.deps.sources,
            session=session,
            now=NOW,
        )
    slack.algolia.serve_hits(
        [hn_hit("600", "Acme outage in eu-west, day two", story="600", minutes_ago=5)]
    )

    assert run_once(slack.deps) == (2, 2)

    (support,) = top_cards(slack.fake, CHANNEL)
    (incident,) = top_cards(slack.fake, incidents)
    assert "🔎 Matched watch #1 `acme` on “acme”" in context_lines(support)
    assert f"🔎 Matched watch #{watch.id} `acme outage` on “acme” “outage”" in (
        context_lines(incident)
    )

    searches = len(slack.algolia.requests)
    advance(slack, 3600)  # both watches are due again and find the same story

    assert run_once(slack.deps) == (0, 0)
    assert len(slack.algolia.requests) > searches
    assert len(posted_cards(slack.fake)) == 2


FEED_URL = "https://feeds.example.test/acme.xml"


def feed_with(link: str, title: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Tech news</title><link>https://news.example.test/</link>
<item><title>{title}</title><link>{html.escape(link)}</link>
<guid>https://news.example.test/1</guid>
<pubDate>Thu, 15 Jan 2026 11:30:00 +0000</pubDate>
<description>Acme launched its new cloud today.</description></item>
</channel></rss>""".encode()


def test_the_same_article_on_hacker_news_and_in_a_feed_is_one_card_also_on_the_other(
    slack: Slack,
) -> None:
    article = "https://www.acme.dev/blog/launch"
    with session_scope(slack.deps.engine) as session:
        add_watch(
            "acme",
            ["rss"],
            CHANNEL,
            known_sources=slack.deps.sources,
            session=session,
            now=NOW,
            options={"feed_url": FEED_URL},
            allow_private_urls=True,
        )
    slack.algolia.feeds[FEED_URL] = feed_with(
        "HTTPS://WWW.ACME.DEV/blog/launch?utm_source=feed&utm_medium=rss#top", "Acme launches"
    )
    slack.algolia.serve_hits(
        [hn_hit("800", "Acme launches its cloud", story="800", minutes_ago=40, url=article)]
    )

    assert run_once(slack.deps) == (2, 2)

    (top,) = top_cards(slack.fake)
    (other,) = slack.fake.thread(CHANNEL, top["ts"])
    with session_scope(slack.deps.engine) as session:
        mentions = {mention.network: mention for mention in session.exec(select(Mention)).all()}
        top_network = mentions_network(session, card_id_of(top))
    assert {m.link_url for m in mentions.values()} == {article}  # one spelling of the page
    also = {"hackernews": "RSS", "rss": "Hacker News"}[top_network]
    (line,) = [t for t in context_lines(top) if t.startswith("💬")]
    assert line.startswith("💬 1 reply · latest <!date^")
    assert line.endswith(f"also on {also}")
    assert card_id_of(other) != card_id_of(top)


def mentions_network(session: Session, card_id: int) -> str:
    card = session.get(Card, card_id)
    mention = session.get(Mention, card.mention_id if card else 0)
    assert mention is not None
    return mention.network
