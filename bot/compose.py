"""The composition root: from Settings to an engine, HTTP clients, sources and a chat backend.

Everything long-lived is built here, once, and closed here: `open_deps` and `open_engine`
are context managers, so no command leaks a client or a connection pool on its way out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from typing import TextIO

import httpx
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError, OperationalError

from bot.config import Settings
from bot.failures import SetupError, database_unreachable
from bot.services.deps import Deps, utcnow
from bot.slack.chat import ConsoleChat, SlackChat
from bot.slack.clients import poster_client
from bot.sources import REGISTRY, Registry, build_sources
from bot.sources.base import Source
from bot.sources.netsafe import guarded_transport
from bot.sources.sample import SAMPLE, SampleSource
from bot.store import migrate
from bot.store.db import make_engine

HTTP_TIMEOUT_S = 20.0
USER_AGENT = "overheard/0.1 (brand-mention monitor; +https://github.com/overheard)"
HTTP_MAX_CONNECTIONS = 64
HTTP_MAX_KEEPALIVE = 32


def make_http_client(*, guarded: bool = False) -> httpx.Client:
    """An HTTP client for the networks: timeouts, a descriptive User-Agent, no auto-redirects.

    `guarded` clients connect only to public addresses, for URLs users give us (feeds).
    """
    limits = httpx.Limits(
        max_connections=HTTP_MAX_CONNECTIONS, max_keepalive_connections=HTTP_MAX_KEEPALIVE
    )
    return httpx.Client(
        timeout=httpx.Timeout(HTTP_TIMEOUT_S),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        limits=limits,
        transport=guarded_transport(limits=limits) if guarded else None,
    )


@contextmanager
def open_engine(settings: Settings) -> Iterator[Engine]:
    """The database engine, disposed of on the way out; SetupError when it can't connect."""
    try:
        engine = make_engine(settings.database_url)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        url = make_url(settings.database_url)
        raise SetupError(
            f"DATABASE_URL asks for the {url.drivername} driver, which is not installed: "
            "write sqlite:///… or postgresql://… to use the drivers overheard ships with"
        ) from exc
    try:
        try:
            engine.connect().close()
        except OperationalError as exc:
            raise database_unreachable(engine.url, exc.orig) from exc
        yield engine
    finally:
        engine.dispose()


@contextmanager
def open_sources(
    settings: Settings,
    *,
    networks: Registry = REGISTRY,
    clock: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[dict[str, Source]]:
    """Every network's source, on HTTP clients closed on the way out."""
    with (
        make_http_client() as http,
        make_http_client(guarded=not settings.allow_private_urls) as feeds,
    ):
        yield build_sources(
            settings, http, feed_http=feeds, sleep=sleep, clock=clock, networks=networks
        )


@contextmanager
def open_deps(settings: Settings, *, console: TextIO | None = None) -> Iterator[Deps]:
    """Everything the services need; cards go to `console` when given, else to Slack."""
    with ExitStack() as stack:
        engine = stack.enter_context(open_engine(settings))
        sources = stack.enter_context(open_sources(settings))
        if console is not None:
            # A terminal has no rate limit: show the cards as fast as they come.
            yield Deps(
                settings,
                engine,
                ConsoleChat(console),
                {**sources, SAMPLE.key: SampleSource()},
                pace_posts=False,
            )
        else:
            yield Deps(settings, engine, SlackChat(poster_client(settings)), sources)


def require_schema(settings: Settings) -> None:
    """Raise SetupError, saying to run `overheard db upgrade`, unless the schema is current."""
    with open_engine(settings) as engine:
        if migrate.is_current(engine):
            return
        if migrate.is_empty(engine):
            raise SetupError("the database has no tables yet: run `overheard db upgrade` first")
        raise SetupError("the database is not up to date: run `overheard db upgrade` first")
