"""Listeners called directly: a real WebClient on a loopback fake Slack, and a posted card."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.deps import Deps
from bot.services.pipeline import ingest_mentions
from bot.services.poster import Poster
from bot.slack.chat import SlackChat
from bot.store.db import session_scope
from tests.conftest import Clock, make_settings
from tests.factories import make_fetched, make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack


@dataclass
class Workspace:
    """Slack as the listeners see it: the fake behind it, their client and their deps."""

    fake: FakeSlack
    client: WebClient
    deps: Deps

    def post_card(self, external_id: str = "41000001", **fetched: Any) -> int:
        """Store a mention for a watch on CHANNEL and post its card; return the card id."""
        watch = make_watch(self.deps.engine)
        with session_scope(self.deps.engine) as session:
            (card,) = ingest_mentions(
                [make_fetched(external_id=external_id, **fetched)],
                watch=watch,
                authors={},
                session=session,
                now=self.deps.clock(),
            )
        assert Poster(self.deps).post_pending().posted == [card.id]
        assert card.id is not None
        return card.id


@pytest.fixture
def slack(sqlite_engine: Engine, clock: Clock) -> Iterator[Workspace]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        client = WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5)
        deps = Deps(make_settings(), sqlite_engine, SlackChat(client), {}, clock=clock)
        yield Workspace(fake, client, deps)
