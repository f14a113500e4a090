"""HTTP mode's health check, over a real socket: it reports the database as it is right now."""

from __future__ import annotations

import hashlib
import hmac
import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.deps import Deps
from bot.slack.chat import ConsoleChat
from bot.slack.web import build_wsgi, make_http_server
from bot.store import migrate
from bot.store.db import make_engine
from handlers.app import build_app
from tests.bot.services.test_metrics import parse_exposition
from tests.conftest import make_settings
from tests.factories import make_posted_card
from tests.fakes.slack_api import TEST_TOKEN

FORM = "application/x-www-form-urlencoded"
SECRET = "secret"


@contextmanager
def serving(engine: Engine) -> Iterator[str]:
    """Serve the app over `engine` on 127.0.0.1 (a free port); yield its base URL."""
    deps = Deps(
        make_settings(SLACK_SIGNING_SECRET="secret"), engine, ConsoleChat(io.StringIO()), {}
    )
    app = build_app(deps, WebClient(token=TEST_TOKEN))
    server = make_http_server(build_wsgi(app, engine, signing_secret="secret"), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_healthz_is_503_while_the_database_is_unreachable_and_200_once_it_is_back(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "not-mounted-yet"
    engine = make_engine(f"sqlite:///{missing / 'overheard.db'}")

    with serving(engine) as url:
        down = httpx.get(f"{url}/healthz", timeout=10)
        missing.mkdir()
        up = httpx.get(f"{url}/healthz", timeout=10)
    engine.dispose()

    assert (down.status_code, down.json()) == (503, {"ok": False, "error": "database"})
    assert down.headers["content-type"] == "application/json"
    assert (up.status_code, up.json()) == (200, {"ok": True})


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{url}/slack/events", content=body, headers=headers, timeout=10)


def _signed(body: bytes, *, content_type: str, secret: str = SECRET) -> dict[str, str]:
    """Slack's signature over the raw bytes (whatever they are)."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    signature = "v0=" + digest.hexdigest()
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"x-slack-request-timestamp": "abc", "x-slack-signature": "v0=" + "0" * 64},
        {
            "x-slack-request-timestamp": "1700000000, 1700000001",
            "x-slack-signature": "v0=" + "0" * 64,
        },
        {"x-slack-request-timestamp": "1700000000"},
        {"x-slack-request-timestamp": "1700000000", "x-slack-signature": "sha1=abc"},
        {},
    ],
    ids=["timestamp-abc", "timestamp-twice", "no-signature", "odd-signature", "no-headers"],
)
def test_header_junk_is_refused_with_401_never_500(
    sqlite_engine: Engine, headers: dict[str, str]
) -> None:
    with serving(sqlite_engine) as url:
        response = _post(url, b"payload=%7B%7D", {"content-type": FORM, **headers})
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error": "invalid_signature"}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%7Bnot-json", FORM),
        (b"payload=%5B%5D", FORM),  # payload=[]
        (b"payload=null", FORM),
        (b"[]", "application/json"),
        (b"null", "application/json"),
        (b"\xff\xfe", FORM),
        (b"just=some&form=fields", FORM),
    ],
    ids=["not-json", "list", "null", "json-list", "json-null", "not-utf8", "no-payload"],
)
def test_a_signed_body_that_is_not_slacks_shape_is_a_400(
    sqlite_engine: Engine, body: bytes, content_type: str
) -> None:
    with serving(sqlite_engine) as url:
        response = _post(url, body, _signed(body, content_type=content_type))
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "malformed_body"}


def test_a_huge_body_is_refused_before_it_is_read(sqlite_engine: Engine) -> None:
    with serving(sqlite_engine) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            # Announce 200 MB, send none of it: the answer comes without waiting for the body.
            conn.sendall(
                b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 200000000\r\n\r\n"
            )
            answer = b""
            while chunk := conn.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.0 413") or answer.startswith(b"HTTP/1.1 413")
    assert b"body_too_large" in answer


def test_a_forged_signature_is_a_401(sqlite_engine: Engine) -> None:
    body = b"payload=%7B%7D"
    with serving(sqlite_engine) as url:
        response = _post(url, body, _signed(body, content_type=FORM, secret="not-it"))
    assert response.status_code == 401


def test_metrics_are_served_in_the_prometheus_text_format(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'overheard.db'}")
    migrate.upgrade(engine)
    make_posted_card(engine)

    with serving(engine) as url:
        response = httpx.get(f"{url}/metrics", timeout=10)
    engine.dispose()

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    types, samples = parse_exposition(response.text)
    assert types["overheard_queue_depth"] == "gauge"
    assert samples[("overheard_cards", frozenset({("state", "posted")}))] == 1


def test_metrics_with_a_token_answer_only_requests_bearing_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'overheard.db'}")
    migrate.upgrade(engine)
    app = build_app(
        Deps(make_settings(), engine, ConsoleChat(io.StringIO()), {}), WebClient(token=TEST_TOKEN)
    )
    wsgi = build_wsgi(app, engine, signing_secret=SECRET, metrics_token="scrape-me")
    server = make_http_server(wsgi, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/metrics"
    try:
        anonymous = httpx.get(url, timeout=10)
        wrong = httpx.get(url, headers={"authorization": "Bearer guess"}, timeout=10)
        right = httpx.get(url, headers={"authorization": "Bearer scrape-me"}, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()

    assert (anonymous.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "overheard_queue_depth 0" in right.text.splitlines()
