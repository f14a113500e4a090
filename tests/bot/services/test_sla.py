"""Response targets: one reminder, one escalation, only for unclaimed cards, once across workers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.cards import (
    CardAction,
    SnoozePeriod,
    apply_card_action,
    events_for,
    snooze_card,
    wake_card,
)
from bot.services.deps import Deps
from bot.services.notices import open_notices
from bot.services.pipeline import ingest_mentions
from bot.services.scheduler import remind_overdue_cards
from bot.services.sla import SlaReport, remind_overdue, set_escalation, set_target
from bot.slack.chat import SlackChat
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Mention
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL, NOW, get_card, make_fetched, make_posted_card, make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

LEADS = "C0LEADS"
GROUP = "S0SUPPORT"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TEST_TOKEN) as server:
        yield server


def chat_for(fake: FakeSlack) -> SlackChat:
    """A chat backend as a worker builds it: a real WebClient, here on the fake."""
    return SlackChat(WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5))


def posted_card(
    engine: Engine, *, priority: int | None = 2, external_id: str = "41000001", **fetched: object
) -> int:
    """A card posted at NOW in CHANNEL with its own ts, its mention of `priority`."""
    cid = make_posted_card(engine, external_id=external_id, **fetched)
    with session_scope(engine) as session:
        card = session.get(Card, cid)
        assert card is not None
        mention = session.get(Mention, card.mention_id)
        assert mention is not None
        mention.priority = priority
        card.message_ts = card.thread_ts = ts_of(cid)
        session.add_all([card, mention])
    return cid


def ts_of(cid: int) -> str:
    return f"1700000000.{cid:06d}"


def thread_texts(fake: FakeSlack, cid: int) -> list[str]:
    return [m["text"] for m in fake.thread(CHANNEL, ts_of(cid))]


def tick(engine: Engine, fake: FakeSlack, **after: float) -> SlaReport:
    """One pass of the SLA job, `after` (timedelta arguments) the cards were posted."""
    return remind_overdue(chat_for(fake), engine=engine, now=NOW + timedelta(**after))


def escalate_to(engine: Engine, contact: str | None) -> None:
    with session_scope(engine) as session:
        set_escalation(contact, by="UADMIN", session=session, now=NOW)


def kinds(engine: Engine, cid: int) -> list[str]:
    with session_scope(engine) as session:
        return [e.kind for e in events_for(cid, session=session)]


def act(engine: Engine, cid: int, action: CardAction, **after: float) -> None:
    with session_scope(engine) as session:
        apply_card_action(
            cid,
            action,
            "UALICE",
            channel_id=CHANNEL,
            session=session,
            now=NOW + timedelta(**after),
        )


def test_a_card_past_its_target_gets_one_reminder_in_its_thread(
    engine: Engine, fake: FakeSlack
) -> None:
    cid = posted_card(engine, priority=2)

    early = tick(engine, fake, minutes=59)
    assert early.reminded == [] and thread_texts(fake, cid) == []

    assert tick(engine, fake, hours=1, minutes=5).reminded == [cid]
    for minutes in (66, 90, 119, 180):
        assert tick(engine, fake, minutes=minutes) == SlaReport()

    (reminder,) = thread_texts(fake, cid)
    assert reminder.startswith("⏰ Waiting 1 h 5 min, past the P2 response target of 1 h.")
    assert "Claim it to take it on" in reminder
    assert "/overheard sla escalate" in reminder  # nobody to escalate to: says how to set one
    assert fake.messages(CHANNEL) == []  # in the thread only
    assert kinds(engine, cid).count("reminded") == 1
    assert get_card(engine, cid).reminded_at == NOW + timedelta(hours=1, minutes=5)


def test_past_twice_the_target_the_user_group_is_called_once_in_thread_and_channel(
    engine: Engine, fake: FakeSlack
) -> None:
    cid = posted_card(engine, priority=2)
    escalate_to(engine, GROUP)

    tick(engine, fake, hours=1)
    assert tick(engine, fake, hours=1, minutes=59).escalated == []
    assert tick(engine, fake, hours=2, minutes=3).escalated == [cid]
    assert tick(engine, fake, hours=3) == SlaReport()

    reminder, escalation = thread_texts(fake, cid)
    assert "it is escalated" in reminder and GROUP not in reminder  # the group isn't pinged yet
    assert escalation.startswith(f"🚨 <!subteam^{GROUP}> this has waited 2 h 3 min unclaimed")
    assert [m["text"] for m in fake.messages(CHANNEL)] == [escalation]  # shown in the channel
    assert kinds(engine, cid)[-2:] == ["reminded", "escalated"]


def test_an_escalation_channel_gets_a_link_to_the_card_and_its_summary_escaped(
    engine: Engine, fake: FakeSlack
) -> None:
    cid = posted_card(
        engine, priority=1, text="<!channel> Acme charged me twice & <https://evil.example|here>"
    )
    escalate_to(engine, LEADS)

    tick(engine, fake, minutes=15)
    tick(engine, fake, minutes=31)
    tick(engine, fake, minutes=45)

    (message,) = fake.messages(LEADS)
    link = f"https://fake-workspace.slack.com/archives/{CHANNEL}/p{ts_of(cid).replace('.', '')}"
    assert f"<{link}|this card> in <#{CHANNEL}> has waited 31 min unclaimed" in message["text"]
    assert "twice the P1 response target of 15 min" in message["text"]
    escaped = "&lt;!channel&gt; Acme charged me twice &amp; &lt;https://evil.example|here&gt;"
    assert escaped in message["text"]
    assert "<!channel>" not in str(message["blocks"])
    assert len(thread_texts(fake, cid)) == 1  # the reminder; the escalation went to the leads
    assert fake.calls_to("chat.postMessage")[-1].args["unfurl_links"] in (False, "false", "0")


@pytest.mark.parametrize("action", [CardAction.CLAIM, CardAction.RESOLVE, CardAction.DISMISS])
def test_claimed_and_closed_cards_are_never_reminded(
    engine: Engine, fake: FakeSlack, action: CardAction
) -> None:
    cid = posted_card(engine, priority=1)
    escalate_to(engine, GROUP)
    act(engine, cid, action, minutes=5)

    for minutes in (15, 30, 60):
        assert tick(engine, fake, minutes=minutes) == SlaReport()

    assert fake.calls_to("chat.postMessage") == []
    assert "reminded" not in kinds(engine, cid)


def test_snoozed_and_queued_cards_are_never_reminded(engine: Engine, fake: FakeSlack) -> None:
    snoozed = posted_card(engine, priority=1)
    with session_scope(engine) as session:
        snooze_card(snoozed, "UALICE", SnoozePeriod.DAY, session=session, now=NOW)
    watch = make_watch(engine)
    with session_scope(engine) as session:  # never posted: Slack refuses it, say
        (queued,) = ingest_mentions(
            [make_fetched(external_id="41000099")],
            watch=watch,
            authors={},
            session=session,
            now=NOW,
        )

    for hours in (1, 2, 12):
        assert tick(engine, fake, hours=hours) == SlaReport()

    assert fake.calls_to("chat.postMessage") == []
    assert get_card(engine, queued.id or 0).state == CardState.QUEUED


def test_a_card_claimed_after_its_reminder_is_not_escalated(
    engine: Engine, fake: FakeSlack
) -> None:
    cid = posted_card(engine, priority=2)
    escalate_to(engine, GROUP)

    tick(engine, fake, hours=1)
    act(engine, cid, CardAction.CLAIM, hours=1, minutes=30)
    assert tick(engine, fake, hours=2, minutes=1) == SlaReport()

    assert len(thread_texts(fake, cid)) == 1
    assert fake.messages(CHANNEL) == []
    assert "escalated" not in kinds(engine, cid)


def test_each_priority_has_its_own_target_and_a_changed_target_is_honoured(
    engine: Engine, fake: FakeSlack
) -> None:
    p1 = posted_card(engine, priority=1, external_id="1")
    p3 = posted_card(engine, priority=3, external_id="3")
    unscored = posted_card(engine, priority=None, external_id="4")  # held to P4's day

    assert tick(engine, fake, minutes=20).reminded == [p1]
    with session_scope(engine) as session:
        set_target(3, timedelta(minutes=30), by="UADMIN", session=session, now=NOW)
    assert tick(engine, fake, minutes=29).reminded == []
    assert tick(engine, fake, minutes=30).reminded == [p3]
    assert tick(engine, fake, hours=23, minutes=59).reminded == []
    assert tick(engine, fake, days=1).reminded == [unscored]

    assert "P3 response target of 30 min" in thread_texts(fake, p3)[0]
    assert "P4 response target of 1 d" in thread_texts(fake, unscored)[0]


def test_nothing_is_sent_again_after_a_restart(engine: Engine, fake: FakeSlack) -> None:
    cid = posted_card(engine, priority=2)
    escalate_to(engine, GROUP)
    remind_overdue(chat_for(fake), engine=engine, now=NOW + timedelta(hours=2))
    sent = len(fake.calls_to("chat.postMessage"))

    # A new worker process: new client and backend, the same database.
    restarted = chat_for(fake)
    report = remind_overdue(restarted, engine=engine, now=NOW + timedelta(hours=2, minutes=1))

    assert sent == 2 and len(thread_texts(fake, cid)) == 2  # reminder, then escalation
    assert report == SlaReport()
    assert len(fake.calls_to("chat.postMessage")) == sent


def test_two_workers_send_each_reminder_and_escalation_once(
    engine: Engine, fake: FakeSlack
) -> None:
    cids = [posted_card(engine, priority=2, external_id=str(i)) for i in range(3)]
    escalate_to(engine, GROUP)
    barrier = threading.Barrier(2)

    def worker(_: int) -> SlaReport:
        chat = chat_for(fake)  # each worker its own client
        barrier.wait()
        return remind_overdue(chat, engine=engine, now=NOW + timedelta(hours=2))

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(worker, range(2))

    assert sorted(first.reminded + second.reminded) == cids
    assert sorted(first.escalated + second.escalated) == cids
    for cid in cids:
        reminder, escalation = thread_texts(fake, cid)
        assert reminder.startswith("⏰") and escalation.startswith("🚨")
        assert kinds(engine, cid).count("reminded") == kinds(engine, cid).count("escalated") == 1
    assert len(fake.calls_to("chat.postMessage")) == 6


def test_a_reminder_slack_refuses_is_sent_on_the_next_tick_once(
    engine: Engine, fake: FakeSlack
) -> None:
    cid = posted_card(engine, priority=2)
    fake.fail_next("chat.postMessage", error="internal_error", status=500)

    failed = tick(engine, fake, hours=1)
    assert failed.failed == [cid] and failed.reminded == []
    assert thread_texts(fake, cid) == []
    assert get_card(engine, cid).reminded_at is None
    assert "reminded" not in kinds(engine, cid)

    assert tick(engine, fake, hours=1, minutes=1).reminded == [cid]
    assert tick(engine, fake, hours=1, minutes=2) == SlaReport()
    assert len(thread_texts(fake, cid)) == 1
    assert kinds(engine, cid).count("reminded") == 1


def test_an_escalation_slack_refuses_is_retried_and_sent_once(
    engine: Engine, fake: FakeSlack
) -> None:
    cid = posted_card(engine, priority=2)
    escalate_to(engine, LEADS)
    tick(engine, fake, hours=1)
    fake.fail_next("chat.postMessage", error="internal_error", status=500)

    assert tick(engine, fake, hours=2).failed == [cid]
    assert fake.messages(LEADS) == [] and get_card(engine, cid).escalated_at is None
    assert tick(engine, fake, hours=2, minutes=1).escalated == [cid]
    assert tick(engine, fake, hours=2, minutes=2) == SlaReport()
    assert len(fake.messages(LEADS)) == 1


def test_a_rate_limited_pass_stops_and_the_rest_follow_on_the_next_tick(
    engine: Engine, fake: FakeSlack
) -> None:
    cids = [posted_card(engine, priority=2, external_id=str(i)) for i in range(3)]
    fake.fail_next("chat.postMessage", status=429, retry_after=5)

    first = tick(engine, fake, hours=1)
    second = tick(engine, fake, hours=1, minutes=1)

    assert first.reminded == [] and len(first.failed) == 1  # Slack said wait: the pass stops
    assert second.reminded == cids
    assert all(len(thread_texts(fake, cid)) == 1 for cid in cids)


def test_a_woken_card_starts_a_fresh_wait_with_its_own_reminder(
    engine: Engine, fake: FakeSlack
) -> None:
    cid = posted_card(engine, priority=2)
    escalate_to(engine, GROUP)
    tick(engine, fake, hours=1)
    with session_scope(engine) as session:
        snooze_card(
            cid, "UALICE", SnoozePeriod.HOUR, session=session, now=NOW + timedelta(minutes=70)
        )
    with session_scope(engine) as session:
        assert wake_card(cid, session=session, now=NOW + timedelta(minutes=130)) is not None

    # Past twice the target since it was posted, but only 10 minutes into its new wait.
    assert tick(engine, fake, minutes=140) == SlaReport()
    assert tick(engine, fake, minutes=190).reminded == [cid]
    assert tick(engine, fake, minutes=250).escalated == [cid]

    texts = thread_texts(fake, cid)
    assert len(texts) == 3
    assert texts[1].startswith("⏰ Waiting 1 h, past the P2 response target of 1 h.")
    assert kinds(engine, cid).count("reminded") == 2


def test_a_reopened_card_is_reminded_again(engine: Engine, fake: FakeSlack) -> None:
    cid = posted_card(engine, priority=1)
    tick(engine, fake, minutes=15)
    act(engine, cid, CardAction.RESOLVE, minutes=20)
    act(engine, cid, CardAction.REOPEN, hours=3)

    assert tick(engine, fake, hours=3, minutes=14) == SlaReport()
    assert tick(engine, fake, hours=3, minutes=15).reminded == [cid]
    assert len(thread_texts(fake, cid)) == 2


def test_a_card_forgotten_long_ago_is_left_alone(engine: Engine, fake: FakeSlack) -> None:
    posted_card(engine, priority=1)  # past twice its 15 min more than a day ago

    assert tick(engine, fake, days=1, minutes=31) == SlaReport()
    assert fake.calls_to("chat.postMessage") == []


def test_an_escalation_channel_the_bot_is_not_in_becomes_an_admin_notice(
    engine: Engine, fake: FakeSlack
) -> None:
    posted_card(engine, priority=2)
    escalate_to(engine, LEADS)
    clock = Clock(NOW + timedelta(hours=1, minutes=1))
    deps = Deps(make_settings(OVERHEARD_ADMINS="UADMIN"), engine, chat_for(fake), {}, clock=clock)
    remind_overdue_cards(deps)  # the reminder, in the card's own channel
    clock.advance(hours=1)
    fake.fail_next("chat.postMessage", error="not_in_channel", status=200)

    remind_overdue_cards(deps)  # the escalation into #leads: overheard is not a member

    with session_scope(engine) as session:
        notices = [(n.kind, n.channel_id) for n in open_notices(session=session)]
    assert notices == [("not_in_channel", LEADS)]
    (dm,) = [c.args for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "UADMIN"]
    assert "/invite @overheard" in dm["text"] and LEADS in dm["text"]
