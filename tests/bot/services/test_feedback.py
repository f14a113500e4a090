"""Sentiment corrections: stored with who gave them and what the model said, exported as TSV."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.services.cards import NotAllowed
from bot.services.feedback import EXPORT_COLUMNS, export_feedback, record_sentiment_feedback
from bot.store.db import session_scope
from bot.store.models import SentimentFeedback
from tests.factories import CHANNEL, NOW, make_posted_card


def correct(
    engine: Engine, card_id: int, label: str, user: str = "UALICE", *, minutes: int = 0
) -> None:
    with session_scope(engine) as session:
        record_sentiment_feedback(
            card_id,
            label,
            user,
            channel_id=CHANNEL,
            session=session,
            now=NOW + timedelta(minutes=minutes),
        )


def rows(engine: Engine) -> list[tuple[str, str, str | None]]:
    with session_scope(engine) as session:
        found = session.exec(select(SentimentFeedback).order_by(col(SentimentFeedback.id))).all()
        return [(f.user_id, f.label, f.model_label) for f in found]


def test_a_correction_keeps_who_gave_it_and_what_the_model_said(engine: Engine) -> None:
    card_id = make_posted_card(engine)

    correct(engine, card_id, "positive")

    with session_scope(engine) as session:
        (row,) = session.exec(select(SentimentFeedback)).all()
    assert (row.user_id, row.label, row.at) == ("UALICE", "positive", NOW)
    assert row.model_label == "negative"  # "charged me twice … I want a refund"
    assert row.model_polarity is not None and row.model_polarity < 0


def test_each_person_has_one_correction_per_mention_and_can_change_it(engine: Engine) -> None:
    card_id = make_posted_card(engine)

    correct(engine, card_id, "positive", "UALICE")
    correct(engine, card_id, "neutral", "UBOB", minutes=1)
    correct(engine, card_id, "neutral", "UALICE", minutes=2)

    assert sorted(rows(engine)) == [
        ("UALICE", "neutral", "negative"),
        ("UBOB", "neutral", "negative"),
    ]


@pytest.mark.parametrize(("label", "channel"), [("angry", CHANNEL), ("positive", "C0ELSEWHERE")])
def test_an_unknown_label_or_another_channel_is_refused(
    engine: Engine, label: str, channel: str
) -> None:
    card_id = make_posted_card(engine)

    with pytest.raises(NotAllowed), session_scope(engine) as session:
        record_sentiment_feedback(
            card_id, label, "UALICE", channel_id=channel, session=session, now=NOW
        )

    assert rows(engine) == []


def test_the_export_is_one_tab_separated_line_per_correction_oldest_first(
    engine: Engine,
) -> None:
    card_id = make_posted_card(engine, text="Acme\tcharged me\ntwice.  Refund?")
    correct(engine, card_id, "neutral", "UBOB", minutes=5)
    correct(engine, card_id, "positive", "UALICE")
    out = io.StringIO()

    with session_scope(engine) as session:
        count = export_feedback(out, session=session)

    header, *lines = out.getvalue().splitlines()
    assert count == 2
    assert header.split("\t") == list(EXPORT_COLUMNS)
    fields = [line.split("\t") for line in lines]
    assert all(len(f) == len(EXPORT_COLUMNS) for f in fields)
    assert [(f[2], f[5]) for f in fields] == [("positive", "UALICE"), ("neutral", "UBOB")]
    mention_id, network, _, model_label, polarity, _, at, text = fields[0]
    assert (network, model_label, at) == ("hackernews", "negative", "2026-11-26T09:00:00+00:00")
    assert mention_id.isdigit() and float(polarity) < 0
    assert text == "Acme charged me twice. Refund?"
