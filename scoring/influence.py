"""An author's reach on a 1–100 scale, with every factor that produced it.

First version (formula "0.1"): audience only. On networks with followers, audience is the
follower count; on Hacker News, where nobody has followers, it is karma. The count is
log-scaled against the count that earns the top of the scale on that network:

    points = 99 * min(1, log10(1 + count) / log10(1 + TOP[network]))
    value  = 1 + round(points)

so one follower is worth more at 10 than at 10,000, and nobody passes 100. Unknown
metrics give 1 with confidence "low". The factors' points add up to the value exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

FORMULA_VERSION = "0.1"
BASE_POINTS = 1
MAX_POINTS = 99
# The audience that earns the top of the scale, per network (a round, published number).
TOP_AUDIENCE = {
    "hackernews": 200_000,
    "reddit": 1_000_000,
    "default": 10_000_000,
}

Confidence = Literal["low", "medium", "high"]


@dataclass(frozen=True, slots=True)
class AuthorMetrics:
    """An author's public numbers on one network; any of them may be unknown."""

    network: str
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
    formula_version: str = FORMULA_VERSION
    confidence: Confidence = "low"


def score(metrics: AuthorMetrics, *, now: datetime) -> InfluenceScore:
    """Score an author's reach from their public metrics; `now` is for age-based factors."""
    del now  # account age joins the formula in a later version
    if metrics.network == "hackernews" or metrics.followers is None:
        audience, name = metrics.karma, "karma"
    else:
        audience, name = metrics.followers, "followers"
    top = TOP_AUDIENCE.get(metrics.network, TOP_AUDIENCE["default"])
    base = Factor("base", None, 1.0, 0.0, BASE_POINTS)
    if audience is None:
        return InfluenceScore(BASE_POINTS, [base, Factor(name, None, 0.0, 1.0, 0)])
    normalized = min(1.0, math.log10(1 + max(0, audience)) / math.log10(1 + top))
    points = round(MAX_POINTS * normalized)
    factors = [base, Factor(name, float(audience), round(normalized, 4), 1.0, points)]
    return InfluenceScore(BASE_POINTS + points, factors, confidence="medium")
