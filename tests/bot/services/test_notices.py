"""Admin notices: one per problem, counted, sent once, cleared by a post; SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.services.chat import ChatError
from bot.services.deps import Deps
from bot.services.notices import (
    clear_channel_notices,
    open_notices,
    record_notice,
    report_problem,
    send_unsent_notices,
    take_unsent,
)
from bot.slack.chat import ConsoleChat
from bot.store.db import session_scope
from bot.store.models import AdminNotice
from tests.conftest import Clock, make_settings
from tests.factories import NOW


class NoticeChat(ConsoleChat):
    """Records the notices sent; refuses the users listed in `refusing`."""

    def __init__(self, refusing: frozenset[str] = frozenset()) -> None:
        super().__init__(io.StringIO())
        self.sent: list[tuple[str, str]] = []
        self.refusing = refusing

    def send_notice(self, user_id: str, notice: AdminNotice) -> None:
        if user_id in self.refusing:
            raise ChatError("cannot_dm_bot")
        self.sent.append((user_id, notice.key))


def deps_for(engine: Engine, chat: NoticeChat, clock: Clock, admins: str = "UBOSS UDEPUTY") -> Deps:
    return Deps(make_settings(OVERHEARD_ADMINS=admins), engine, chat, {}, clock=clock)


def notices(engine: Engine) -> list[AdminNotice]:
    with session_scope(engine) as session:
        return open_notices(session=session)


def test_a_problem_is_one_notice_whose_repeats_are_counted(engine: Engine) -> None:
    with session_scope(engine) as session:
        record_notice("not_in_channel", "C0SUPPORT", session=session, now=NOW)
    with session_scope(engine) as session:
        record_notice("not_in_channel", "C0SUPPORT", session=session, now=NOW + timedelta(hours=1))
        record_notice("is_archived", "C0OLD", session=session, now=NOW)

    missing, archived = notices(engine)  # the most recent first

    assert (missing.key, missing.count, missing.first_at, missing.last_at) == (
        "not_in_channel:C0SUPPORT",
        2,
        NOW,
        NOW + timedelta(hours=1),
    )
    assert "/invite @overheard" in missing.message and "C0SUPPORT" in missing.message
    assert archived.kind == "is_archived" and "archived" in archived.message


def test_a_post_in_the_channel_clears_its_notices_only(engine: Engine) -> None:
    with session_scope(engine) as session:
        record_notice("not_in_channel", "C0SUPPORT", session=session, now=NOW)
        record_notice("ratelimited", "C0SUPPORT", session=session, now=NOW)
        record_notice("is_archived", "C0OLD", session=session, now=NOW)

    with session_scope(engine) as session:
        cleared = clear_channel_notices("C0SUPPORT", session=session, now=NOW)

    assert cleared == 2
    assert [n.key for n in notices(engine)] == ["is_archived:C0OLD"]


def test_each_admin_gets_a_notice_once_however_often_it_happens(engine: Engine) -> None:
    chat, clock = NoticeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock)

    report_problem(deps, "channel_not_found", "C0GONE")
    clock.advance(minutes=1)
    report_problem(deps, "channel_not_found", "C0GONE")
    send_unsent_notices(deps)

    assert sorted(chat.sent) == [
        ("UBOSS", "channel_not_found:C0GONE"),
        ("UDEPUTY", "channel_not_found:C0GONE"),
    ]
    assert notices(engine)[0].count == 2


def test_a_problem_back_after_a_fix_is_sent_again_unless_admins_heard_of_it_today(
    engine: Engine,
) -> None:
    chat, clock = NoticeChat(), Clock(NOW)
    deps = deps_for(engine, chat, clock, admins="UBOSS")
    report_problem(deps, "ratelimited", "C0BUSY")
    with session_scope(engine) as session:
        clear_channel_notices("C0BUSY", session=session, now=clock())

    clock.advance(hours=2)
    report_problem(deps, "ratelimited", "C0BUSY")  # back soon: shown, not sent again
    assert len(chat.sent) == 1
    assert [(n.key, n.count) for n in notices(engine)] == [("ratelimited:C0BUSY", 1)]

    with session_scope(engine) as session:
        clear_channel_notices("C0BUSY", session=session, now=clock())
    clock.advance(days=2)
    report_problem(deps, "ratelimited", "C0BUSY")  # back days later: news again
    assert chat.sent == [("UBOSS", "ratelimited:C0BUSY")] * 2


def test_with_no_admin_configured_notices_wait_for_one(engine: Engine) -> None:
    chat, clock = NoticeChat(), Clock(NOW)

    report_problem(deps_for(engine, chat, clock, admins=""), "is_archived", "C0OLD")
    assert chat.sent == []

    send_unsent_notices(deps_for(engine, chat, clock, admins="UBOSS"))
    assert chat.sent == [("UBOSS", "is_archived:C0OLD")]


def test_a_notice_is_taken_for_sending_by_one_worker(engine: Engine) -> None:
    with session_scope(engine) as session:
        record_notice("is_archived", "C0OLD", session=session, now=NOW)

    with session_scope(engine) as first, session_scope(engine) as second:
        taken = take_unsent(session=first, now=NOW)
        first.commit()
        again = take_unsent(session=second, now=NOW)

    assert [n.key for n in taken] == ["is_archived:C0OLD"]
    assert again == []


def test_an_admin_slack_refuses_does_not_stop_the_others(engine: Engine) -> None:
    chat = NoticeChat(refusing=frozenset({"UBOSS"}))

    report_problem(deps_for(engine, chat, Clock(NOW)), "not_in_channel", "C0SUPPORT")

    assert chat.sent == [("UDEPUTY", "not_in_channel:C0SUPPORT")]


@pytest.mark.parametrize("kind", ["not_in_channel", "channel_not_found", "is_archived"])
def test_every_notice_says_how_to_fix_it(engine: Engine, kind: str) -> None:
    with session_scope(engine) as session:
        notice = record_notice(kind, "C0SUPPORT", session=session, now=NOW)

    assert "C0SUPPORT" in notice.message
    assert "invite" in notice.message.lower() or "unarchive" in notice.message.lower()
