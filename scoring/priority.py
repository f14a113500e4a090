"""A mention's triage priority, P1 (most urgent) to P4, with the reasons for it.

Urgency comes from the text and its sentiment; reach can only move it one step up:

    points = 4 per urgent cue (outage, security, scam or fraud, charged twice)
           + 2 per complaint cue (refund, cancel, broken or not working)
           + 1 for a direct question (a question mark outside links)
           + 1 if the sentiment is negative, 2 if its polarity is -0.5 or lower
    base level = P1 from 4 points, P2 from 2, P3 from 1, else P4
    level      = base level - 1 if reach >= 90, never above P1

An urgent cue alone is P1, a complaint P2 (P1 with strong negativity or a second
complaint), a bare question P3. Reach can raise a mention by one step and never lowers
it: a customer with three followers who asks for a refund after a double charge is P1 on
the text alone.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from scoring.sentiment import Sentiment

MOST_URGENT = 1
LEAST_URGENT = 4
URGENT_POINTS = 4
COMPLAINT_POINTS = 2
QUESTION_POINTS = 1
NEGATIVE_POINTS = 1
VERY_NEGATIVE_POINTS = 2
VERY_NEGATIVE_POLARITY = -0.5
# Points needed for P1, P2 and P3; fewer is P4.
LEVEL_THRESHOLDS = ((4, 1), (2, 2), (1, 3))
REACH_RAISE_AT = 90

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# (reason, points, pattern): each reason counts once however often its words appear.
_CUES: tuple[tuple[str, int, re.Pattern[str]], ...] = tuple(
    (reason, points, re.compile(pattern, re.IGNORECASE))
    for reason, points, pattern in (
        (
            "says they were charged twice",
            URGENT_POINTS,
            r"\b(?:(?:charged|billed|paid)\s+(?:me\s+)?(?:twice|two\s+times|double)"
            r"|double[-\s]?(?:charged|charge|billed|billing)|overcharged)\b",
        ),
        (
            "reports an outage",
            URGENT_POINTS,
            r"\b(?:outage|downtime|(?:is|are|was|went|goes|been|still|it's|site|app|service"
            r"|server|servers|api|website|login|dashboard|portal|console|checkout|payments)\s+down|down\s+(?:again|for\s+everyone"
            r"|right\s+now|for\s+hours))\b",
        ),
        (
            "raises security",
            URGENT_POINTS,
            r"\b(?:security|breach(?:ed)?|hacked|vulnerabilit(?:y|ies)|data\s+leak|leaked"
            r"|phishing|compromised)\b",
        ),
        (
            "calls it a scam",
            URGENT_POINTS,
            r"\b(?:scam(?:s|med|mers?)?|fraud(?:ulent)?|rip(?:ped)?[-\s]?off)\b",
        ),
        ("asks for a refund", COMPLAINT_POINTS, r"\b(?:refund(?:s|ed)?|money\s+back|chargeback)\b"),
        ("wants to cancel", COMPLAINT_POINTS, r"\b(?:cancel(?:l?ed|l?ing|lation|s)?)\b"),
        (
            "says something is broken",
            COMPLAINT_POINTS,
            r"\b(?:broken|(?:not|isn'?t|doesn'?t|don'?t|stopped)\s+work(?:ing|s)?"
            r"|crash(?:es|ed|ing)?|bug(?:gy)?|error)\b",
        ),
    )
)


@dataclass(frozen=True, slots=True)
class Priority:
    """How urgently a mention needs a person: 1 is most urgent, 4 least; and why."""

    level: int
    reasons: list[str] = field(default_factory=list)


def prioritize(text: str, sentiment: Sentiment, reach: int | None = None) -> Priority:
    """Rank a mention from its text and sentiment; reach (1–100) may raise it one step only."""
    plain = _URL.sub(" ", html.unescape(text))
    reasons: list[str] = []
    points = 0
    for reason, cue_points, pattern in _CUES:
        if pattern.search(plain):
            reasons.append(reason)
            points += cue_points
    if "?" in plain:  # after links are gone: a URL's query string asks nothing
        reasons.append("asks a direct question")
        points += QUESTION_POINTS
    if sentiment.label == "negative":
        very = sentiment.polarity <= VERY_NEGATIVE_POLARITY
        reasons.append(f"reads {'very ' if very else ''}negative ({sentiment.polarity:+.2f})")
        points += VERY_NEGATIVE_POINTS if very else NEGATIVE_POINTS
    level = next((lvl for need, lvl in LEVEL_THRESHOLDS if points >= need), LEAST_URGENT)
    if not reasons:
        reasons.append("no complaint, urgency or negativity")
    if reach is not None and reach >= REACH_RAISE_AT and level > MOST_URGENT:
        level -= 1
        reasons.append(f"reach {reach}/100 raised it one step")
    return Priority(level, reasons)
