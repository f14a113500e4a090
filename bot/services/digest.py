"""A channel's digest: what people said, how the team answered and what still waits.

Everything is counted by the database (GROUP BY over the channel's cards); Python only
sees aggregated rows: counts per 15 minutes × network × sentiment, and response times as
minute histograms. Percentiles are nearest-rank over those histograms, so they are whole
minutes, rounded down.
"""

from __future__ import annotations

import bisect
import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, case, cast, func, literal_column, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bot.services.health import describe_health
from bot.sources.base import Source
from bot.store.models import Author, Card, CardState, Mention, Watch

# Buckets small enough that every real time zone's midnight falls on a boundary.
BUCKET_S = 15 * 60
HOUR_S = 3600
TOP_MENTIONS = 3
SNIPPET_MAX_CHARS = 120
# Reach tiers on the 1–100 reach score (docs/scoring.md).
LOW_REACH_MAX = 39
MID_REACH_MAX = 69
# Low-reach authors "wait markedly longer" when their median first response is at least
# this many times the fastest other tier's, and at least this much longer.
FAIRNESS_RATIO = 1.5
FAIRNESS_MIN_GAP_S = 10 * 60
FAIRNESS_MIN_RESPONSES = 3  # per tier compared; fewer is too little to judge
AVERAGE_DAYS = 7
CHART_DAYS = 7
SENTIMENTS = ("negative", "neutral", "positive", "mixed", "unknown")


class DigestKind(enum.StrEnum):
    """A digest covers one local day, or (Mondays, where chosen) the week before."""

    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class Period:
    """The local days a digest covers, and their bounds in UTC."""

    channel_id: str
    kind: DigestKind
    first_day: date
    zone: str
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        """How many local days the period holds."""
        return 7 if self.kind is DigestKind.WEEKLY else 1


def local_midnight(day: date, zone: str) -> datetime:
    """The UTC instant a local calendar day starts."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def digest_period(channel_id: str, kind: DigestKind, first_day: date, zone: str) -> Period:
    """The period starting on `first_day` (local) in `zone`: 23, 24 or 25 hours a day."""
    days = 7 if kind is DigestKind.WEEKLY else 1
    return Period(
        channel_id,
        kind,
        first_day,
        zone,
        local_midnight(first_day, zone),
        local_midnight(first_day + timedelta(days=days), zone),
    )


@dataclass(frozen=True)
class Volume:
    """One line of counts: this period, the one before, and the daily average before it."""

    key: str
    count: int
    previous: int
    average: float | None = None  # daily digests: mean of the 7 days before


@dataclass(frozen=True)
class TopMention:
    """A mention worth a look, with where its card is."""

    card_id: int
    channel_id: str
    message_ts: str
    network: str
    author: str | None
    reach: int | None
    polarity: float | None
    snippet: str


@dataclass(frozen=True)
class Waits:
    """How many waits, their median and 90th percentile in seconds (whole minutes)."""

    count: int = 0
    median_s: int | None = None
    p90_s: int | None = None


@dataclass(frozen=True)
class StaffWaits:
    """One person's claims and resolutions in the period."""

    user_id: str
    claim: Waits
    resolve: Waits


@dataclass(frozen=True)
class TierWait:
    """Median first response for one reach tier."""

    tier: str  # low, mid, high
    reach: str  # "1–39"
    waits: Waits


@dataclass(frozen=True)
class Fairness:
    """First response by reach tier; flagged when low-reach authors wait markedly longer."""

    tiers: tuple[TierWait, ...]
    flagged: bool


@dataclass(frozen=True)
class OpenWork:
    """Cards still waiting at the time of the digest."""

    unclaimed: int = 0
    oldest_unclaimed_s: int | None = None
    claimed: int = 0  # claimed, not resolved
    oldest_claimed_s: int | None = None
    snoozed: int = 0


@dataclass(frozen=True)
class SourceProblem:
    """A watch × network that was failing or silent."""

    watch_id: int
    source: str
    state: str


@dataclass(frozen=True)
class Digest:
    """Everything a digest shows, for one channel and period."""

    period: Period
    generated_at: datetime
    total: Volume
    by_network: tuple[Volume, ...]
    by_sentiment: tuple[Volume, ...]
    top_by_reach: tuple[TopMention, ...]
    top_by_negativity: tuple[TopMention, ...]
    open: OpenWork
    claim: Waits
    resolve: Waits
    staff: tuple[StaffWaits, ...]
    name_staff: bool
    fairness: Fairness
    sources: tuple[SourceProblem, ...]
    # The chart: local hour starts (UTC) of the last 7 days, and counts per sentiment.
    hours: tuple[datetime, ...]
    hourly: Mapping[str, tuple[int, ...]]

    @property
    def empty(self) -> bool:
        """Nothing arrived and nobody answered anything in the period."""
        return self.total.count == 0 and self.claim.count == 0 and self.resolve.count == 0


