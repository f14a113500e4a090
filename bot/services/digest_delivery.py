"""Sending digests: when each channel's is due, once per slot, and on demand.

A scheduled digest's slot (channel, kind, first local day) is claimed by inserting its
`DigestSent` row before anything is posted, so two workers can't both post it. The row
holds a lease; a worker that dies mid-send leaves the lease to run out, and the next one
looks for the message in Slack (its metadata names the slot) before posting again.

On demand (`overheard digest send`, `/overheard digest now`) a digest is always posted and
claims no slot: asking again posts again, and the scheduled digest still goes out. Its
metadata marks it on demand, so it is never mistaken for the scheduled one.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.services.chat import ChatError
from bot.services.deps import Deps
from bot.services.digest import Digest, DigestKind, compute_digest, digest_period
from bot.services.notices import NOTICE_KINDS, report_problem
from bot.store.db import session_scope
from bot.store.models import DigestSchedule, DigestSent, Watch

log = logging.getLogger(__name__)

DEFAULT_AT = time(9, 0)
# How long a worker holds a slot it is sending; a crashed worker's slot frees up after it.
SLOT_LEASE = timedelta(minutes=5)
MAX_SLOT_ATTEMPTS = 5


class Outcome(enum.StrEnum):
    """What became of a request to send a digest."""

    POSTED = "posted"
    ADOPTED = "adopted"  # a crashed send had posted it: found in Slack, recorded, not re-sent
    CHART_ONLY = "chart only"  # the message was out; only its chart was still missing
    ALREADY_SENT = "already sent"
    BUSY = "busy"  # another worker holds the slot
    FAILED = "failed"


@dataclass(frozen=True)
class DigestResult:
    """One digest request's outcome, for the CLI, the slash command and the logs."""

    channel_id: str
    kind: DigestKind
    first_day: date
    outcome: Outcome
    ts: str | None = None
    mentions: int = 0
    by_sentiment: tuple[tuple[str, int], ...] = ()
    chart: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Plan:
    """When a channel's digest goes out."""

    channel_id: str
    at: time
    zone: str
    weekly: bool = False
    name_staff: bool = False


def channel_plans(deps: Deps) -> list[Plan]:
    """Every channel with a watch or a schedule, with its time (default 09:00 local)."""
    with session_scope(deps.engine) as session:
        schedules = {s.channel_id: s for s in session.exec(select(DigestSchedule))}
        watched = set(session.exec(select(Watch.channel_id).distinct()))
    plans = []
    for channel in sorted(watched | set(schedules)):
        schedule = schedules.get(channel)
        if schedule is None:
            plans.append(Plan(channel, DEFAULT_AT, deps.settings.timezone))
            continue
        hours, _, minutes = schedule.at_time.partition(":")
        plans.append(
            Plan(
                channel,
                time(int(hours), int(minutes)),
                schedule.timezone,
                schedule.weekly,
                schedule.name_staff,
            )
        )
    return plans


def due_slot(plan: Plan, now: datetime) -> tuple[DigestKind, date] | None:
    """The slot due at `now`: yesterday (local) once the local time has passed, else None.

    Wall-clock comparison, so a time skipped by a DST change (02:30 on a spring-forward
    day) is due as soon as the clock has jumped past it.
    """
    local = now.astimezone(ZoneInfo(plan.zone))
    if (local.hour, local.minute) < (plan.at.hour, plan.at.minute):
        return None
    if plan.weekly:
        if local.weekday() != 0:  # Mondays, for the week before
            return None
        return DigestKind.WEEKLY, local.date() - timedelta(days=7)
    return DigestKind.DAILY, local.date() - timedelta(days=1)


def post_due_digests(deps: Deps) -> list[DigestResult]:
    """Send every channel's digest whose time has come and whose slot is not done."""
    now = deps.clock()
    results = []
    for plan in channel_plans(deps):
        try:
            slot = due_slot(plan, now)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            log.error("digest for %s: bad time zone %r (%s)", plan.channel_id, plan.zone, exc)
            continue
        if slot is None or _done(deps, plan.channel_id, *slot):
            continue
        result = send_scheduled_digest(deps, plan, *slot)
        if result.outcome is Outcome.FAILED:
            log.error("digest for %s failed: %s", plan.channel_id, result.error)
        results.append(result)
    return results


def _done(deps: Deps, channel_id: str, kind: DigestKind, day: date) -> bool:
    """True when the slot needs nothing more: posted with its chart, or out of attempts."""
    with session_scope(deps.engine) as session:
        row = session.exec(
            select(DigestSent).where(
                DigestSent.channel_id == channel_id, DigestSent.kind == kind, DigestSent.day == day
            )
        ).first()
    if row is None:
        return False
    finished = row.message_ts is not None and row.chart_posted_at is not None
    return finished or row.attempts >= MAX_SLOT_ATTEMPTS or row.lease_until > deps.clock()


