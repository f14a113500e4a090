"""The App Home's own buttons: pause or resume a watch (admins only), and turn a list's page."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.services.deps import Deps
from bot.services.home import read_page_turn, show_home
from bot.services.watches import WatchError, set_watch_enabled
from bot.slack import ids
from bot.slack.admins import REFUSAL, AdminCheck
from bot.slack.home import build_watch_switched_line
from bot.store.db import session_scope


def handle_watch_switch(ack: Ack, body: dict[str, Any], deps: Deps, admins: AdminCheck) -> None:
    """Pause or resume a watch for an admin; anyone else is told why nothing changed."""
    ack()
    user_id, pressed = body["user"]["id"], body["actions"][0]
    enabled = pressed["action_id"] == ids.HOME_RESUME_WATCH
    if not admins.is_admin(user_id):
        show_home(deps, user_id, flash=REFUSAL)
        return
    try:
        with session_scope(deps.engine) as session:
            watch = set_watch_enabled(int(pressed["value"]), enabled, session=session)
    except WatchError as exc:
        show_home(deps, user_id, flash=str(exc))
        return
    show_home(deps, user_id, flash=build_watch_switched_line(watch))


def handle_page_button(ack: Ack, body: dict[str, Any], deps: Deps) -> None:
    """Show the page of a list the button points to; the other lists stay where they were."""
    ack()
    show_home(deps, body["user"]["id"], turn=read_page_turn(body["actions"][0].get("value", "")))


def register(app: App) -> None:
    """Attach the Home's button listeners (Add and Edit open the watch modal: handlers/admin)."""
    app.action(ids.HOME_PAUSE_WATCH)(handle_watch_switch)
    app.action(ids.HOME_RESUME_WATCH)(handle_watch_switch)
    app.action(ids.HOME_PAGE_PREVIOUS)(handle_page_button)
    app.action(ids.HOME_PAGE_NEXT)(handle_page_button)