# --------------------------------------------------------------------------- SQL pieces


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    """Whole seconds since 1970 (rounded down) of a stored UTC timestamp, in SQL."""
    if dialect == "sqlite":  # strftime drops the fraction: rounds down after 1970
        return cast(func.strftime("%s", column), BigInteger)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _bucket(column: Any, dialect: str) -> ColumnElement[Any]:
    """The 15-minute bucket a timestamp falls in, as an integer, in SQL."""
    return _epoch(column, dialect) // BUCKET_S


def _minutes_between(start: Any, end: Any, dialect: str) -> ColumnElement[Any]:
    """Whole minutes from `start` to `end` (rounded down; waits are never negative), in SQL."""
    return (_epoch(end, dialect) - _epoch(start, dialect)) // 60


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _percentile(histogram: Mapping[int, int], share: float) -> int | None:
    """Nearest-rank percentile (in minutes) of a minutes → count histogram."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for minutes in sorted(histogram):
        seen += histogram[minutes]
        if seen >= rank:
            return minutes
    raise AssertionError("unreachable")


def _waits(histogram: Mapping[int, int]) -> Waits:
    median, p90 = _percentile(histogram, 0.5), _percentile(histogram, 0.9)
    return Waits(
        count=sum(histogram.values()),
        median_s=None if median is None else max(0, median) * 60,
        p90_s=None if p90 is None else max(0, p90) * 60,
    )


def _histograms(rows: Iterable[Any]) -> dict[str, dict[int, int]]:
    """(key, minutes, count) rows → key → minutes → count."""
    out: dict[str, dict[int, int]] = {}
    for key, minutes, count in rows:
        if minutes is None:
            continue
        bucket = out.setdefault(str(key), {})
        bucket[int(minutes)] = bucket.get(int(minutes), 0) + int(count)
    return out


def _merge(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for histogram in histograms:
        for minutes, count in histogram.items():
            merged[minutes] = merged.get(minutes, 0) + count
    return merged


# --------------------------------------------------------------------------- the parts


def _volumes(
    period: Period, *, session: Session
) -> tuple[
    Volume, tuple[Volume, ...], tuple[Volume, ...], tuple[datetime, ...], dict[str, tuple[int, ...]]
]:
    """Counts per network and sentiment with their comparisons, and the hourly chart data."""
    dialect = _dialect(session)
    back = AVERAGE_DAYS if period.kind is DigestKind.DAILY else period.days
    first = period.first_day - timedelta(days=back)
    # Local midnights from `first` to the period's end: day i spans bounds[i]..bounds[i+1].
    total_days = back + period.days
    bounds = [local_midnight(first + timedelta(days=i), period.zone) for i in range(total_days + 1)]
    bucket = _bucket(Card.queued_at, dialect).label("bucket")
    sentiment = func.coalesce(col(Mention.sentiment_label), literal_column("'unknown'"))
    rows = session.exec(
        select(bucket, Mention.network, sentiment, func.count())
        .select_from(Card)
        .join(Mention, col(Mention.id) == col(Card.mention_id))
        .where(
            col(Card.channel_id) == period.channel_id,
            col(Card.queued_at) >= bounds[0],
            col(Card.queued_at) < bounds[-1],
        )
        .group_by(bucket, col(Mention.network), sentiment)
    ).all()

    chart_start = local_midnight(
        period.first_day + timedelta(days=period.days - CHART_DAYS), period.zone
    )
    hour_count = int((period.end - chart_start).total_seconds()) // HOUR_S
    hours = tuple(chart_start + timedelta(hours=i) for i in range(hour_count))
    hourly = {label: [0] * hour_count for label in SENTIMENTS}
    # day index → key → count; keys are "network:x", "sentiment:y" and "total".
    per_day: list[dict[str, int]] = [{} for _ in range(total_days)]
    for bucket_no, network, label, count in rows:
        at = datetime.fromtimestamp(int(bucket_no) * BUCKET_S, UTC)
        day = bisect.bisect_right(bounds, at) - 1
        label = label if label in hourly else "unknown"
        for key in (f"network:{network}", f"sentiment:{label}", "total"):
            per_day[day][key] = per_day[day].get(key, 0) + int(count)
        hour = int((at - chart_start).total_seconds()) // HOUR_S
        if 0 <= hour < hour_count:
            hourly[label][hour] += int(count)

    def volume(key: str) -> Volume:
        now = sum(per_day[back + i].get(key, 0) for i in range(period.days))
        previous = sum(per_day[back - period.days + i].get(key, 0) for i in range(period.days))
        average = (
            sum(per_day[i].get(key, 0) for i in range(back)) / back
            if period.kind is DigestKind.DAILY
            else None
        )
        return Volume(key.partition(":")[2] or key, now, previous, average)

    keys = {key for day in per_day for key in day}
    networks = sorted((volume(k) for k in keys if k.startswith("network:")), key=_by_count)
    sentiments = [volume(f"sentiment:{label}") for label in SENTIMENTS]
    kept = tuple(v for v in sentiments if v.count or v.previous or v.average)
    chart = {label: tuple(values) for label, values in hourly.items()}
    return volume("total"), tuple(networks), kept, hours, chart


def _by_count(volume: Volume) -> tuple[int, str]:
    return (-volume.count, volume.key)


def _top(period: Period, *, session: Session, by: str) -> tuple[TopMention, ...]:
    """The period's posted mentions with the most reach, or the most negative ones."""
    stmt = (
        sa_select(
            col(Card.id),
            col(Card.message_ts),
            col(Mention.network),
            col(Author.handle),
            col(Author.score),
            col(Mention.sentiment_polarity),
            col(Mention.title),
            col(Mention.text),
        )
        .select_from(Card)
        .join(Mention, col(Mention.id) == col(Card.mention_id))
        .outerjoin(Author, col(Author.id) == col(Mention.author_id))
        .where(
            col(Card.channel_id) == period.channel_id,
            col(Card.queued_at) >= period.start,
            col(Card.queued_at) < period.end,
            col(Card.message_ts).is_not(None),
        )
    )
    if by == "reach":
        stmt = stmt.where(col(Author.score).is_not(None)).order_by(
            col(Author.score).desc(), col(Card.id)
        )
    else:
        stmt = stmt.where(col(Mention.sentiment_polarity) < 0).order_by(
            col(Mention.sentiment_polarity), col(Card.id)
        )
    out = []
    for card_id, ts, network, handle, score, polarity, title, body_text in session.execute(
        stmt.limit(TOP_MENTIONS)
    ):
        body = " — ".join(p for p in (title, body_text) if p)
        snippet = " ".join(body.split())[:SNIPPET_MAX_CHARS]
        out.append(
            TopMention(card_id, period.channel_id, ts, network, handle, score, polarity, snippet)
        )
    return tuple(out)


