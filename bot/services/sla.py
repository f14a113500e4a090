"""Response targets per priority, and who is told when a card waits too long."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.services.settings_store import read_setting, write_setting

SLA_KEY = "sla"
DEFAULT_TARGETS: dict[int, timedelta] = {
    1: timedelta(minutes=15),
    2: timedelta(hours=1),
    3: timedelta(hours=4),
    4: timedelta(days=1),
}
PRIORITIES = tuple(DEFAULT_TARGETS)
# A user group (S…) or a channel (C…, G…), as Slack spells their ids.
_CONTACT = re.compile(r"^[SCG][A-Z0-9]{2,31}$")


class SlaError(ValueError):
    """A target or contact that cannot be stored; the message says what to type instead."""


@dataclass(frozen=True)
class SlaPolicy:
    """How long each priority may wait unclaimed, and whom to escalate to (None: nobody)."""

    targets: dict[int, timedelta] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    escalate_to: str | None = None

    def target(self, priority: int | None) -> timedelta:
        """The target for a priority; a mention without one is held to the lowest."""
        return self.targets.get(priority or PRIORITIES[-1], self.targets[PRIORITIES[-1]])


def load_policy(*, session: Session) -> SlaPolicy:
    """The stored policy, the defaults filling whatever was never set."""
    stored = read_setting(SLA_KEY, session=session) or {}
    targets = dict(DEFAULT_TARGETS)
    for key, seconds in (stored.get("targets") or {}).items():
        if int(key) in targets:
            targets[int(key)] = timedelta(seconds=int(seconds))
    return SlaPolicy(targets=targets, escalate_to=stored.get("escalate_to"))


def _store(policy: SlaPolicy, *, by: str, session: Session, now: datetime) -> None:
    value = {
        "targets": {str(p): int(t.total_seconds()) for p, t in policy.targets.items()},
        "escalate_to": policy.escalate_to,
    }
    write_setting(SLA_KEY, value, by=by, session=session, now=now)


def set_target(
    priority: int, target: timedelta, *, by: str, session: Session, now: datetime
) -> SlaPolicy:
    """Change one priority's target; return the whole policy."""
    if priority not in PRIORITIES:
        raise SlaError(f"Priorities are P1 to P4, not P{priority}.")
    if not timedelta(minutes=1) <= target <= timedelta(days=30):
        raise SlaError("A response target must be between 1 minute and 30 days.")
    policy = load_policy(session=session)
    policy = SlaPolicy({**policy.targets, priority: target}, policy.escalate_to)
    _store(policy, by=by, session=session, now=now)
    return policy


def set_escalation(contact: str | None, *, by: str, session: Session, now: datetime) -> SlaPolicy:
    """Escalate to a user group (S…) or channel (C…/G…) id, or to nobody (None)."""
    if contact is not None and not _CONTACT.match(contact):
        raise SlaError(
            "Escalate to a user group (`<!subteam^S…>`) or a channel (`<#C…>`), or `none`."
        )
    policy = load_policy(session=session)
    policy = SlaPolicy(policy.targets, contact)
    _store(policy, by=by, session=session, now=now)
    return policy
