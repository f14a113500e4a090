"""An author's reach on a 1–100 scale, with every factor that produced it.

Formula 2.0 (written out in docs/scoring.md). For one network:

1. Audience drives the score. The network's audience figure a (followers; karma or
   reputation where a network has no followers) is read on one log scale for every
   network: L_a = min(log10(1 + a), 8), so each tenfold step is worth the same and the
   scale keeps rising until 100 M (10^8).
2. Engagement, when measured: the median interactions e (likes + reposts + replies) per
   post, over at least MIN_ENGAGEMENT_SAMPLE of the author's posts, read as the audience
   it implies, VIEWS_PER_INTERACTION · e, on the same scale and at most ten times the
   audience: L_e = min(log10(1 + 100 · e), L_a + 1, 8). Engagement then takes 40 % of the
   reach points; unmeasured, the audience takes them all.
       reach points = 95 · ((1 − w) · L_a + w · L_e) / 8,   w = 0.4 if measured, else 0
3. Credibility moves the score by at most 4 points: account age (2), activity (posts, 1)
   and verification (1), each a percentile p in [0, 1] against the network's reference
   distribution (`data/influence_reference.json`); a network that lacks one of them
   shares its points among the others. Unknown metrics earn nothing.
4. value = 1 + round(sum of points). Each factor's points are rounded by largest
   remainder so that they (plus 1 for "base") add up to the value exactly.

So an account nobody follows scores at most 10 (1 + 4 + the engagement it may earn with
no audience, 95 · 0.4 / 8 = 4.75), and 100 M followers score at least 96 unless measured
engagement below 1 % of them pulls the score down.

Across networks (`score_across`): the strongest network's score plus 10 % of the points
the others score above their base, at most 10 and never past 100.

Confidence: low without an audience figure; high with the audience, the account's age
and, on networks whose posts can be engaged with, measured engagement; else medium.
"following" is not scored: it is under the author's control and says nothing about reach.
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any, Literal

FORMULA = "2.0"
REFERENCE_RESOURCE = "data/influence_reference.json"
BASE_POINTS = 1
MAX_POINTS = 99
REACH_POINTS = 95  # audience and engagement together
AUDIENCE_TOP_LOG10 = 8  # full reach points at 10^8 = 100 M followers (or karma)
ENGAGEMENT_WEIGHT = 0.4  # share of the reach points measured engagement takes
MIN_ENGAGEMENT_SAMPLE = 5  # posts; fewer leave engagement out
VIEWS_PER_INTERACTION = 100  # one interaction per 100 readers: about a 1 % engagement rate
ENGAGEMENT_HEADROOM_LOG10 = 1  # engagement counts for at most ten times the audience
# Credibility, at most 4 points in all, shared among the roles a network offers.
CREDIBILITY_POINTS = 4
CREDIBILITY_WEIGHTS = {"age": 2.0, "activity": 1.0, "verified": 1.0}
ROLES = ("audience", "engagement", "activity", "age", "verified")
CROSS_NETWORK_BONUS_RATE = 0.10
CROSS_NETWORK_BONUS_CAP = 10
SECONDS_PER_DAY = 86_400
DEFAULT_NETWORK = "default"

Confidence = Literal["low", "medium", "high"]
# The name each metric is shown under.
_METRIC_NAMES = {
    "followers": "followers",
    "karma": "karma",
    "median_engagement": "median engagement",
    "posts": "posts",
    "age_days": "account age (days)",
    "verified": "verified",
}
# Metrics read against percentile knots; audience and engagement use the log scale instead.
_PERCENTILE_ROLES = ("activity", "age")


@dataclass(frozen=True, slots=True)
class AuthorMetrics:
    """An author's public numbers on one network; any of them may be unknown.

    `median_engagement` is the median interactions per post over `engagement_sample` of
    the author's posts; it counts only when the sample is at least MIN_ENGAGEMENT_SAMPLE.
    """

    network: str = DEFAULT_NETWORK
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    karma: int | None = None
    account_created: datetime | None = None
    verified: bool | None = None
    median_engagement: float | None = None
    engagement_sample: int | None = None


@dataclass(frozen=True, slots=True)
class Factor:
    """One input to the score: its raw value, its 0–1 normalised value and its points.

    `weight` is the share of the 99 points the factor can earn; `note` says why a known
    figure earns nothing (too few posts to measure engagement).
    """

    name: str
    raw: float | None
    normalized: float
    weight: float
    points: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class InfluenceScore:
    """A 1–100 reach score whose factors' points add up to `value`."""

    value: int
    factors: list[Factor] = field(default_factory=list)
    formula_version: str = FORMULA
    confidence: Confidence = "low"
    network: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """One network's roles and the percentile knots of its credibility metrics."""

    roles: dict[str, str]  # role → metric
    knots: dict[str, tuple[tuple[float, ...], tuple[float, ...]]]  # metric → (log xs, ps)


