"""The Home's buttons, called directly: page turns and watch switches that can't happen."""

from __future__ import annotations

import json
from typing import Any

from bot.slack import ids
from bot.slack.admins import AdminCheck
from handlers.home import handle_page_button, handle_watch_switch
from tests.handlers.conftest import Workspace


def pressed(action_id: str, value: str, user: str = "UBOSS") -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "actions": [{"action_id": action_id, "value": value, "type": "button"}],
    }


def test_a_page_value_we_did_not_write_just_shows_the_home_again(slack: Workspace) -> None:
    for n in range(3):
        slack.post_card(external_id=str(n))
    calls: list[bool] = []

    handle_page_button(
        lambda: calls.append(True), pressed(ids.HOME_PAGE_NEXT, "admin:7"), slack.deps
    )

    assert calls == [True]
    home = json.dumps(slack.fake.home_views["UBOSS"])
    assert "Waiting for someone to claim them (3)" in home


def test_switching_a_watch_that_was_removed_says_so_on_the_home(slack: Workspace) -> None:
    admins = AdminCheck(slack.client, frozenset({"UBOSS"}))

    handle_watch_switch(lambda: None, pressed(ids.HOME_PAUSE_WATCH, "999"), slack.deps, admins)

    (first, *_) = [
        b["text"]["text"]
        for b in slack.fake.home_views["UBOSS"]["blocks"]
        if b["type"] == "section"
    ]
    assert first == "no watch with id 999"
    assert slack.fake.calls_to("users.info") == []  # a configured admin needs no lookup
