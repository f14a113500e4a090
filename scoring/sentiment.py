"""Sentiment of a mention: polarity, a label and the cues behind it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from textblob import TextBlob

Label = Literal["negative", "neutral", "positive", "unknown"]

# Polarity beyond this (either way) is a label; inside it, neutral.
NEUTRAL_BAND = 0.05
_WORD = re.compile(r"[^\W\d_]{2,}")
_URL = re.compile(r"https?://\S+")
_HANDLE = re.compile(r"(?<!\w)@[\w.]+")


@dataclass(frozen=True, slots=True)
class Sentiment:
    """How positive or negative a text reads, and why."""

    polarity: float
    subjectivity: float
    label: Label
    cues: list[str] = field(default_factory=list)


def analyze(text: str) -> Sentiment:
    """Score `text` with TextBlob's lexicon; text with no words is `unknown`, not neutral."""
    cleaned = _HANDLE.sub(" ", _URL.sub(" ", text))
    if not _WORD.search(cleaned):
        return Sentiment(0.0, 0.0, "unknown", ["no words to judge"])
    blob = TextBlob(cleaned)
    polarity = float(blob.sentiment.polarity)
    subjectivity = float(blob.sentiment.subjectivity)
    cues = [
        f"{' '.join(words)} ({pol:+.2f})"
        for words, pol, _subj, _ in blob.sentiment_assessments.assessments
    ]
    if polarity > NEUTRAL_BAND:
        label: Label = "positive"
    elif polarity < -NEUTRAL_BAND:
        label = "negative"
    else:
        label = "neutral"
    return Sentiment(round(polarity, 3), round(subjectivity, 3), label, cues)
