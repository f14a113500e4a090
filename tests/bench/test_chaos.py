"""Workers killed with SIGKILL while mentions flow: after a restart, each is posted once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from bench.chaos import run_chaos
from bot.store.db import make_engine
from tests.conftest import IN_CI, POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (a fresh SQLite file), or a PostgreSQL URL on a schema of its own."""
    if request.param == "sqlite":
        yield None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({exc.__class__.__name__})")
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_twelve_kills_while_120_mentions_flow_lose_none_and_post_none_twice(
    database_url: str | None,
) -> None:
    result = run_chaos(mentions=120, kills=12, database_url=database_url)

    assert (result.lost, result.doubled) == (0, 0)
    # SIGTERM stopped the last worker through its handler, which gave back what it held.
    assert result.stopped_cleanly and result.leases_left == 0
