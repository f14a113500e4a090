"""Events: the App Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.services.cards import count_open_cards
from bot.services.deps import Deps
from bot.services.health import describe_health
from bot.services.watches import list_watches
from bot.slack.views import build_home_view
from bot.store.db import session_scope


def handle_app_home_opened(event: dict[str, Any], client: WebClient, deps: Deps) -> None:
    """Publish the Home tab for the user who opened it."""
    if event.get("tab", "home") != "home":
        return
    with session_scope(deps.engine) as session:
        watches = list_watches(session=session)
        open_cards = count_open_cards(session=session)
        health = describe_health(session=session, sources=deps.sources, now=deps.clock())
    view = build_home_view(watches, open_cards, health)
    client.views_publish(user_id=event["user"], view=view)


def register(app: App) -> None:
    """Attach the event listeners."""
    app.event("app_home_opened")(handle_app_home_opened)
