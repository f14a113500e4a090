"""Sentiment corrections from the people reading the cards, kept as labelled data for retraining."""

from __future__ import annotations

from datetime import datetime
from typing import TextIO

from sqlmodel import Session, col, select

from bot.services.cards import NotAllowed, load_card_in
from bot.store.models import Mention, SentimentFeedback
from scoring.sentiment import LABELS

FEEDBACK_LABELS: tuple[str, ...] = LABELS
EXPORT_COLUMNS = (
    "mention_id",
    "network",
    "label",
    "model_label",
    "model_polarity",
    "user",
    "at",
    "text",
)


def record_sentiment_feedback(
    card_id: int,
    label: str,
    user_id: str,
    *,
    channel_id: str,
    session: Session,
    now: datetime,
) -> SentimentFeedback:
    """Store what `user_id` says the card's mention really is, next to what overheard said.

    One correction per person per mention: saying it again replaces their earlier one.
    """
    if label not in FEEDBACK_LABELS:
        raise NotAllowed(f"Pick one of: {', '.join(FEEDBACK_LABELS)}.")
    mention = load_card_in(card_id, channel_id, session=session).mention
    assert mention.id is not None
    stmt = select(SentimentFeedback).where(
        SentimentFeedback.mention_id == mention.id, SentimentFeedback.user_id == user_id
    )
    feedback = session.exec(stmt).first() or SentimentFeedback(
        mention_id=mention.id, user_id=user_id, label=label, at=now
    )
    feedback.label = label
    feedback.model_label = mention.sentiment_label
    feedback.model_polarity = mention.sentiment_polarity
    feedback.at = now
    session.add(feedback)
    session.flush()
    return feedback


def export_feedback(out: TextIO, *, session: Session) -> int:
    """Write every correction as TSV (a header, then one line each, oldest first); return how many.

    The text is what the model read (title and text), on one line: tabs and line breaks in it
    become spaces, so every row has exactly the header's columns.
    """
    out.write("\t".join(EXPORT_COLUMNS) + "\n")
    stmt = (
        select(SentimentFeedback, Mention)
        .join(Mention, col(Mention.id) == SentimentFeedback.mention_id)
        .order_by(col(SentimentFeedback.at), col(SentimentFeedback.id))
    )
    count = 0
    for feedback, mention in session.exec(stmt):
        polarity = feedback.model_polarity
        fields = [
            str(feedback.mention_id),
            mention.network,
            feedback.label,
            feedback.model_label or "",
            "" if polarity is None else f"{polarity:.4f}",
            feedback.user_id,
            feedback.at.isoformat(),
            " ".join(filter(None, [mention.title, mention.text])),
        ]
        out.write("\t".join(_one_line(field) for field in fields) + "\n")
        count += 1
    return count


def _one_line(text: str) -> str:
    return " ".join(text.split())
