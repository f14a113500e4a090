"""Events: the App Home tab, published for whoever opens it."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services.deps import Deps
from bot.services.home import show_home


def handle_app_home_opened(event: dict[str, Any], deps: Deps) -> None:
    """Publish the Home tab for the user who opened it; from now on it is kept up to date."""
    if event.get("tab", "home") != "home":
        return
    show_home(deps, event["user"])


def register(app: App) -> None:
    """Attach the event listeners."""
    app.event("app_home_opened")(handle_app_home_opened)