def _response_times(
    period: Period, *, session: Session
) -> tuple[Waits, Waits, tuple[StaffWaits, ...]]:
    """Time to claim and to resolve, overall and per person, for the period's claims/closes."""
    dialect = _dialect(session)
    claim_minutes = _minutes_between(Card.posted_at, Card.claimed_at, dialect).label("m")
    claims = _histograms(
        session.exec(
            select(Card.claimed_by, claim_minutes, func.count())
            .where(
                col(Card.channel_id) == period.channel_id,
                col(Card.claimed_at) >= period.start,
                col(Card.claimed_at) < period.end,
                col(Card.posted_at).is_not(None),
            )
            .group_by(col(Card.claimed_by), claim_minutes)
        ).all()
    )
    resolve_minutes = _minutes_between(Card.posted_at, Card.closed_at, dialect).label("m")
    resolves = _histograms(
        session.exec(
            select(Card.closed_by, resolve_minutes, func.count())
            .where(
                col(Card.channel_id) == period.channel_id,
                col(Card.state) == CardState.RESOLVED,
                col(Card.closed_at) >= period.start,
                col(Card.closed_at) < period.end,
                col(Card.posted_at).is_not(None),
            )
            .group_by(col(Card.closed_by), resolve_minutes)
        ).all()
    )
    people = sorted(set(claims) | set(resolves))
    staff = tuple(
        StaffWaits(user, _waits(claims.get(user, {})), _waits(resolves.get(user, {})))
        for user in people
    )
    staff = tuple(sorted(staff, key=lambda s: (-(s.claim.count + s.resolve.count), s.user_id)))
    return _waits(_merge(claims.values())), _waits(_merge(resolves.values())), staff


TIERS = (
    ("low", f"1–{LOW_REACH_MAX}"),
    ("mid", f"{LOW_REACH_MAX + 1}–{MID_REACH_MAX}"),
    ("high", f"{MID_REACH_MAX + 1}–100"),
)