@dataclass(frozen=True, slots=True)
class ReferenceData:
    """The versioned reference distributions for every network."""

    version: str
    networks: dict[str, Reference]

    def for_network(self, network: str) -> Reference:
        """The network's reference, or the default one for a network it does not know."""
        return self.networks.get(network) or self.networks[DEFAULT_NETWORK]


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    raw: float | None
    normalized: float
    max_points: float
    note: str | None = None


def score(metrics: AuthorMetrics, *, now: datetime) -> InfluenceScore:
    """Score an author's reach on one network from their public metrics at time `now`."""
    data = reference()
    ref = data.for_network(metrics.network)
    raw = _raw_metrics(metrics, now=now)
    audience_metric = ref.roles["audience"]
    audience = raw.get(audience_metric)
    audience_log = _log_share(audience) * AUDIENCE_TOP_LOG10 if audience is not None else None
    engagement = raw.get("median_engagement")
    sample = metrics.engagement_sample or 0
    measured = (
        "engagement" in ref.roles
        and engagement is not None
        and audience_log is not None
        and sample >= MIN_ENGAGEMENT_SAMPLE
    )
    weight = ENGAGEMENT_WEIGHT if measured else 0.0
    parts = [
        _Part(
            _METRIC_NAMES[audience_metric],
            audience,
            0.0 if audience_log is None else audience_log / AUDIENCE_TOP_LOG10,
            REACH_POINTS * (1 - weight),
        )
    ]
    if "engagement" in ref.roles:
        parts.append(_engagement_part(engagement, sample, audience_log, measured=measured))
    offered = [r for r in ROLES if r in ref.roles and r in CREDIBILITY_WEIGHTS]
    offered_weight = sum(CREDIBILITY_WEIGHTS[r] for r in offered)
    for role in offered:
        metric = ref.roles[role]
        value = raw.get(metric)
        share = CREDIBILITY_POINTS * CREDIBILITY_WEIGHTS[role] / offered_weight
        p = 0.0 if value is None else _percentile(ref, metric, value)
        parts.append(_Part(_METRIC_NAMES[metric], value, p, share))
    points = _largest_remainder([part.max_points * part.normalized for part in parts])
    factors = [Factor("base", None, 1.0, 0.0, BASE_POINTS)]
    factors += [
        Factor(
            p.name, p.raw, round(p.normalized, 4), round(p.max_points / MAX_POINTS, 4), pts, p.note
        )
        for p, pts in zip(parts, points, strict=True)
    ]
    return InfluenceScore(
        value=BASE_POINTS + sum(points),
        factors=factors,
        formula_version=f"{FORMULA}+ref.{data.version}",
        confidence=_confidence(
            audience_known=audience is not None,
            age_known=raw.get("age_days") is not None or "age" not in ref.roles,
            engagement_settled=measured or "engagement" not in ref.roles,
        ),
        network=metrics.network,
    )


def _engagement_part(
    engagement: float | None, sample: int, audience_log: float | None, *, measured: bool
) -> _Part:
    """The engagement factor: measured, or left out with the reason."""
    name = _METRIC_NAMES["median_engagement"]
    if not measured or engagement is None or audience_log is None:
        if engagement is None or sample == 0:
            note = "not measured: no posts seen yet"
        elif audience_log is None:
            note = "not counted: no audience figure to compare it with"
        else:
            note = (
                f"not counted: {sample} of the {MIN_ENGAGEMENT_SAMPLE} posts needed; "
                "its weight went to the audience"
            )
        return _Part(name, engagement, 0.0, 0.0, note)
    implied = _log_share(VIEWS_PER_INTERACTION * engagement) * AUDIENCE_TOP_LOG10
    capped = min(implied, audience_log + ENGAGEMENT_HEADROOM_LOG10, AUDIENCE_TOP_LOG10)
    return _Part(
        name,
        engagement,
        capped / AUDIENCE_TOP_LOG10,
        REACH_POINTS * ENGAGEMENT_WEIGHT,
        f"median of {sample} posts",
    )


def _log_share(value: float) -> float:
    """log10(1 + value) as a share of the scale's top, 10^8, at most 1."""
    if not math.isfinite(value):
        return 1.0
    return min(1.0, math.log10(1 + value) / AUDIENCE_TOP_LOG10)


def score_across(metrics: Sequence[AuthorMetrics], *, now: datetime) -> InfluenceScore:
    """Score one author seen on several networks: the strongest plus a small, capped bonus."""
    data = reference()
    if not metrics:
        return InfluenceScore(
            BASE_POINTS,
            [Factor("base", None, 1.0, 0.0, BASE_POINTS)],
            formula_version=f"{FORMULA}+ref.{data.version}",
        )
    scores = [score(m, now=now) for m in metrics]
    strongest = max(range(len(scores)), key=lambda i: scores[i].value)
    best = scores[strongest]
    others = sum(s.value - BASE_POINTS for i, s in enumerate(scores) if i != strongest)
    bonus = min(
        CROSS_NETWORK_BONUS_CAP,
        math.floor(CROSS_NETWORK_BONUS_RATE * others),
        BASE_POINTS + MAX_POINTS - best.value,
    )
    factors = [
        f if f.name == "base" else Factor(f"{best.network} {f.name}", *_rest(f))
        for f in best.factors
    ]
    factors.append(
        Factor(
            f"other networks ({len(scores) - 1})",
            float(others),
            round(bonus / CROSS_NETWORK_BONUS_CAP, 4),
            CROSS_NETWORK_BONUS_RATE,
            bonus,
        )
    )
    return InfluenceScore(
        value=best.value + bonus,
        factors=factors,
        formula_version=best.formula_version,
        confidence=best.confidence,
        network=best.network,
    )


