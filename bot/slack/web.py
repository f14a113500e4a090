"""HTTP mode: Bolt's WSGI adapter on /slack/events, /healthz and /metrics (Prometheus).

In front of Bolt, `build_wsgi` refuses what is not a Slack request before reading it: a body
over `MAX_BODY_BYTES` (Slack's are a few kB) gets 413 unread, a missing or malformed
signature header 401; a body whose signature is right but whose content is not Slack's shape
gets 400, never 500. Production serves it with gunicorn (`serve`): threaded workers, idle
connections closed after a few seconds, a backlog for bursts of clicks. `make_http_server`
(the standard library's server) is for tests and local runs.
"""

from __future__ import annotations

import hmac
import io
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.services.deps import utcnow
from bot.services.metrics import CONTENT_TYPE, collect_metrics, render_prometheus

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

EVENTS_PATH = "/slack/events"
METRICS_PATH = "/metrics"
# Slack's requests are small (a block action with a large view state is tens of kB).
MAX_BODY_BYTES = 1_000_000
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


def build_wsgi(
    app: App,
    engine: Engine,
    *,
    signing_secret: str | None,
    max_body_bytes: int = MAX_BODY_BYTES,
    metrics_token: str | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> WSGIApp:
    """The WSGI app: /healthz checks the database, /metrics reports from it, /slack/events goes
    to Bolt once checked.

    Without a signing secret every Slack request is refused (401). With a `metrics_token`,
    /metrics answers only requests bearing it (`Authorization: Bearer TOKEN`).
    """
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            return _healthz(engine, start_response)
        if path == METRICS_PATH:
            if metrics_token and not _bearer_matches(environ, metrics_token):
                return _json(start_response, 401, {"ok": False, "error": "unauthorized"})
            return _metrics(engine, clock(), start_response)
        if path != EVENTS_PATH:
            return _json(start_response, 404, {"ok": False, "error": "not_found"})
        if environ.get("REQUEST_METHOD") != "POST":
            return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
        length = environ.get("CONTENT_LENGTH") or ""
        if not length.isdigit():
            return _json(start_response, 411, {"ok": False, "error": "length_required"})
        if int(length) > max_body_bytes:
            return _json(start_response, 413, {"ok": False, "error": "body_too_large"})
        timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if not _TIMESTAMP.match(timestamp) or not _SIGNATURE.match(signature):
            return _json(start_response, 401, {"ok": False, "error": "invalid_signature"})
        body = environ["wsgi.input"].read(int(length))
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:  # Slack sends UTF-8; the verifier would choke on it
            return _json(start_response, 400, {"ok": False, "error": "malformed_body"})
        if verifier is None or not verifier.is_valid(body, timestamp, signature):
            return _json(start_response, 401, {"ok": False, "error": "invalid_signature"})
        if not _slack_shaped(body, environ.get("CONTENT_TYPE", "")):
            return _json(start_response, 400, {"ok": False, "error": "malformed_body"})
        checked = {**environ, "wsgi.input": io.BytesIO(body)}
        try:
            return slack(checked, start_response)
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception("request failed (error id %s)", error_id)
            return _json(start_response, 500, {"ok": False, "error": "internal", "id": error_id})

    return wsgi


def _slack_shaped(body: bytes, content_type: str) -> bool:
    """True for what Slack sends: a JSON object, a form with a JSON-object `payload`, or a
    slash command's form."""
    try:
        decoded = body.decode("utf-8")
        if content_type.startswith("application/json"):
            return isinstance(json.loads(decoded), dict)
        form = parse_qs(decoded, keep_blank_values=True, strict_parsing=bool(decoded))
        if "payload" in form:
            (payload,) = form["payload"]
            return isinstance(json.loads(payload), dict)
        return "command" in form or "ssl_check" in form
    except (UnicodeDecodeError, ValueError):
        return False


def _healthz(engine: Engine, start_response: StartResponse) -> Iterable[bytes]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        log.exception("health check: database unreachable")
        return _json(start_response, 503, {"ok": False, "error": "database"})
    return _json(start_response, 200, {"ok": True})


def _bearer_matches(environ: dict[str, Any], token: str) -> bool:
    given = environ.get("HTTP_AUTHORIZATION", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _metrics(engine: Engine, now: datetime, start_response: StartResponse) -> Iterable[bytes]:
    try:
        with Session(engine) as session:
            body = render_prometheus(collect_metrics(session=session, now=now)).encode()
    except SQLAlchemyError:
        log.exception("metrics: database unreachable")
        return _json(start_response, 503, {"ok": False, "error": "database"})
    start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response: StartResponse, status: int, body: dict[str, object]) -> list[bytes]:
    reasons = {
        200: "OK",
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        411: "Length Required",
        413: "Payload Too Large",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {reasons[status]}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections when a burst of clicks arrives.
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def make_http_server(wsgi: WSGIApp, host: str, port: int) -> WSGIServer:
    """A threaded standard-library HTTP server for `wsgi` (port 0 picks a free one): tests."""
    return make_server(host, port, wsgi, server_class=_ThreadingServer, handler_class=_QuietHandler)


def serve(load: Callable[[], WSGIApp], host: str, port: int, *, threads: int = 32) -> None:
    """Serve the WSGI app `load()` builds with gunicorn, until SIGTERM or SIGINT.

    One worker process with `threads` threads: the app holds database pools and HTTP clients
    (built in the worker, after the fork), and a Slack app's traffic is clicks, not bulk.
    Connections idle longer than `keepalive` seconds are closed; a request that takes longer
    than `timeout` restarts the worker.
    """
    from gunicorn.app.base import BaseApplication

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": threads,
                "backlog": 2048,
                "keepalive": 5,
                "timeout": 30,
                "graceful_timeout": 20,
                "limit_request_line": 8190,
                "limit_request_fields": 100,
                "accesslog": None,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> WSGIApp:
            return load()

    _Gunicorn().run()
