"""Which Slack workspace overheard belongs to, and a guard that refuses requests from others.

In a Slack Connect channel, people of another organisation see the cards and can press their
buttons; their requests carry their own team id. overheard serves one workspace: the one its
bot token belongs to (`auth.test`), and every request from elsewhere is refused.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

# After auth.test fails, requests go unchecked this long before Slack is asked again, so a
# Slack outage doesn't make every click wait on its own auth.test.
RETRY_AFTER_S = 60.0
FOREIGN_TEAM = (
    "overheard only takes commands and clicks from its own workspace's members; "
    "this request came from another organisation."
)


class HomeTeam:
    """The bot's own team id, asked of Slack once (`auth.test`) and remembered."""

    def __init__(self, client: WebClient, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._clock = clock
        self._id: str | None = None
        self._failed_at: float | None = None
        self._lock = threading.Lock()

    def id(self) -> str | None:
        """The team id, or None while Slack can't be asked (the guard then lets requests by)."""
        with self._lock:
            recently_failed = (
                self._failed_at is not None and self._clock() - self._failed_at < RETRY_AFTER_S
            )
            if self._id is None and not recently_failed:
                try:
                    self._id = str(self._client.auth_test()["team_id"])
                except (SlackApiError, KeyError, OSError) as exc:
                    self._failed_at = self._clock()
                    log.warning("auth.test failed, the workspace check is off for now: %s", exc)
            return self._id


def teams_in(body: dict[str, Any]) -> set[str]:
    """Every team id a request names: the team's and the acting user's."""
    found = {body.get("team_id")}
    team, user = body.get("team"), body.get("user")
    if isinstance(team, dict):
        found.add(team.get("id"))
    if isinstance(user, dict):
        found.add(user.get("team_id"))
    return {t for t in found if isinstance(t, str) and t}


def only_home_team(home: HomeTeam) -> Callable[..., BoltResponse | None]:
    """Bolt middleware: requests naming another team get a polite refusal and go no further."""

    def guard(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        named = teams_in(body)
        ours = home.id() if named else None
        foreign = named - {ours} if ours else set()
        if not foreign:
            next()
            return None
        log.warning(
            "refused a %s from team %s (not this workspace)",
            body.get("type") or body.get("command") or "request",
            ", ".join(sorted(foreign)),
        )
        if "command" in body:  # a slash command's reply is shown to the person who typed it
            payload = json.dumps({"response_type": "ephemeral", "text": FOREIGN_TEAM})
            return BoltResponse(
                status=200, body=payload, headers={"content-type": "application/json"}
            )
        return BoltResponse(status=200, body="")

    return guard
