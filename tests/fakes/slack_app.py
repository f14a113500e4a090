"""The Bolt app served over HTTP on loopback, and requests signed the way Slack signs them.

    with running_app(deps) as app:
        app.command("/overheard", "watch list", user="UADMIN")
        app.block_action({"action_id": ..., "value": ...}, user="UALICE", channel="C1")
        app.submit(view, values, user="UADMIN")
        app.event({"type": "app_home_opened", "user": "UALICE", "tab": "home"})

Listeners run after the ack, so their Slack calls land a little later: `wait_for`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.services.deps import Deps
from bot.slack.clients import listener_client
from bot.slack.web import build_wsgi, make_http_server
from handlers.app import build_app
from tests.fakes.slack_api import FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0000TEAM"
APP_ID = "A0OVERHEARD"
FORM = "application/x-www-form-urlencoded"


@dataclass
class SlackApp:
    """A running app and a way to call it like Slack does; the fake Web API is behind it."""

    url: str
    fake: FakeSlack

    def signed_post(
        self,
        body: str,
        *,
        content_type: str = FORM,
        secret: str = SIGNING_SECRET,
        timestamp: int | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        headers = {
            "content-type": content_type,
            "x-slack-request-timestamp": ts,
            "x-slack-signature": signature,
        }
        return httpx.post(self.url + "/slack/events", content=body, headers=headers, timeout=10)

    def command(
        self,
        command: str,
        text: str,
        *,
        user: str = "UALICE",
        channel: str = "C0SUPPORT",
        response_url: str | None = None,
    ) -> httpx.Response:
        """Run a slash command; by default its response_url leads back to the fake."""
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM,
                "channel_id": channel,
                "user_id": user,
                "command": command,
                "text": text,
                "api_app_id": APP_ID,
                "response_url": response_url or self.fake.response_url("command"),
                "trigger_id": "123.456.abc",
            }
        )
        return self.signed_post(body)

    def block_action(
        self,
        action: dict[str, Any],
        *,
        user: str = "UALICE",
        channel: str | None = "C0SUPPORT",
        message_ts: str | None = None,
        view: dict[str, Any] | None = None,
        team: str = TEAM,
    ) -> httpx.Response:
        """Press a button or pick an option: in a message (channel + ts) or in a view (Home)."""
        payload = block_actions_payload(
            action,
            user=user,
            channel=channel,
            message_ts=message_ts,
            view=view,
            team=team,
            response_url=self.fake.response_url("action"),
        )
        return self.signed_post(urlencode({"payload": json.dumps(payload)}))

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], *, user: str = "UALICE"
    ) -> httpx.Response:
        """Submit a modal the app opened, with these input values."""
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": "123.456.def",
            "view": {**view, "state": {"values": values}},
            "response_urls": [],
        }
        return self.signed_post(urlencode({"payload": json.dumps(payload)}))

    def event(self, event: dict[str, Any]) -> httpx.Response:
        """Deliver an Events API event (JSON, as Slack sends it)."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": TEAM,
                "api_app_id": APP_ID,
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return self.signed_post(body, content_type="application/json")


def block_actions_payload(
    action: dict[str, Any],
    *,
    user: str,
    channel: str | None,
    response_url: str,
    message_ts: str | None = None,
    view: dict[str, Any] | None = None,
    team: str = TEAM,
) -> dict[str, Any]:
    """The `block_actions` payload Slack sends when `user` presses `action`: in a message
    (channel + ts; no ts: an ephemeral one) or in a view (the Home)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team, "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "team_id": team},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "trigger_id": "123.456.abc",
        "response_url": response_url,
        "actions": [{"block_id": "b", "action_ts": "1700000000.000001", **action}],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        payload["view"] = view
    if channel is not None:
        payload["channel"] = {"id": channel, "name": "support"}
        if view is None:
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts or "1700000000.000100",
                "channel_id": channel,
                "is_ephemeral": message_ts is None,
            }
            payload["message"] = {"ts": message_ts or "1700000000.000100", "type": "message"}
    return payload


@contextmanager
def running_app(deps: Deps, fake: FakeSlack) -> Iterator[SlackApp]:
    """Serve `build_app(deps)` on a free loopback port; its listeners talk to `fake`.

    `deps.settings` must carry SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET and
    SLACK_API_URL=fake.base_url.
    """
    app = build_app(deps, listener_client(deps.settings))
    secret = deps.settings.slack_signing_secret
    wsgi = build_wsgi(
        app, deps.engine, signing_secret=secret.get_secret_value() if secret else None
    )
    server = make_http_server(wsgi, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SlackApp(f"http://127.0.0.1:{server.server_port}", fake)
    finally:
        server.shutdown()
        server.server_close()


def wait_for(predicate: Callable[[], bool], timeout_s: float = 10) -> None:
    """Listeners work after the ack: wait until what they do has landed."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app's Slack calls")
        time.sleep(0.02)