def _claim(deps: Deps, channel_id: str, kind: DigestKind, day: date) -> DigestSent | None:
    """Take the slot: insert its row, or take over an unfinished one whose lease ran out."""
    now = deps.clock()
    try:
        with session_scope(deps.engine) as session:
            row = DigestSent(
                channel_id=channel_id,
                kind=kind,
                day=day,
                claimed_by=deps.worker_id,
                claimed_at=now,
                lease_until=now + SLOT_LEASE,
            )
            session.add(row)
        return row
    except IntegrityError:
        pass
    slot = (
        (col(DigestSent.channel_id) == channel_id)
        & (col(DigestSent.kind) == kind)
        & (col(DigestSent.day) == day)
    )
    with session_scope(deps.engine) as session:
        taken = session.execute(
            update(DigestSent)
            .where(slot)
            .where(col(DigestSent.lease_until) <= now)
            .where(col(DigestSent.attempts) < MAX_SLOT_ATTEMPTS)
            .where(
                or_(col(DigestSent.message_ts).is_(None), col(DigestSent.chart_posted_at).is_(None))
            )
            .values(
                claimed_by=deps.worker_id,
                claimed_at=now,
                lease_until=now + SLOT_LEASE,
                attempts=col(DigestSent.attempts) + 1,
            )
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
    with session_scope(deps.engine) as session:
        return session.exec(select(DigestSent).where(slot)).one()


def _slot_state(deps: Deps, channel_id: str, kind: DigestKind, day: date) -> DigestSent | None:
    with session_scope(deps.engine) as session:
        return session.exec(
            select(DigestSent).where(
                DigestSent.channel_id == channel_id, DigestSent.kind == kind, DigestSent.day == day
            )
        ).first()


def _compute(deps: Deps, plan: Plan, kind: DigestKind, day: date) -> Digest:
    period = digest_period(plan.channel_id, kind, day, plan.zone)
    with session_scope(deps.engine) as session:
        return compute_digest(
            period,
            session=session,
            now=deps.clock(),
            sources=deps.sources,
            name_staff=plan.name_staff,
        )


def send_scheduled_digest(deps: Deps, plan: Plan, kind: DigestKind, day: date) -> DigestResult:
    """Send the digest of one slot once: claim it, post (or adopt) it, then add the chart."""
    row = _claim(deps, plan.channel_id, kind, day)
    if row is None:
        held = _slot_state(deps, plan.channel_id, kind, day)
        outcome = Outcome.ALREADY_SENT if held is not None and held.message_ts else Outcome.BUSY
        return DigestResult(
            plan.channel_id, kind, day, outcome, ts=held.message_ts if held else None
        )
    digest = _compute(deps, plan, kind, day)
    ts, outcome = row.message_ts, Outcome.CHART_ONLY
    try:
        if ts is None and row.attempts > 1:
            # An earlier attempt ended without recording its outcome: Slack may have it.
            ts = _find(deps, digest)
            outcome = Outcome.ADOPTED
        if ts is None:
            ts = deps.chat.post_digest(digest)
            outcome = Outcome.POSTED
        if row.message_ts is None:
            _record(deps, row, message_ts=ts)
        chart = _post_chart(deps, digest, ts)
    except ChatError as exc:
        _record(deps, row, lease_until=deps.clock())  # free the slot for the next attempt
        _tell_admins(deps, exc, digest)
        return _result(digest, Outcome.FAILED, ts=ts, error=exc.code)
    _record(deps, row, chart_posted_at=deps.clock(), lease_until=deps.clock())
    return _result(digest, outcome, ts=ts, chart=chart)


def send_digest(
    deps: Deps, channel_id: str, day: date | None = None, *, weekly: bool = False
) -> DigestResult:
    """Post a digest now, on demand (default: yesterday in the channel's zone); no slot."""
    plan = next(
        (p for p in channel_plans(deps) if p.channel_id == channel_id),
        Plan(channel_id, DEFAULT_AT, deps.settings.timezone),
    )
    kind = DigestKind.WEEKLY if weekly else DigestKind.DAILY
    if day is None:
        today = deps.clock().astimezone(ZoneInfo(plan.zone)).date()
        day = today - timedelta(days=7 if weekly else 1)
    digest = _compute(deps, plan, kind, day)
    ts: str | None = None
    try:
        ts = deps.chat.post_digest(digest, on_demand=True)
        chart = _post_chart(deps, digest, ts)
    except ChatError as exc:
        _tell_admins(deps, exc, digest)
        return _result(digest, Outcome.FAILED, ts=ts, error=exc.code)
    return _result(digest, Outcome.POSTED, ts=ts, chart=chart)


def _tell_admins(deps: Deps, exc: ChatError, digest: Digest) -> None:
    """A refusal only a person can fix (the bot not in the channel…) goes to the admins."""
    if exc.code in NOTICE_KINDS:
        report_problem(deps, exc.code, digest.period.channel_id)


def _find(deps: Deps, digest: Digest) -> str | None:
    try:
        return deps.chat.find_digest(digest)
    except ChatError as exc:  # can't tell: post again, a second digest beats a lost one
        log.warning("could not look for the digest in %s: %s", digest.period.channel_id, exc.code)
        return None


def _post_chart(deps: Deps, digest: Digest, ts: str) -> bool:
    """Upload the chart into the digest's thread; False when the 7 days hold no mention."""
    if not any(any(values) for values in digest.hourly.values()):
        return False
    from bot.services.digest_chart import chart_alt_text, draw_chart

    deps.chat.post_digest_chart(digest, ts, draw_chart(digest), chart_alt_text(digest))
    return True


def _record(deps: Deps, row: DigestSent, **values: object) -> None:
    with session_scope(deps.engine) as session:
        stored = session.get(DigestSent, row.id)
        assert stored is not None
        for name, value in values.items():
            setattr(stored, name, value)
        if "message_ts" in values:
            stored.posted_at = deps.clock()
        session.add(stored)


def _result(
    digest: Digest,
    outcome: Outcome,
    *,
    ts: str | None,
    chart: bool = False,
    error: str | None = None,
) -> DigestResult:
    period = digest.period
    return DigestResult(
        period.channel_id,
        period.kind,
        period.first_day,
        outcome,
        ts=ts,
        mentions=digest.total.count,
        by_sentiment=tuple((v.key, v.count) for v in digest.by_sentiment),
        chart=chart,
        error=error,
    )
