"""The App Home as Slack sees it: signed events and button presses over HTTP, a fake Web API.

What a person finds on their Home (their cards, the queue, the watches and their health,
the day's numbers, admin notices), when it is published again, and its buttons.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.cards import claim_card
from bot.services.deps import Deps
from bot.services.fetching import ensure_cursor
from bot.services.home import refresh_homes
from bot.services.pipeline import ingest_mentions
from bot.services.poster import PROBE_EVERY, Poster
from bot.services.scheduler import refresh_home_tabs
from bot.slack import ids
from bot.slack.admins import REFUSAL
from bot.slack.chat import SlackChat
from bot.slack.clients import poster_client
from bot.store.db import session_scope
from bot.store.models import Card, CardState, HomeViewer, Watch
from tests.blocks import typed_texts
from tests.bot.services.test_home import post_cards
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL, make_fetched, make_watch
from tests.fakes.slack_api import MAX_VIEW_BLOCKS, TEST_TOKEN, FakeSlack
from tests.fakes.slack_app import SIGNING_SECRET, SlackApp, running_app, wait_for

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ADMINS = ("UBOSS", "UDEPUTY")
HOSTILE = "<!channel> <@U0ADMIN> <#C0GENERAL> <https://evil.example|x> & "


@dataclass
class Workspace:
    fake: FakeSlack
    app: SlackApp
    deps: Deps
    clock: Clock

    @property
    def engine(self) -> Engine:
        return self.deps.engine

    def open_home(self, user: str = "UALICE") -> dict[str, Any]:
        """Open the Home tab and return the view Slack got."""
        before = self.publishes(user)
        response = self.app.event({"type": "app_home_opened", "user": user, "tab": "home"})
        assert response.status_code == 200
        wait_for(lambda: self.publishes(user) > before)
        return self.fake.home_views[user]

    def press(self, action_id: str, value: str, user: str = "UALICE") -> dict[str, Any]:
        """Press a button on the user's Home and return the Home published in answer."""
        before = self.publishes(user)
        button = {"action_id": action_id, "value": value, "type": "button"}
        response = self.app.block_action(
            button, user=user, channel=None, view=self.fake.home_views[user]
        )
        assert response.status_code == 200
        wait_for(lambda: self.publishes(user) > before)
        return self.fake.home_views[user]

    def publishes(self, user: str | None = None) -> int:
        return sum(
            1
            for call in self.fake.calls_to("views.publish")
            if not call.failed and user in (None, call.args.get("user_id"))
        )


@pytest.fixture
def slack(engine: Engine) -> Iterator[Workspace]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        settings = make_settings(
            SLACK_BOT_TOKEN=TEST_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=fake.base_url,
            OVERHEARD_ADMINS=" ".join(ADMINS),
        )
        clock = Clock(NOW)
        deps = Deps(settings, engine, SlackChat(poster_client(settings)), {}, clock=clock)
        with running_app(deps, fake) as app:
            yield Workspace(fake, app, deps, clock)


def texts(view: dict[str, Any]) -> list[str]:
    """Every mrkdwn and plain text in the view, top to bottom."""
    return typed_texts(view["blocks"])


