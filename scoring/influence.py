"""An author's reach on a 1–100 scale, with every factor that produced it.

Formula 1.0 (written out in docs/scoring.md). For one network:

1. Each metric the network offers fills one role: audience (followers; karma or
   reputation where a network has no followers), engagement (median likes + reposts +
   replies per post), activity (posts), age (account age in days) and verification.
2. A count x becomes a percentile p in [0, 1] against that network's reference
   distribution (`data/influence_reference.json`): piecewise-linear in log10(1 + x)
   between published knots, 0 for x = 0, 1 at the top knot and beyond. Verified is 1 or 0.
3. The published weights favour engagement over raw audience (Cha et al. 2010):
       engagement 0.40, audience 0.30, activity 0.15, age 0.10, verified 0.05.
   Unknown metrics drop out and the known weights K are rescaled to sum to 1, but never
   by more than 1 / 0.30: a score resting on minor factors stays low.
       S = sum(w_i * p_i) / max(K, 0.30)          (0 <= S <= 1)
4. value = 1 + round(99 * S). Each factor gets 99 * w_i * p_i / max(K, 0.30) points,
   rounded by largest remainder so that the points (plus 1 for "base") add up to the
   value exactly.

Across networks (`score_across`): the strongest network's score plus 10 % of the points
the others score above their base, at most 10 and never past 100.

Confidence is the share of the network's offered weight that is known: high from 0.8,
medium from 0.5, else low. "following" is not scored: it is under the author's control
and says nothing about reach, and scoring it either way would break monotonicity.
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

FORMULA = "1.0"
REFERENCE_RESOURCE = "data/influence_reference.json"
BASE_POINTS = 1
MAX_POINTS = 99
# Published weights, summing to 1: engagement over raw audience (Cha et al. 2010).
WEIGHTS = {
    "engagement": 0.40,
    "audience": 0.30,
    "activity": 0.15,
    "age": 0.10,
    "verified": 0.05,
}
# Known weight below this is scaled up only to this, so scant data cannot score high.
MIN_KNOWN_WEIGHT = 0.30
HIGH_CONFIDENCE_SHARE = 0.8
MEDIUM_CONFIDENCE_SHARE = 0.5
CROSS_NETWORK_BONUS_RATE = 0.10
CROSS_NETWORK_BONUS_CAP = 10
SECONDS_PER_DAY = 86_400
DEFAULT_NETWORK = "default"

Confidence = Literal["low", "medium", "high"]
# The metric that fills each role, per network, and the name it is shown under.
_METRIC_NAMES = {
    "followers": "followers",
    "karma": "karma",
    "median_engagement": "median engagement",
    "posts": "posts",
    "age_days": "account age (days)",
    "verified": "verified",
}


@dataclass(frozen=True, slots=True)
class AuthorMetrics:
    """An author's public numbers on one network; any of them may be unknown."""

    network: str = DEFAULT_NETWORK
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    karma: int | None = None
    account_created: datetime | None = None
    verified: bool | None = None
    median_engagement: float | None = None


@dataclass(frozen=True, slots=True)
class Factor:
    """One input to the score: its raw value, its 0–1 normalised value and its points."""

    name: str
    raw: float | None
    normalized: float
    weight: float
    points: int


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
    """One network's roles and the percentile knots of each metric it offers."""

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


def score(metrics: AuthorMetrics, *, now: datetime) -> InfluenceScore:
    """Score an author's reach on one network from their public metrics at time `now`."""
    data = reference()
    ref = data.for_network(metrics.network)
    raw = _raw_metrics(metrics, now=now)
    offered = sum(WEIGHTS[role] for role in ref.roles)
    known = [(role, metric) for role, metric in ref.roles.items() if raw.get(metric) is not None]
    known_weight = sum(WEIGHTS[role] for role, _ in known)
    divisor = max(known_weight, MIN_KNOWN_WEIGHT)
    parts: list[tuple[str, float | None, float, float]] = []  # name, raw, p, weight
    for role, metric in ref.roles.items():
        value = raw.get(metric)
        if value is None:
            parts.append((_METRIC_NAMES[metric], None, 0.0, 0.0))
        else:
            p = _percentile(ref, metric, value)
            parts.append((_METRIC_NAMES[metric], value, p, WEIGHTS[role] / divisor))
    points = _largest_remainder([MAX_POINTS * w * p for _, _, p, w in parts])
    factors = [Factor("base", None, 1.0, 0.0, BASE_POINTS)]
    factors += [
        Factor(name, value, round(p, 4), round(w, 4), pts)
        for (name, value, p, w), pts in zip(parts, points, strict=True)
    ]
    return InfluenceScore(
        value=BASE_POINTS + sum(points),
        factors=factors,
        formula_version=f"{FORMULA}+ref.{data.version}",
        confidence=_confidence(known_weight / offered if offered else 0.0),
        network=metrics.network,
    )


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
    """Check and build reference data: knots start at (0, 0), rise, and end at 1."""
    if data["formula"] != FORMULA:
        raise ValueError(f"reference data is for formula {data['formula']}, not {FORMULA}")
    networks: dict[str, Reference] = {}
    for name, spec in data["networks"].items():
        roles = {str(role): str(metric) for role, metric in spec["roles"].items()}
        unknown = set(roles) - set(WEIGHTS) or set(roles.values()) - set(_METRIC_NAMES)
        if unknown:
            raise ValueError(f"{name}: unknown roles or metrics {sorted(unknown)}")
        knots = {}
        for metric, pairs in spec["quantiles"].items():
            xs = [float(x) for x, _ in pairs]
            ps = [float(p) for _, p in pairs]
            if xs[0] != 0 or ps[0] != 0 or ps[-1] != 1:
                raise ValueError(f"{name}.{metric}: knots must run from (0, 0) to p = 1")
            if any(b <= a for a, b in pairwise(xs)) or any(b < a for a, b in pairwise(ps)):
                raise ValueError(f"{name}.{metric}: knots must rise")
            knots[metric] = (tuple(math.log10(1 + x) for x in xs), tuple(ps))
        missing = {m for m in roles.values() if m != "verified"} - set(knots)
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


def _confidence(share: float) -> Confidence:
    if share >= HIGH_CONFIDENCE_SHARE:
        return "high"
    return "medium" if share >= MEDIUM_CONFIDENCE_SHARE else "low"


def _count(value: int | None) -> float | None:
    return None if value is None else float(max(0, value))


def _aware(moment: datetime) -> datetime:
    """Treat a naive time as UTC, as the database stores them."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _rest(f: Factor) -> tuple[float | None, float, float, int]:
    return f.raw, f.normalized, f.weight, f.points
