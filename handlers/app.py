"""Build the Bolt app: middleware puts `deps` and `admins` in the context; surfaces register."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.services.deps import Deps
from bot.slack.admins import AdminCheck
from handlers import actions, admin, commands, events, views

log = logging.getLogger(__name__)


def build_app(deps: Deps, client: WebClient) -> App:
    """A Bolt app whose listeners receive `deps`; it verifies every request's signature."""
    secret = deps.settings.slack_signing_secret
    app = App(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        token_verification_enabled=False,
        logger=logging.getLogger("slack_bolt"),
    )

    admins = AdminCheck(client, deps.settings.admins)

    def inject_deps(context: BoltContext, next: Callable[[], None]) -> None:
        context["deps"] = deps
        context["admins"] = admins
        next()

    app.use(inject_deps)

    @app.error
    def handle_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed for %s", body.get("type"), exc_info=error)

    actions.register(app)
    admin.register(app)
    commands.register(app)
    events.register(app)
    views.register(app)
    return app
