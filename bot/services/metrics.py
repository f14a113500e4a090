"""Operational metrics read from the database, in the Prometheus text format.

The worker has no HTTP port and several workers may run, so the figures come from the tables
every process writes (cursors, mentions, cards): the web process serves them on /metrics and
`overheard metrics` prints them, and both show all the workers at once.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from bot.store.models import Card, CardState, Mention, SourceCursor

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Post latency is the median (and 90th percentile) of the cards posted within this window.
POST_LATENCY_WINDOW = timedelta(hours=1)
POST_LATENCY_SAMPLE = 5_000
RATE_LIMITED = "ratelimited"  # ChatRateLimited's code, as the poster stores it on the card


@dataclass
class Metric:
    """One metric family: its name, kind, help text and samples (labels, value)."""

    name: str
    kind: str  # gauge, counter or summary
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)
    suffixed: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def collect_metrics(*, session: Session, now: datetime) -> list[Metric]:
    """Every metric overheard exposes, as the database has it at `now`."""
    return [
        *_fetch_metrics(session),
        _mentions(session),
        *_card_metrics(session, now),
        _post_latency(session, now),
    ]


def _fetch_metrics(session: Session) -> list[Metric]:
    cursors = Metric(
        "overheard_fetch_cursors",
        "gauge",
        "Watch x network pairs, by state: ok (last fetch succeeded), failing, never fetched.",
    )
    failures = Metric(
        "overheard_fetch_consecutive_failures",
        "gauge",
        "Failed fetches in a row, summed over the network's watches (0 once a fetch succeeds).",
    )
    success = Metric(
        "overheard_fetch_last_success_timestamp_seconds",
        "gauge",
        "When a fetch from the network last succeeded (Unix time).",
    )
    rows = session.exec(
        select(
            SourceCursor.source,
            SourceCursor.failures,
            SourceCursor.last_attempt_at,
            SourceCursor.last_success_at,
        )
    ).all()
    states: dict[tuple[str, str], int] = {}
    failed: dict[str, int] = {}
    latest: dict[str, datetime] = {}
    for source, count, attempted, succeeded in rows:
        state = "failing" if count else ("ok" if attempted is not None else "never")
        states[(source, state)] = states.get((source, state), 0) + 1
        failed[source] = failed.get(source, 0) + count
        if succeeded is not None and (source not in latest or succeeded > latest[source]):
            latest[source] = succeeded
    for network in sorted(failed):
        for state in ("ok", "failing", "never"):
            cursors.samples.append(
                ({"network": network, "state": state}, states.get((network, state), 0))
            )
        failures.samples.append(({"network": network}, failed[network]))
        if network in latest:
            success.samples.append(({"network": network}, latest[network].timestamp()))
    return [cursors, failures, success]


def _mentions(session: Session) -> Metric:
    metric = Metric(
        "overheard_mentions_stored_total", "counter", "Mentions fetched and stored, per network."
    )
    rows = session.exec(
        select(Mention.network, func.count()).group_by(Mention.network).order_by(Mention.network)
    ).all()
    metric.samples = [({"network": network}, count) for network, count in rows]
    return metric


def _card_metrics(session: Session, now: datetime) -> list[Metric]:
    by_state = Metric("overheard_cards", "gauge", "Cards, by state.")
    counts = dict(session.exec(select(Card.state, func.count()).group_by(Card.state)).all())
    by_state.samples = [({"state": state.value}, counts.get(state, 0)) for state in CardState]
    queued = Metric(
        "overheard_queue_depth", "gauge", "Cards queued for posting (the outbox), not yet posted."
    )
    queued.samples = [({}, counts.get(CardState.QUEUED, 0))]
    oldest_at = session.exec(
        select(func.min(Card.queued_at)).where(Card.state == CardState.QUEUED)
    ).one()
    oldest = Metric(
        "overheard_oldest_queued_card_age_seconds",
        "gauge",
        "How long the oldest queued card has waited (0 when the queue is empty).",
    )
    oldest.samples = [({}, _age_s(oldest_at, now))]
    limited = Metric(
        "overheard_cards_rate_limited",
        "gauge",
        "Queued cards whose last post Slack answered with 429 (rate limited).",
    )
    limited.samples = [
        (
            {},
            session.exec(
                select(func.count())
                .select_from(Card)
                .where(Card.state == CardState.QUEUED, Card.last_post_error == RATE_LIMITED)
            ).one(),
        )
    ]
    return [by_state, queued, oldest, limited]


def _age_s(moment: datetime | None, now: datetime) -> float:
    if moment is None:
        return 0.0
    if moment.tzinfo is None:  # SQLite hands aggregates back without the column's type
        moment = moment.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - moment).total_seconds())


def _post_latency(session: Session, now: datetime) -> Metric:
    metric = Metric(
        "overheard_post_latency_seconds",
        "summary",
        "From queued to posted, for the cards posted in the last hour.",
    )
    rows = session.exec(
        select(Card.queued_at, Card.posted_at)
        .where(col(Card.posted_at) >= now - POST_LATENCY_WINDOW)
        .order_by(col(Card.posted_at).desc())
        .limit(POST_LATENCY_SAMPLE)
    ).all()
    waits = sorted(
        (posted - queued).total_seconds() for queued, posted in rows if posted is not None
    )
    if waits:
        deciles = statistics.quantiles(waits, n=10, method="inclusive") if len(waits) > 1 else []
        p90 = deciles[8] if deciles else waits[0]
        metric.samples = [
            ({"quantile": "0.5"}, statistics.median(waits)),
            ({"quantile": "0.9"}, p90),
        ]
    metric.suffixed = [("_sum", {}, sum(waits)), ("_count", {}, len(waits))]
    return metric


def render_prometheus(metrics: Iterable[Metric]) -> str:
    """The Prometheus text exposition format (version 0.0.4): HELP, TYPE, then samples."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            lines.append(f"{metric.name}{_labels(labels)} {_number(value)}")
        for suffix, labels, value in metric.suffixed:
            lines.append(f"{metric.name}{suffix}{_labels(labels)} {_number(value)}")
    return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape_label(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
