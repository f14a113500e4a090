"""Sending digests through the fake Slack Web API: due times, one per slot, crash repair."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.deps import Deps
from bot.services.digest import Digest, DigestKind
from bot.services.digest_delivery import (
    SLOT_LEASE,
    Outcome,
    Plan,
    due_slot,
    post_due_digests,
    send_digest,
)
from bot.services.digest_times import set_digest_time
from bot.services.notices import open_notices
from bot.slack.chat import DIGEST_EVENT_TYPE, SlackChat
from bot.store.db import session_scope
from bot.store.models import DigestSent, Watch
from tests.bot.services.test_digest import DAY, seed_week
from tests.bot.services.test_digest_chart import png_size
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

AFTER_NINE = datetime(2026, 11, 26, 9, 0, 30, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def make_deps(engine: Engine, fake: FakeSlack, clock: Clock, worker: str = "w1") -> Deps:
    client = WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5)
    return Deps(make_settings(), engine, SlackChat(client), {}, clock=clock, worker_id=worker)


def watch_channel(engine: Engine, channel: str = CHANNEL) -> None:
    with session_scope(engine) as session:
        session.add(
            Watch(query="acme", sources=["hackernews"], channel_id=channel, created_at=AFTER_NINE)
        )


def digests(fake: FakeSlack, channel: str = CHANNEL) -> list[dict[str, object]]:
    return [
        m
        for m in fake.messages(channel)
        if (m.get("metadata") or {}).get("event_type") == DIGEST_EVENT_TYPE
    ]


def test_a_due_digest_is_posted_with_its_chart_in_the_thread(
    engine: Engine, fake: FakeSlack
) -> None:
    seed_week(engine)
    watch_channel(engine)
    deps = make_deps(engine, fake, Clock(AFTER_NINE))

    (result,) = post_due_digests(deps)

    assert (result.outcome, result.first_day, result.mentions) == (Outcome.POSTED, DAY, 5)
    (message,) = digests(fake)
    assert message["text"] == (
        "Daily digest · Wed 25 Nov 2026: 5 mentions "
        "(2 negative, 1 neutral, 1 positive, 1 unknown); 2 unclaimed."
    )
    assert message["metadata"]["event_payload"] == {  # type: ignore[index]
        "channel_id": CHANNEL,
        "kind": "daily",
        "day": "2026-11-25",
        "on_demand": False,
    }
    (url_call,) = fake.calls_to("files.getUploadURLExternal")
    (complete,) = fake.calls_to("files.completeUploadExternal")
    assert url_call.args["alt_txt"].startswith("Mentions per hour over the last 7 days: 12 in all")
    assert complete.args["channel_id"] == CHANNEL
    assert complete.args["thread_ts"] == message["ts"]
    (shared,) = fake.files
    assert png_size(shared["data"]) == (1200, 600)
    assert shared["name"] == "overheard-digest-2026-11-25.png"
    (reply,) = fake.thread(CHANNEL, str(message["ts"]))
    assert reply["files"][0]["id"] == shared["id"]
    # Top mentions link to their cards through chat.getPermalink.
    assert len(fake.calls_to("chat.getPermalink")) == 4  # 3 by reach, 2 negative, 1 in both


def test_nothing_is_due_before_the_local_time_and_nothing_twice_after(
    engine: Engine, fake: FakeSlack
) -> None:
    watch_channel(engine)
    clock = Clock(datetime(2026, 11, 26, 8, 59, tzinfo=UTC))
    deps = make_deps(engine, fake, clock)

    assert post_due_digests(deps) == []
    clock.advance(minutes=1)
    assert [r.outcome for r in post_due_digests(deps)] == [Outcome.POSTED]
    clock.advance(hours=5)
    assert post_due_digests(deps) == []

    assert len(digests(fake)) == 1


def test_an_empty_day_posts_one_line_and_no_chart(engine: Engine, fake: FakeSlack) -> None:
    watch_channel(engine)

    (result,) = post_due_digests(make_deps(engine, fake, Clock(AFTER_NINE)))

    (message,) = digests(fake)
    assert message["text"] == "Daily digest · Wed 25 Nov 2026: no mentions and nothing answered."
    assert message["blocks"][1]["text"]["text"] == (  # type: ignore[index]
        "No mentions and nothing answered on Wed 25 Nov."
    )
    assert (result.outcome, result.chart) == (Outcome.POSTED, False)
    assert fake.calls_to("files.getUploadURLExternal") == []


def test_two_workers_at_once_post_one_digest(engine: Engine, fake: FakeSlack) -> None:
    seed_week(engine)
    watch_channel(engine)
    clock = Clock(AFTER_NINE)
    workers = [make_deps(engine, fake, clock, worker=f"w{i}") for i in (1, 2)]
    fake.delays["chat.postMessage"] = 0.3  # both are inside the send at once
    start = threading.Barrier(2)
    outcomes: list[Outcome] = []

    def run(deps: Deps) -> None:
        start.wait()
        outcomes.extend(r.outcome for r in post_due_digests(deps))

    threads = [threading.Thread(target=run, args=(deps,)) for deps in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(digests(fake)) == 1
    assert len(fake.files) == 1
    assert Outcome.POSTED in outcomes and outcomes.count(Outcome.POSTED) == 1
    with session_scope(engine) as session:
        (row,) = session.exec(select(DigestSent)).all()
    assert (row.channel_id, row.kind, row.day) == (CHANNEL, "daily", DAY)
    assert row.message_ts == digests(fake)[0]["ts"]


class Crash(BaseException):
    """The process dies: nothing after this point runs."""


class CrashAfterPosting(SlackChat):
    """Posts the digest to Slack, then the process dies before it can record the ts."""

    def post_digest(self, digest: Digest, *, on_demand: bool = False) -> str:
        super().post_digest(digest, on_demand=on_demand)
        raise Crash


def test_a_crash_between_posting_and_recording_is_repaired_without_a_second_post(
    engine: Engine, fake: FakeSlack
) -> None:
    seed_week(engine)
    watch_channel(engine)
    clock = Clock(AFTER_NINE)
    deps = make_deps(engine, fake, clock)
    crashing = replace(deps, chat=CrashAfterPosting(deps.chat.client))  # type: ignore[attr-defined]

    with pytest.raises(Crash):
        post_due_digests(crashing)
    assert post_due_digests(deps) == []  # the dead worker's lease still holds the slot
    clock.advance(seconds=SLOT_LEASE.total_seconds() + 1)
    (result,) = post_due_digests(replace(deps, worker_id="w2"))

    assert result.outcome is Outcome.ADOPTED
    (message,) = digests(fake)
    assert result.ts == message["ts"]
    assert len(fake.files) == 1  # the chart the crash kept from going out
    clock.advance(hours=1)
    assert post_due_digests(deps) == []
    assert len(digests(fake)) == 1


def test_a_chart_that_failed_is_sent_on_the_next_tick_without_a_second_message(
    engine: Engine, fake: FakeSlack
) -> None:
    seed_week(engine)
    watch_channel(engine)
    clock = Clock(AFTER_NINE)
    deps = make_deps(engine, fake, clock)
    fake.fail_next("files.completeUploadExternal", status=200, error="not_in_channel")

    (first,) = post_due_digests(deps)
    clock.advance(minutes=1)
    (second,) = post_due_digests(deps)

    assert (first.outcome, first.error) == (Outcome.FAILED, "not_in_channel")
    assert (second.outcome, second.chart) == (Outcome.CHART_ONLY, True)
    assert len(digests(fake)) == 1
    assert len(fake.files) == 1


def test_on_demand_posts_again_and_leaves_the_scheduled_slot_alone(
    engine: Engine, fake: FakeSlack
) -> None:
    seed_week(engine)
    watch_channel(engine)
    clock = Clock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    deps = make_deps(engine, fake, clock)

    first = send_digest(deps, CHANNEL)
    again = send_digest(deps, CHANNEL, date(2026, 11, 24))
    clock.advance(hours=1)
    (scheduled,) = post_due_digests(deps)

    assert (first.first_day, first.mentions, first.outcome) == (DAY, 5, Outcome.POSTED)
    assert (again.first_day, again.mentions) == (date(2026, 11, 24), 2)
    assert scheduled.outcome is Outcome.POSTED  # not "adopted": an on-demand one isn't it
    payloads = [m["metadata"]["event_payload"] for m in digests(fake)]  # type: ignore[index]
    assert [(p["day"], p["on_demand"]) for p in payloads] == [
        ("2026-11-25", True),
        ("2026-11-24", True),
        ("2026-11-25", False),
    ]


def test_a_channels_own_schedule_sets_its_time_zone_and_weekly_digest(
    engine: Engine, fake: FakeSlack
) -> None:
    seed_week(engine)
    with session_scope(engine) as session:
        set_digest_time(
            CHANNEL,
            "08:30",
            "America/New_York",
            weekly=True,
            by="UADMIN",
            session=session,
            now=AFTER_NINE,
        )
    monday = Clock(datetime(2026, 11, 23, 13, 29, tzinfo=UTC))  # 08:29 in New York
    deps = make_deps(engine, fake, monday)

    assert post_due_digests(deps) == []
    monday.advance(minutes=1)
    (result,) = post_due_digests(deps)

    assert (result.kind, result.first_day) == (DigestKind.WEEKLY, date(2026, 11, 16))
    assert digests(fake)[0]["text"].startswith(  # type: ignore[union-attr]
        "Weekly digest · Mon 16 Nov – Sun 22 Nov 2026:"
    )


@pytest.mark.parametrize(
    ("at", "now", "slot"),
    [
        # Berlin, the spring-forward day: 09:00 CEST is 07:00 UTC.
        (time(9), datetime(2026, 3, 29, 6, 59, tzinfo=UTC), None),
        (time(9), datetime(2026, 3, 29, 7, 0, tzinfo=UTC), date(2026, 3, 28)),
        # 02:30 doesn't exist that day: due once the clock has jumped to 03:00.
        (time(2, 30), datetime(2026, 3, 29, 0, 59, tzinfo=UTC), None),
        (time(2, 30), datetime(2026, 3, 29, 1, 0, tzinfo=UTC), date(2026, 3, 28)),
        # The fall-back day: 09:00 CET is 08:00 UTC.
        (time(9), datetime(2026, 10, 25, 7, 59, tzinfo=UTC), None),
        (time(9), datetime(2026, 10, 25, 8, 0, tzinfo=UTC), date(2026, 10, 24)),
    ],
)
def test_the_local_time_is_kept_across_dst_changes(
    at: time, now: datetime, slot: date | None
) -> None:
    due = due_slot(Plan(CHANNEL, at, "Europe/Berlin"), now)

    assert due == (None if slot is None else (DigestKind.DAILY, slot))


def test_the_digest_waits_for_its_time_in_the_workspace_zone(
    engine: Engine, fake: FakeSlack
) -> None:
    watch_channel(engine)
    clock = Clock(datetime(2026, 11, 26, 7, 59, tzinfo=UTC))  # 08:59 in Berlin
    deps = replace(
        make_deps(engine, fake, clock), settings=make_settings(OVERHEARD_TIMEZONE="Europe/Berlin")
    )

    assert post_due_digests(deps) == []
    clock.advance(minutes=1)
    assert [r.first_day for r in post_due_digests(deps)] == [DAY]


def test_a_channel_the_bot_was_removed_from_is_an_admin_notice_and_retried(
    engine: Engine, fake: FakeSlack
) -> None:
    watch_channel(engine)
    deps = make_deps(engine, fake, Clock(AFTER_NINE))
    fake.fail_next("chat.postMessage", error="is_archived", status=200)

    (failed,) = post_due_digests(deps)

    assert failed.outcome == Outcome.FAILED and failed.error == "is_archived"
    with session_scope(engine) as session:
        assert [(n.kind, n.channel_id) for n in open_notices(session=session)] == [
            ("is_archived", CHANNEL)
        ]
    (posted,) = post_due_digests(deps)  # unarchived: the slot was freed, the digest goes out
    assert posted.outcome == Outcome.POSTED and len(digests(fake)) == 1