@cache
def reference() -> ReferenceData:
    """The reference distributions that ship in the package, read once."""
    text = resources.files("scoring").joinpath(REFERENCE_RESOURCE).read_text(encoding="utf-8")
    return parse_reference(json.loads(text))


def parse_reference(data: dict[str, Any]) -> ReferenceData:
    """Check and build reference data: an audience role, and knots for age and activity.

    Knots start at (0, 0), rise, and end at 1.
    """
    if data["formula"] != FORMULA:
        raise ValueError(f"reference data is for formula {data['formula']}, not {FORMULA}")
    networks: dict[str, Reference] = {}
    for name, spec in data["networks"].items():
        roles = {str(role): str(metric) for role, metric in spec["roles"].items()}
        unknown = set(roles) - set(ROLES) or set(roles.values()) - set(_METRIC_NAMES)
        if unknown:
            raise ValueError(f"{name}: unknown roles or metrics {sorted(unknown)}")
        if "audience" not in roles:
            raise ValueError(f"{name}: no audience role")
        knots = {}
        for metric, pairs in spec["quantiles"].items():
            xs = [float(x) for x, _ in pairs]
            ps = [float(p) for _, p in pairs]
            if xs[0] != 0 or ps[0] != 0 or ps[-1] != 1:
                raise ValueError(f"{name}.{metric}: knots must run from (0, 0) to p = 1")
            if any(b <= a for a, b in pairwise(xs)) or any(b < a for a, b in pairwise(ps)):
                raise ValueError(f"{name}.{metric}: knots must rise")
            knots[metric] = (tuple(math.log10(1 + x) for x in xs), tuple(ps))
        missing = {roles[r] for r in _PERCENTILE_ROLES if r in roles} - set(knots)
        if missing:
            raise ValueError(f"{name}: no quantiles for {sorted(missing)}")
        networks[str(name)] = Reference(roles, knots)
    if DEFAULT_NETWORK not in networks:
        raise ValueError("reference data needs a default network")
    return ReferenceData(str(data["version"]), networks)


def _raw_metrics(metrics: AuthorMetrics, *, now: datetime) -> dict[str, float | None]:
    """Each metric as a non-negative number, or None when unknown."""
    age: float | None = None
    if metrics.account_created is not None:
        seconds = (_aware(now) - _aware(metrics.account_created)).total_seconds()
        age = max(0.0, seconds / SECONDS_PER_DAY)
    engagement = metrics.median_engagement
    if engagement is not None and math.isnan(engagement):
        engagement = None
    return {
        "followers": _count(metrics.followers),
        "karma": _count(metrics.karma),
        "posts": _count(metrics.posts),
        "median_engagement": None if engagement is None else max(0.0, float(engagement)),
        "age_days": age,
        "verified": None if metrics.verified is None else float(metrics.verified),
    }


def _percentile(ref: Reference, metric: str, value: float) -> float:
    """Where `value` falls in the network's distribution of `metric`, from 0 to 1."""
    if metric == "verified":
        return 1.0 if value else 0.0
    xs, ps = ref.knots[metric]
    x = math.log10(1 + value) if math.isfinite(value) else math.inf
    if x >= xs[-1]:
        return ps[-1]
    i = bisect.bisect_right(xs, x)  # xs[i - 1] <= x < xs[i]
    x0, x1, p0, p1 = xs[i - 1], xs[i], ps[i - 1], ps[i]
    # Clamped to the segment so that rounding can never make a larger count score lower.
    return min(p1, max(p0, p0 + (p1 - p0) * (x - x0) / (x1 - x0)))


def _largest_remainder(shares: list[float]) -> list[int]:
    """Round `shares` to integers that add up to their rounded total (half rounds up)."""
    total = math.floor(sum(shares) + 0.5)
    floors = [math.floor(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: (floors[i] - shares[i], i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def _confidence(*, audience_known: bool, age_known: bool, engagement_settled: bool) -> Confidence:
    """Low without an audience; high when age and (where it applies) engagement are known too."""
    if not audience_known:
        return "low"
    return "high" if age_known and engagement_settled else "medium"


def _count(value: int | None) -> float | None:
    return None if value is None else float(max(0, value))


def _aware(moment: datetime) -> datetime:
    """Treat a naive time as UTC, as the database stores them."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _rest(f: Factor) -> tuple[float | None, float, float, int, str | None]:
    return f.raw, f.normalized, f.weight, f.points, f.note
