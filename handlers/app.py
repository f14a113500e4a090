"""Build the Bolt app: middleware puts `deps` and `admins` in the context; surfaces register."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot.services.deps import Deps
from bot.slack.admins import AdminCheck
from bot.slack.workspace import HomeTeam, only_home_team
from handlers import actions, admin, commands, events, home, views
from handlers.reporting import report_failure, reported

log = logging.getLogger(__name__)


class ReportingApp(App):
    """Bolt's App whose every event, command, action and view listener is `reported`."""

    def event(self, *args: Any, **kwargs: Any) -> Any:
        return _reporting(super().event(*args, **kwargs))

    def command(self, *args: Any, **kwargs: Any) -> Any:
        return _reporting(super().command(*args, **kwargs))

    def action(self, *args: Any, **kwargs: Any) -> Any:
        return _reporting(super().action(*args, **kwargs))

    def view(self, *args: Any, **kwargs: Any) -> Any:
        return _reporting(super().view(*args, **kwargs))


def _reporting(register: Callable[..., Any]) -> Callable[..., Any]:
    def register_reported(*functions: Callable[..., Any]) -> Any:
        return register(*(reported(f) for f in functions))

    return register_reported


def build_app(deps: Deps, client: WebClient) -> App:
    """A Bolt app whose listeners receive `deps`; it verifies every request's signature."""
    secret = deps.settings.slack_signing_secret
    app = ReportingApp(
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

    app.use(only_home_team(HomeTeam(client)))
    app.use(inject_deps)

    @app.error
    def handle_error(error: Exception, body: dict[str, Any], respond: Respond) -> None:
        """What fails outside a listener (a middleware): logged with an id, the user told."""
        report_failure(error, body, respond)

    actions.register(app)
    admin.register(app)
    commands.register(app)
    events.register(app)
    home.register(app)
    views.register(app)
    return app
