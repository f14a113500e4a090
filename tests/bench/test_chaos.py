"""Workers killed with SIGKILL while mentions flow: after a restart, each is posted once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.chaos import run_chaos
from tests.conftest import POSTGRES_URL, postgres_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (a fresh SQLite file), or a PostgreSQL URL on a schema of its own."""
    if request.param == "sqlite":
        yield None
        return
    for schema in postgres_schema():
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


def test_twelve_kills_while_120_mentions_flow_lose_none_and_post_none_twice(
    database_url: str | None,
) -> None:
    result = run_chaos(mentions=120, kills=12, database_url=database_url)

    assert (result.lost, result.doubled) == (0, 0)
    # SIGTERM stopped the last worker through its handler, which gave back what it held.
    assert result.stopped_cleanly and result.leases_left == 0
