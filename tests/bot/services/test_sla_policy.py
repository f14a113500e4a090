"""SLA targets and the escalation contact: defaults, changes, refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from bot.services.sla import SlaError, load_policy, set_escalation, set_target
from bot.store.db import session_scope
from tests.factories import NOW


def test_defaults_are_fifteen_minutes_to_a_day(engine: Engine) -> None:
    with session_scope(engine) as session:
        policy = load_policy(session=session)
    assert [policy.target(p) for p in (1, 2, 3, 4)] == [
        timedelta(minutes=15),
        timedelta(hours=1),
        timedelta(hours=4),
        timedelta(days=1),
    ]
    assert policy.target(None) == timedelta(days=1) and policy.escalate_to is None


def test_a_changed_target_and_contact_are_kept(engine: Engine) -> None:
    with session_scope(engine) as session:
        set_target(2, timedelta(minutes=30), by="UADMIN", session=session, now=NOW)
        set_escalation("S0SUPPORT", by="UADMIN", session=session, now=NOW)
    with session_scope(engine) as session:
        policy = load_policy(session=session)
    assert policy.target(2) == timedelta(minutes=30)
    assert policy.target(1) == timedelta(minutes=15)
    assert policy.escalate_to == "S0SUPPORT"


@pytest.mark.parametrize(
    ("priority", "target"), [(5, timedelta(hours=1)), (1, timedelta(seconds=5))]
)
def test_nonsense_targets_are_refused(engine: Engine, priority: int, target: timedelta) -> None:
    with session_scope(engine) as session, pytest.raises(SlaError):
        set_target(priority, target, by="UADMIN", session=session, now=NOW)


def test_a_contact_must_be_a_group_or_a_channel(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(SlaError, match="user group"):
        set_escalation("UALICE", by="UADMIN", session=session, now=NOW)
