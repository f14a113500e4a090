"""The App Home tab, called directly: published for whoever opened it, and only for Home."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import Engine

from bot.services.cards import claim_card
from bot.services.chat import ChatError
from bot.services.fetching import ensure_cursor
from bot.services.home import refresh_homes
from bot.store.db import session_scope
from bot.store.models import HomeViewer, Watch
from handlers.events import handle_app_home_opened
from tests.bot.services.test_fetching import ScriptedSource
from tests.factories import CHANNEL, NOW, make_watch
from tests.handlers.conftest import Workspace


def home_opened(user: str, tab: str = "home") -> dict[str, str]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab}


def fail_fetches(engine: Engine, watch: Watch, times: int) -> None:
    """Record `times` failed fetches in a row for the watch's Hacker News cursor."""
    with session_scope(engine) as session:
        stored = session.get(Watch, watch.id)
        assert stored is not None
        cursor = ensure_cursor(stored, "hackernews", session=session)
        cursor.failures, cursor.last_error = times, "HTTP 503"
        cursor.last_attempt_at = NOW  # as a failed fetch records it
        session.add(cursor)


def viewer(engine: Engine, user: str) -> HomeViewer | None:
    with session_scope(engine) as session:
        return session.get(HomeViewer, user)


def test_opening_home_publishes_the_queue_and_watches_to_that_user_and_remembers_them(
    slack: Workspace,
) -> None:
    claimed = slack.post_card(external_id="1")
    slack.post_card(external_id="2")
    slack.post_card(external_id="3")
    with session_scope(slack.deps.engine) as session:
        claim_card(claimed, "UBOB", session=session, now=NOW)

    handle_app_home_opened(home_opened("UALICE"), slack.deps)

    assert list(slack.fake.home_views) == ["UALICE"]
    home = json.dumps(slack.fake.home_views["UALICE"], ensure_ascii=False)
    assert "Waiting for someone to claim them (2)" in home  # the claimed one is not waiting
    assert "Claimed by you (0)" in home
    assert f"`acme` → <#{CHANNEL}>" in home
    seen = viewer(slack.deps.engine, "UALICE")
    assert seen is not None and seen.opened_at == NOW and seen.published_hash


def test_home_warns_about_a_network_that_keeps_failing(slack: Workspace) -> None:
    watch = make_watch(slack.deps.engine)
    fail_fetches(slack.deps.engine, watch, times=3)
    deps = replace(slack.deps, sources={"hackernews": ScriptedSource()})

    handle_app_home_opened(home_opened("UALICE"), deps)

    home = json.dumps(slack.fake.home_views["UALICE"], ensure_ascii=False)
    assert f"*#{watch.id}* `acme`" in home
    assert ":warning: Hacker News: *failing*" in home and "HTTP 503" in home


def test_opening_the_messages_tab_publishes_nothing(slack: Workspace) -> None:
    handle_app_home_opened(home_opened("UALICE", tab="messages"), slack.deps)

    assert slack.fake.home_views == {}
    assert slack.fake.calls == []
    assert viewer(slack.deps.engine, "UALICE") is None


def test_a_home_slack_refuses_is_published_by_the_next_refresh(slack: Workspace) -> None:
    slack.fake.fail_next("views.publish", error="internal_error")

    with pytest.raises(ChatError):
        handle_app_home_opened(home_opened("UALICE"), slack.deps)

    assert slack.fake.home_views == {}
    assert refresh_homes(slack.deps) == ["UALICE"]
    assert "UALICE" in slack.fake.home_views
