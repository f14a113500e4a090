"""Reddit comments end to end: read from the comment stream, matched here, threaded on Slack."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.services.deps import Deps
from bot.services.scheduler import run_once
from bot.slack.chat import SlackChat
from bot.sources.reddit import RedditSource
from bot.store.db import session_scope
from bot.store.models import Card, Mention
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL, make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "reddit"
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def reddit(request: httpx.Request) -> httpx.Response:
    path, after = request.url.path, request.url.params.get("after")
    if path == "/api/v1/access_token":
        name = "access_token.json"
    elif path == "/search":
        name = "search_page0.json" if after is None else "search_empty.json"
    elif path == "/r/all/comments":
        name = "comments_page0.json" if after is None else "comments_page1.json"
    elif path.startswith("/user/"):
        name = "user_about.json"
    else:
        return httpx.Response(404)
    return httpx.Response(200, content=(FIXTURES / name).read_bytes())


@pytest.fixture
def deps(engine: Engine) -> Iterator[Deps]:
    with (
        FakeSlack(token=TEST_TOKEN) as fake,
        httpx.Client(transport=httpx.MockTransport(reddit)) as http,
    ):
        source = RedditSource(
            http, client_id="id", client_secret="secret", sleep=lambda _s: None, clock=lambda: NOW
        )
        client = WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5)
        yield Deps(make_settings(), engine, SlackChat(client), {"reddit": source}, clock=Clock(NOW))


def test_comments_about_the_brand_become_cards_threaded_under_their_submission(
    deps: Deps,
) -> None:
    make_watch(deps.engine, query="acme", sources=["reddit"])

    run_once(deps)

    with session_scope(deps.engine) as session:
        stored = {m.external_id: m for m in session.exec(select(Mention))}
        cards = {c.mention_id: c for c in session.exec(select(Card).order_by(col(Card.id)))}
    comments = sorted(i for i in stored if i.startswith("t1_"))
    # Postgres talk and the deleted comment are not about acme: not stored.
    assert comments == ["t1_m7q1aaa", "t1_m7q2jxx", "t1_m7q2k1x"]
    submission = cards[stored["t3_1q4c9rm"].id or 0]
    reply = cards[stored["t1_m7q2k1x"].id or 0]
    assert submission.thread_ts is None or submission.thread_ts == submission.message_ts
    assert reply.thread_ts == submission.message_ts  # in the submission's thread
    assert reply.channel_id == CHANNEL
    other = cards[stored["t1_m7q2jxx"].id or 0]
    assert other.message_ts is not None and other.thread_ts in (None, other.message_ts)
    mention = stored["t1_m7q2jxx"]
    assert mention.conversation_title == "What message queue do you use in 2026?"
    assert mention.url.endswith("/comments/1q5bbbb/some_title/m7q2jxx/")
