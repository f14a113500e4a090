"""HTTP mode's health check, over a real socket: it reports the database as it is right now."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.deps import Deps
from bot.slack.chat import ConsoleChat
from bot.slack.web import build_wsgi, make_http_server
from bot.store.db import make_engine
from handlers.app import build_app
from tests.conftest import make_settings
from tests.fakes.slack_api import TEST_TOKEN


@contextmanager
def serving(engine: Engine) -> Iterator[str]:
    """Serve the app over `engine` on 127.0.0.1 (a free port); yield its base URL."""
    deps = Deps(
        make_settings(SLACK_SIGNING_SECRET="secret"), engine, ConsoleChat(io.StringIO()), {}
    )
    app = build_app(deps, WebClient(token=TEST_TOKEN))
    server = make_http_server(build_wsgi(app, engine), "127.0.0.1", 0)
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
