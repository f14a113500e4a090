"""The whole loop as Slack and Hacker News see it: fetch → card → signed clicks over HTTP."""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.services.deps import Deps
from bot.services.poster import Poster
from bot.services.scheduler import run_once
from bot.services.watches import add_watch
from bot.slack import ids
from bot.slack.chat import SlackChat
from bot.slack.clients import listener_client, poster_client
from bot.slack.web import build_wsgi, make_http_server
from bot.sources import build_sources
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Mention
from handlers.app import build_app
from tests.conftest import Clock, make_settings
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

FIXTURES = Path(__file__).parent / "fixtures" / "hackernews"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
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

    def signed_post(
        self,
        body: str,
        *,
        content_type: str,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
        }
        return httpx.post(self.url + "/slack/events", content=body, headers=headers, timeout=10)

    def click(self, action_id: str, card_id: int, user: str, **kw: Any) -> httpx.Response:
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
                "is_ephemeral": False,
            },
            "channel": {"id": conv.channel_id, "name": "support"},
            "message": {"ts": conv.message_ts, "type": "message", "text": "card"},
            "response_url": "https://hooks.slack.com/actions/T0000TEAM/1/abc",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": f"card-{card_id}",
                    "value": str(card_id),
                    "type": "button",
                    "action_ts": "1700000000.000001",
                }
            ],
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


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10) -> None:
    """Listeners run after the ack; wait until their Slack calls have landed."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app's Slack calls")
        time.sleep(0.02)


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
        server = make_http_server(
            build_wsgi(build_app(deps, listener_client(settings)), engine), "127.0.0.1", 0
        )
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
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
            yield Slack(fake, f"http://127.0.0.1:{server.server_port}", deps, algolia, sleeps)
        finally:
            server.shutdown()
            server.server_close()
            http.close()


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn string in a block tree."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn_texts(value)]
    return []


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
    assert [
        e["text"]["text"] for b in story["blocks"] if b["type"] == "actions" for e in b["elements"]
    ] == ["Claim", "Resolve", "Dismiss"]
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


def test_a_slack_error_leaves_the_card_queued_and_the_next_pass_posts_it(slack: Slack) -> None:
    # The 5 cards are 3 conversations: Slack refuses each of their top cards.
    slack.fake.fail_next("chat.postMessage", status=200, error="channel_not_found", times=3)

    run_once(slack.deps)

    assert posted_cards(slack.fake) == []
    queued = cards(slack.deps.engine)
    assert {c.state for c in queued} == {CardState.QUEUED}
    refused = [c for c in queued if c.last_post_error == "channel_not_found"]
    assert len(refused) == 3
    # Their replies wait for them, untried: no attempt spent, no error to show.
    assert {(c.post_attempts, c.last_post_error) for c in queued if c not in refused} == {(0, None)}

    run_once(slack.deps)

    assert len(posted_cards(slack.fake)) == 5


def test_score_command_answers_privately_with_the_breakdown(slack: Slack) -> None:
    run_once(slack.deps)

    response = slack.command("/score", "@fernwood")

    assert response.status_code == 200
    reply = json.dumps(response.json())
    assert "fernwood" in reply and "/100" in reply and "karma" in reply
    assert response.json().get("response_type", "ephemeral") == "ephemeral"


def test_score_for_someone_never_seen_says_so(slack: Slack) -> None:
    response = slack.command("/score", "<!channel>")

    assert "No author called &lt;!channel&gt;" in json.dumps(response.json())


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


def test_opening_the_home_tab_publishes_the_watches_and_waiting_count(slack: Slack) -> None:
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
    assert "*5* mentions are waiting" in home
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