def buttons(view: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (e["text"]["text"], e["action_id"], e.get("value", ""))
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def set_health(engine: Engine, watch: Watch, source: str, **values: Any) -> None:
    with session_scope(engine) as session:
        stored = session.get(Watch, watch.id)
        assert stored is not None
        cursor = ensure_cursor(stored, source, session=session)
        for name, value in values.items():
            setattr(cursor, name, value)
        session.add(cursor)


def claim(engine: Engine, card_id: int, user: str, now: datetime = NOW) -> None:
    with session_scope(engine) as session:
        claim_card(card_id, user, session=session, now=now)


def test_the_home_shows_my_cards_the_queue_by_priority_with_ages_watches_and_numbers(
    slack: Workspace,
) -> None:
    minute = timedelta(minutes=1)
    fetched = NOW - timedelta(seconds=1)  # within the last day
    ids_ = post_cards(
        slack.engine, [(3, 90 * minute), (1, 5 * minute), (2, 30 * minute)], now=fetched
    )
    ids_ += post_cards(slack.engine, [(1, 60 * minute)], channel="C0SALES", now=fetched)
    claim(slack.engine, ids_[2], "UALICE", NOW - 20 * minute)
    claim(slack.engine, ids_[0], "UBOB", NOW - minute)
    quiet = make_watch(slack.engine, query="globex", sources=["rss"], created_at=NOW)
    hn = Watch(id=1)  # post_cards' first watch
    set_health(
        slack.engine,
        hn,
        "hackernews",
        last_attempt_at=NOW - 3 * minute,
        last_success_at=NOW - 3 * minute,
        last_mention_at=NOW - 2 * timedelta(hours=1),
    )
    set_health(
        slack.engine,
        quiet,
        "rss",
        last_attempt_at=NOW - minute,
        last_success_at=NOW - minute,
        last_mention_at=NOW - timedelta(days=9),
    )

    view = slack.open_home("UALICE")

    shown = texts(view)
    mine = shown.index("Claimed by you (1)")
    queue = shown.index("Waiting for someone to claim them (2)")
    watches = shown.index("Watches (3)")
    (my_card,) = shown[mine + 1 : queue]
    assert my_card.startswith(":large_orange_circle: *P2* · Hacker News · kestrel · claimed 20 min")
    assert my_card.endswith("\nmention 2")
    assert "<https://fake-workspace.slack.com/archives/C0SUPPORT/p1700000000000003|open>" in my_card
    waiting = [t for t in shown[queue + 1 : watches] if "waiting" in t]
    assert [(t.split(" · ")[0], t.split(" · ")[3], t.rsplit("\n")[-1]) for t in waiting] == [
        (":red_circle: *P1*", "waiting 1 h", "mention 0"),  # the longest waiting P1 first
        (":red_circle: *P1*", "waiting 5 min", "mention 1"),
    ]
    assert "in <#C0SALES>" in waiting[0] and "in <#C0SUPPORT>" in waiting[1]
    watch_text = "\n".join(shown[watches:])
    assert ":white_check_mark: Hacker News: *ok* · last success 3 min ago" in watch_text
    assert "last new mention 2 h ago" in watch_text
    assert ":warning: RSS: *silent*" in watch_text and "last new mention 9 d ago" in watch_text
    assert buttons(view) == [
        ("Add a watch", ids.HOME_ADD_WATCH, "add"),
        *[
            (label, action, str(n))
            for n in (1, 2, 3)
            for label, action in (("Pause", ids.HOME_PAUSE_WATCH), ("Edit", ids.HOME_EDIT_WATCH))
        ],
    ]
    numbers = next(t for t in shown if t.startswith("*Last 24 hours:*"))
    assert "*Last 24 hours:* 4 mentions" in numbers
    assert "2 claimed · 0 resolved · 0 dismissed" in numbers
    assert "*Now:* 2 waiting for a claim · 4 open" in numbers
    asked = len(slack.fake.calls_to("auth.test"))
    slack.open_home("UALICE")
    assert len(slack.fake.calls_to("auth.test")) == asked  # the workspace URL is kept
    with session_scope(slack.engine) as session:
        seen = session.get(HomeViewer, "UALICE")
        assert seen is not None and seen.opened_at == NOW


def test_the_home_is_published_again_only_when_something_it_shows_changes(
    slack: Workspace,
) -> None:
    ids_ = post_cards(slack.engine, [(2, timedelta(minutes=5))] * 3)
    slack.open_home("UALICE")

    assert refresh_home_tabs(slack.deps) == []  # nothing changed
    claim(slack.engine, ids_[0], "UBOB")  # Bob never opened his Home
    assert refresh_home_tabs(slack.deps) == ["UALICE"]
    assert refresh_home_tabs(slack.deps) == []

    assert slack.publishes("UALICE") == 2
    assert slack.publishes() == 2  # nobody else's
    assert "Waiting for someone to claim them (2)" in texts(slack.fake.home_views["UALICE"])


def test_pages_of_a_huge_hostile_queue_stay_under_100_blocks_and_the_buttons_turn_them(
    slack: Workspace,
) -> None:
    with session_scope(slack.engine) as session:
        for n in range(60):
            session.add(
                Watch(
                    query=f"acme{n} {HOSTILE}",
                    sources=["hackernews"],
                    channel_id=CHANNEL,
                    created_at=NOW,
                )
            )
    watch = make_watch(slack.engine)
    fetched = [
        make_fetched(external_id=str(n), text=HOSTILE * 40, url=f"https://h.test/{n}")
        for n in range(500)
    ]
    with session_scope(slack.engine) as session:
        cards = ingest_mentions(fetched, watch=watch, authors={}, session=session, now=NOW)
        for n, card in enumerate(cards):
            card.state, card.posted_at = CardState.POSTED, NOW
            card.message_ts = card.thread_ts = f"1700000001.{n:06d}"
            session.add(card)

    first = slack.open_home("UALICE")
    assert "Waiting for someone to claim them (500) · page 1 of 34" in texts(first)
    assert ("Next →", ids.HOME_PAGE_NEXT, "queue:2") in buttons(first)
    assert ("Next →", ids.HOME_PAGE_NEXT, "watches:2") in buttons(first)

    second = slack.press(ids.HOME_PAGE_NEXT, "queue:2")
    assert "Waiting for someone to claim them (500) · page 2 of 34" in texts(second)
    assert "Watches (61) · page 1 of 8" in texts(second)  # the other lists stay put
    last = slack.press(ids.HOME_PAGE_NEXT, "queue:34")
    assert ("← Previous", ids.HOME_PAGE_PREVIOUS, "queue:33") in buttons(last)
    assert not [b for b in buttons(last) if b[2].startswith("queue:35")]

    for view in (first, second, last):
        assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
        sent = json.dumps(texts(view))
        assert "<!channel>" not in sent and "<@U0ADMIN>" not in sent and "<https://evil" not in sent
    assert not any(call.failed for call in slack.fake.calls_to("views.publish"))


def test_only_an_admin_can_pause_or_resume_a_watch_from_the_home(slack: Workspace) -> None:
    slack.fake.users["UADMIN"] = {"is_admin": True}
    watch = make_watch(slack.engine)
    slack.open_home("UALICE")
    slack.open_home("UADMIN")

    refused = slack.press(ids.HOME_PAUSE_WATCH, str(watch.id), user="UALICE")

    assert texts(refused)[1] == REFUSAL
    assert ("Pause", ids.HOME_PAUSE_WATCH, str(watch.id)) in buttons(refused)
    with session_scope(slack.engine) as session:
        assert session.get(Watch, watch.id).enabled is True  # type: ignore[union-attr]

    paused = slack.press(ids.HOME_PAUSE_WATCH, str(watch.id), user="UADMIN")

    assert f"Watch #{watch.id} `acme` is paused" in texts(paused)[1]
    assert ("Resume", ids.HOME_RESUME_WATCH, str(watch.id)) in buttons(paused)
    with session_scope(slack.engine) as session:
        assert session.get(Watch, watch.id).enabled is False  # type: ignore[union-attr]
    assert refresh_homes(slack.deps) == ["UALICE"]  # everyone else sees it paused too
    assert ("Resume", ids.HOME_RESUME_WATCH, str(watch.id)) in buttons(
        slack.fake.home_views["UALICE"]
    )

    resumed = slack.press(ids.HOME_RESUME_WATCH, str(watch.id), user="UADMIN")

    assert ("Pause", ids.HOME_PAUSE_WATCH, str(watch.id)) in buttons(resumed)
    with session_scope(slack.engine) as session:
        assert session.get(Watch, watch.id).enabled is True  # type: ignore[union-attr]


def dms(fake: FakeSlack, user: str) -> list[str]:
    return [m["text"] for m in fake.messages(user)]


def test_a_channel_slack_cannot_find_becomes_a_notice_sent_once_and_cleared_by_a_post(
    slack: Workspace,
) -> None:
    watch = make_watch(slack.engine)
    with session_scope(slack.engine) as session:
        ingest_mentions([make_fetched()], watch=watch, authors={}, session=session, now=NOW)
    poster = Poster(slack.deps)
    slack.fake.fail_next("chat.postMessage", error="channel_not_found", status=200)

    assert poster.post_pending().failed
    home = slack.open_home("UALICE")

    assert texts(home)[1].startswith(":rotating_light: *Needs an admin*")
    assert f"Slack can't find channel {CHANNEL}" in texts(home)[1]
    for admin in ADMINS:
        (dm,) = dms(slack.fake, admin)
        assert f"Slack can't find channel {CHANNEL}" in dm and "/invite @overheard" in dm

    slack.clock.advance(seconds=PROBE_EVERY.total_seconds())  # the channel is tried again
    slack.fake.fail_next("chat.postMessage", error="channel_not_found", status=200)
    assert poster.post_pending().failed
    assert refresh_home_tabs(slack.deps) == ["UALICE"]

    assert "_(seen 2 times)_" in texts(slack.fake.home_views["UALICE"])[1]
    assert [len(dms(slack.fake, admin)) for admin in ADMINS] == [1, 1]  # not sent again

    slack.clock.advance(seconds=PROBE_EVERY.total_seconds())
    assert poster.post_pending().posted  # the channel works again
    assert refresh_home_tabs(slack.deps) == ["UALICE"]

    assert "Needs an admin" not in json.dumps(slack.fake.home_views["UALICE"])
    with session_scope(slack.engine) as session:
        assert [c.state for c in session.exec(select(Card))] == [CardState.POSTED]


def test_cards_slack_has_refused_for_minutes_show_at_the_top_of_the_home(
    slack: Workspace,
) -> None:
    watch = make_watch(slack.engine)
    with session_scope(slack.engine) as session:
        ingest_mentions([make_fetched()], watch=watch, authors={}, session=session, now=NOW)
    poster = Poster(slack.deps)
    slack.fake.fail_next("chat.postMessage", error="service_unavailable", status=503, times=99)
    poster.post_pending()
    assert "Slack:" not in json.dumps(texts(slack.open_home("UALICE")))  # a moment is fine

    slack.clock.advance(minutes=12)
    home = slack.open_home("UALICE")

    assert texts(home)[1] == (
        ":warning: Slack: 1 card waiting to post for 12 min, last error: service_unavailable"
    )
