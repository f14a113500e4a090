"""/score over signed HTTP against the fake Web API: stored authors, live lookups, sharing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.deps import Deps
from bot.slack import ids
from bot.slack.chat import SlackChat
from bot.slack.clients import poster_client
from bot.sources import NETWORKS, build_sources
from bot.sources.base import FetchedAuthor
from bot.store.db import session_scope
from bot.store.models import Author, AuthorScore, Card, CardState
from tests.blocks import typed_texts
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL, NOW, make_posted_card
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack, validate_blocks
from tests.fakes.slack_app import SIGNING_SECRET, SlackApp, running_app, wait_for

HN_URL = "http://hn.test"
LATER = NOW + timedelta(hours=3)


class HackerNewsUsers:
    """Algolia's `/api/v1/users/NAME`: known users with karma, 404 for others, or a failure.

    Every other host (Mastodon's lookup, asked when no network is named) answers 404.
    """

    def __init__(self) -> None:
        self.users: dict[str, int] = {}
        self.status = 200
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        if request.url.host != "hn.test" or not request.url.path.startswith("/api/v1/users/"):
            return httpx.Response(404, json={"error": "Record not found"})
        if self.status != 200:
            return httpx.Response(self.status, text="Service Unavailable")
        name = request.url.path.rsplit("/", 1)[-1]
        if name not in self.users:
            return httpx.Response(404, json={"status": 404, "error": "Not Found"})
        return httpx.Response(
            200,
            json={"username": name, "karma": self.users[name], "created_at_i": 1_160_418_111},
        )


@dataclass
class Scoring:
    app: SlackApp
    fake: FakeSlack
    deps: Deps
    hn: HackerNewsUsers

    def score(self, text: str, user: str = "UALICE") -> dict[str, Any]:
        """Run /score and return the acknowledgement's body."""
        response = self.app.command("/score", text, user=user, channel=CHANNEL)
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        assert validate_blocks(body.get("blocks", [])) == []
        return body

    def answer(self) -> dict[str, Any]:
        """The one answer sent to the command's response_url, after the ack."""
        wait_for(lambda: len(self.fake.responses) >= 1)
        (answer,) = self.fake.responses
        assert validate_blocks(answer.get("blocks", [])) == []
        return answer


@pytest.fixture
def scoring(engine: Engine) -> Iterator[Scoring]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        settings = make_settings(
            SLACK_BOT_TOKEN=TEST_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            OVERHEARD_HACKERNEWS_URL=HN_URL,
        )
        hn = HackerNewsUsers()
        http = httpx.Client(transport=httpx.MockTransport(hn))
        clock = Clock(LATER)
        deps = Deps(
            settings,
            engine,
            SlackChat(poster_client(settings)),
            build_sources(settings, http, sleep=lambda _s: None, clock=clock),
            clock=clock,
            sleep=lambda _s: None,
        )
        try:
            with running_app(deps, fake) as app:
                yield Scoring(app, fake, deps, hn)
        finally:
            http.close()


def text_of(message: dict[str, Any]) -> str:
    """Every mrkdwn and plain text in a message's blocks, one per line."""
    return "\n".join(typed_texts(message.get("blocks", [])))


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def stored(engine: Engine) -> list[tuple[str, str, int | None]]:
    with session_scope(engine) as session:
        return [(a.network, a.handle, a.score) for a in session.exec(select(Author))]


def store_kestrel(engine: Engine) -> list[int]:
    """Three mentions by kestrel (karma 12,000): resolved, claimed and still open."""
    author = FetchedAuthor(handle="kestrel", karma=12_000, created_at=NOW - timedelta(days=900))
    cards = [
        make_posted_card(
            engine,
            external_id=str(i),
            url=f"https://news.ycombinator.com/item?id={i}",
            author=author,
            created_at=NOW - timedelta(hours=i),
        )
        for i in range(3)
    ]
    with session_scope(engine) as session:
        resolved, claimed = session.get(Card, cards[0]), session.get(Card, cards[1])
        assert resolved is not None and claimed is not None
        resolved.state, resolved.closed_by = CardState.RESOLVED, "UBOB"
        resolved.closed_at = NOW + timedelta(minutes=12)
        claimed.state, claimed.claimed_by = CardState.CLAIMED, "UCAROL"
        session.add_all([resolved, claimed])
    return cards


# --- a stored author -------------------------------------------------------------------------


def test_a_stored_author_gets_a_private_card_whose_points_add_up_to_the_score(
    scoring: Scoring,
) -> None:
    store_kestrel(scoring.deps.engine)
    ((_network, _handle, score),) = stored(scoring.deps.engine)

    card = scoring.score("@Kestrel")

    shown = text_of(card)
    assert card.get("response_type", "ephemeral") == "ephemeral"
    assert f"Reach *{score}/100*" in shown
    points = [int(p) for p in re.findall(r"→ (\d+) pts?\b", shown)]
    assert len(points) >= 3 and sum(points) == score
    assert "karma: 12,000 →" in shown and "account age: 900 days →" in shown
    assert "Formula 2.0+ref.2 · confidence" in shown
    assert f"• {score}/100 on " in shown  # the score history
    assert "resolved by <@UBOB> after 12 min" in shown
    assert "claimed by <@UCAROL>" in shown
    assert "open, unclaimed for 3 h" in shown
    assert scoring.hn.asked == []  # answered from the database, within the ack
    assert scoring.fake.responses == []


def test_the_recent_mentions_link_to_their_posts(scoring: Scoring) -> None:
    store_kestrel(scoring.deps.engine)

    shown = text_of(scoring.score("kestrel"))

    for i in range(3):
        assert f"<https://news.ycombinator.com/item?id={i}|“Acme charged me twice" in shown


def test_the_share_button_posts_the_card_in_the_channel_saying_who_shared_it(
    scoring: Scoring,
) -> None:
    store_kestrel(scoring.deps.engine)
    private = scoring.score("kestrel")
    (share,) = buttons(private)
    assert (share["action_id"], share["text"]["text"]) == (ids.SHARE_SCORE, "Share in channel")

    scoring.app.block_action(
        {"action_id": share["action_id"], "value": share["value"], "type": "button"},
        user="UBOB",
        channel=CHANNEL,
    )

    wait_for(lambda: len(scoring.fake.messages(CHANNEL)) == 1)
    (shared,) = scoring.fake.messages(CHANNEL)
    assert "Shared by <@UBOB>" in text_of(shared)
    assert buttons(shared) == []
    reach = re.search(r"Reach \*\d+/100\*", text_of(private))
    assert reach is not None and reach.group() in text_of(shared)
    (post,) = scoring.fake.calls_to("chat.postMessage")
    assert post.args["unfurl_links"] is False


def test_sharing_where_the_bot_may_not_post_tells_the_sharer_privately(
    scoring: Scoring,
) -> None:
    store_kestrel(scoring.deps.engine)
    (share,) = buttons(scoring.score("kestrel"))
    scoring.fake.fail_next("chat.postMessage", error="not_in_channel", status=200)

    scoring.app.block_action(
        {"action_id": share["action_id"], "value": share["value"], "type": "button"},
        channel="C0PRIVATE",
    )

    answer = scoring.answer()
    assert "invite @overheard" in answer["text"]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert scoring.fake.messages("C0PRIVATE") == []


# --- an author never seen before -------------------------------------------------------------


def test_an_unseen_author_is_looked_up_live_stored_and_answered_through_response_url(
    scoring: Scoring,
) -> None:
    scoring.hn.users["pg"] = 157_316

    ack = scoring.score("news.ycombinator.com/user?id=pg")

    assert ack["text"] == "Looking up @pg on Hacker News…"
    answer = scoring.answer()
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is True
    ((network, handle, score),) = stored(scoring.deps.engine)
    assert (network, handle) == ("hackernews", "pg")
    shown = text_of(answer)
    assert f"Reach *{score}/100*" in shown and "karma: 157,316 →" in shown
    assert sum(int(p) for p in re.findall(r"→ (\d+) pts?\b", shown)) == score
    assert "Recent mentions*\nNone stored yet." in shown
    with session_scope(scoring.deps.engine) as session:
        assert [s.value for s in session.exec(select(AuthorScore))] == [score]

    asked = len(scoring.hn.asked)
    again = scoring.score("pg")  # now stored: answered at once, the network not asked again
    assert f"Reach *{score}/100*" in text_of(again)
    assert len(scoring.hn.asked) == asked and len(scoring.fake.responses) == 1


def test_with_no_network_named_every_network_that_can_answer_is_asked(scoring: Scoring) -> None:
    scoring.hn.users["pg"] = 157_316

    ack = scoring.score("pg")

    assert ack["text"] == "Looking up @pg on Hacker News and Mastodon…"
    shown = text_of(scoring.answer())
    assert "(pg) on Hacker News" in shown
    assert [n for n, _h, _s in stored(scoring.deps.engine)] == ["hackernews"]
    assert any("accounts/lookup" in url for url in scoring.hn.asked)  # Mastodon was asked too


def test_an_unknown_handle_gets_a_clear_answer_and_nothing_is_stored(scoring: Scoring) -> None:
    scoring.score("nobody hackernews")

    answer = scoring.answer()
    assert answer["text"] == "No one called nobody on Hacker News."
    assert stored(scoring.deps.engine) == []


def test_a_network_error_gets_a_clear_answer_and_nothing_is_stored(scoring: Scoring) -> None:
    scoring.hn.users["pg"] = 157_316
    scoring.hn.status = 503

    scoring.score("pg hackernews")

    answer = scoring.answer()
    assert "Couldn't look pg up. Hacker News answered with an error" in answer["text"]
    assert stored(scoring.deps.engine) == []


def test_a_network_without_its_credentials_says_which_settings_it_needs(
    scoring: Scoring,
) -> None:
    ack = scoring.score("spez reddit")

    assert "Reddit isn't configured for lookups: set REDDIT_CLIENT_ID" in ack["text"]
    assert scoring.hn.asked == [] and scoring.fake.responses == []


# --- what is no handle -----------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["<@U0BOB>", "<@U0BOB|bob>"])
def test_a_slack_member_is_not_a_social_handle(scoring: Scoring, typed: str) -> None:
    ack = scoring.score(typed)

    assert "That's a Slack member, not a social handle" in ack["text"]
    assert "<@U0BOB" not in json.dumps(ack)  # nobody is pinged
    assert scoring.hn.asked == [] and scoring.fake.responses == []


def test_an_unknown_network_lists_the_known_ones(scoring: Scoring) -> None:
    ack = scoring.score("pg friendster")

    assert "doesn't know a network called “friendster”" in ack["text"]
    assert all(key in ack["text"] for key in NETWORKS)


def test_hostile_text_is_escaped_wherever_it_is_shown(scoring: Scoring) -> None:
    hostile = "<!channel> <https://evil.example|click> &"
    author = FetchedAuthor(handle="kestrel", display_name=hostile, karma=10)
    make_posted_card(scoring.deps.engine, author=author, text=f"{hostile} acme")

    card = json.dumps(scoring.score("kestrel"), ensure_ascii=False)
    refused = json.dumps(scoring.score("&lt;!here&gt;x&amp;y"), ensure_ascii=False)

    for shown in (card, refused):
        assert "<!channel>" not in shown and "<!here>" not in shown
        assert "<https://evil.example" not in shown
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp;" in card
    assert "&lt;!here&gt;x&amp;y" in refused


def test_huge_or_binary_input_gets_an_answer_not_an_error(scoring: Scoring) -> None:
    for typed, says in [("a" * 5000, "too long"), ("pg\x00", "control characters")]:
        ack = scoring.score(typed)
        assert says in ack["text"]
        assert len(ack["text"]) < 3000