def _fairness(period: Period, *, session: Session) -> Fairness:
    """Median time to first response (claim, or closing unclaimed) by the author's reach tier."""
    dialect = _dialect(session)
    first = func.coalesce(col(Card.claimed_at), col(Card.closed_at))
    minutes = _minutes_between(Card.posted_at, first, dialect).label("m")
    tier = case(
        (col(Author.score) <= LOW_REACH_MAX, "low"),
        (col(Author.score) <= MID_REACH_MAX, "mid"),
        else_="high",
    ).label("tier")
    in_period = or_(
        (col(Card.claimed_at) >= period.start) & (col(Card.claimed_at) < period.end),
        col(Card.claimed_at).is_(None)
        & (col(Card.closed_at) >= period.start)
        & (col(Card.closed_at) < period.end),
    )
    histograms = _histograms(
        session.exec(
            select(tier, minutes, func.count())
            .select_from(Card)
            .join(Mention, col(Mention.id) == col(Card.mention_id))
            .join(Author, col(Author.id) == col(Mention.author_id))
            .where(
                col(Card.channel_id) == period.channel_id,
                col(Card.posted_at).is_not(None),
                col(Author.score).is_not(None),
                in_period,
            )
            .group_by(tier, minutes)
        ).all()
    )
    tiers = tuple(TierWait(name, reach, _waits(histograms.get(name, {}))) for name, reach in TIERS)
    return Fairness(tiers, _unfair(tiers))


def _unfair(tiers: tuple[TierWait, ...]) -> bool:
    """Low-reach median ≥ 1.5× the fastest other tier's and ≥ 10 min longer."""
    low, others = tiers[0].waits, [t.waits for t in tiers[1:]]
    judged = [w for w in others if w.count >= FAIRNESS_MIN_RESPONSES and w.median_s is not None]
    if low.count < FAIRNESS_MIN_RESPONSES or low.median_s is None or not judged:
        return False
    fastest = min(w.median_s for w in judged if w.median_s is not None)
    return low.median_s >= FAIRNESS_RATIO * fastest and low.median_s - fastest >= FAIRNESS_MIN_GAP_S


def _open_work(channel_id: str, *, session: Session, now: datetime) -> OpenWork:
    """Cards still waiting now: unclaimed, claimed and snoozed, with the oldest waits."""
    rows = session.exec(
        select(Card.state, func.count(), func.min(Card.posted_at), func.min(Card.claimed_at))
        .where(
            col(Card.channel_id) == channel_id,
            col(Card.state).in_([CardState.POSTED, CardState.CLAIMED, CardState.SNOOZED]),
        )
        .group_by(col(Card.state))
    ).all()
    found = {state: (count, posted, claimed) for state, count, posted, claimed in rows}

    def age(moment: datetime | None) -> int | None:
        return None if moment is None else max(0, int((now - moment).total_seconds()))

    unclaimed = found.get(CardState.POSTED, (0, None, None))
    claimed = found.get(CardState.CLAIMED, (0, None, None))
    return OpenWork(
        unclaimed=unclaimed[0],
        oldest_unclaimed_s=age(unclaimed[1]),
        claimed=claimed[0],
        oldest_claimed_s=age(claimed[2]),
        snoozed=found.get(CardState.SNOOZED, (0, None, None))[0],
    )


def _source_problems(
    channel_id: str, *, session: Session, sources: Mapping[str, Source], now: datetime
) -> tuple[SourceProblem, ...]:
    watch_ids = set(session.exec(select(Watch.id).where(col(Watch.channel_id) == channel_id)))
    return tuple(
        SourceProblem(row.watch_id, row.source, row.state)
        for row in describe_health(session=session, sources=sources, now=now)
        if row.watch_id in watch_ids and row.state in ("failing", "silent")
    )


def compute_digest(
    period: Period,
    *,
    session: Session,
    now: datetime,
    sources: Mapping[str, Source],
    name_staff: bool = False,
) -> Digest:
    """Count everything the digest shows for `period`, in the database."""
    if _dialect(session) == "postgresql":
        # The digest reads a narrow, recent slice of the mentions by primary key. With the
        # default random_page_cost (4, for spinning disks) PostgreSQL scans all of them
        # instead: 1.1 is the usual SSD figure. More work_mem keeps its GROUP BY sorts off
        # disk. Both last only for this transaction (bench/digest.py measures the effect).
        session.execute(text("SET LOCAL random_page_cost = 1.1"))
        session.execute(text("SET LOCAL work_mem = '32MB'"))
    total, networks, sentiments, hours, hourly = _volumes(period, session=session)
    claim, resolve, staff = _response_times(period, session=session)
    return Digest(
        period=period,
        generated_at=now,
        total=total,
        by_network=networks,
        by_sentiment=sentiments,
        top_by_reach=_top(period, session=session, by="reach"),
        top_by_negativity=_top(period, session=session, by="negativity"),
        open=_open_work(period.channel_id, session=session, now=now),
        claim=claim,
        resolve=resolve,
        staff=staff,
        name_staff=name_staff,
        fairness=_fairness(period, session=session),
        sources=_source_problems(period.channel_id, session=session, sources=sources, now=now),
        hours=hours,
        hourly=hourly,
    )
