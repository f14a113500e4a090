"""The poster tells admins what no retry will fix; a short rate limit it rides out stays quiet."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from bot.services.notices import open_notices
from bot.store.db import session_scope
from tests.bot.services.test_poster import CHANNEL, poster_for, queue_cards
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack


def notice_keys(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return [n.key for n in open_notices(session=session)]


@pytest.mark.parametrize("error", ["not_in_channel", "is_archived", "channel_not_found"])
def test_a_card_slack_refuses_for_the_channel_becomes_a_notice_dmed_to_admins(
    sqlite_engine: Engine, error: str
) -> None:
    queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", error=error, status=200)
        poster = poster_for(sqlite_engine, fake.base_url, [], OVERHEARD_ADMINS="UBOSS")

        poster.post_pending()

        assert notice_keys(sqlite_engine) == [f"{error}:{CHANNEL}"]
        (dm,) = fake.messages("UBOSS")
        assert CHANNEL in dm["text"]


@pytest.mark.parametrize(("retry_after", "notices"), [(3, []), (600, [f"ratelimited:{CHANNEL}"])])
def test_a_long_rate_limit_becomes_a_notice_and_a_short_one_does_not(
    sqlite_engine: Engine, retry_after: int, notices: list[str]
) -> None:
    queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", status=429, retry_after=retry_after)
        poster = poster_for(sqlite_engine, fake.base_url, [])

        poster.post_pending()  # a short wait is waited out and the card posted

        assert notice_keys(sqlite_engine) == notices


def test_other_errors_make_no_notice(sqlite_engine: Engine) -> None:
    queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", error="internal_error", status=500)
        poster = poster_for(sqlite_engine, fake.base_url, [])

        assert poster.post_pending().failed

        assert notice_keys(sqlite_engine) == []
