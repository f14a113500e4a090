"""/score's view of a stored author: history newest first, recent mentions and their handling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.cards import SYSTEM_ACTOR
from bot.services.reach import (
    HISTORY_SHOWN,
    RECENT_MENTIONS_SHOWN,
    Handled,
    find_stored_authors,
    reach_label,
    report_author,
)
from bot.store.db import session_scope
from bot.store.models import Author, AuthorScore, Card, CardState, Mention
from tests.factories import NOW, make_posted_card


def author_id_of(engine: Engine, handle: str = "kestrel") -> int:
    with session_scope(engine) as session:
        author = session.exec(select(Author).where(Author.handle == handle)).one()
        assert author.id is not None
        return author.id


def set_card(engine: Engine, card_id: int, **fields: object) -> None:
    with session_scope(engine) as session:
        card = session.get(Card, card_id)
        assert card is not None
        for name, value in fields.items():
            setattr(card, name, value)
        session.add(card)


def test_recent_mentions_say_how_each_was_handled(engine: Engine) -> None:
    cards = [
        make_posted_card(engine, external_id=str(i), created_at=NOW - timedelta(hours=i))
        for i in range(6)
    ]
    set_card(
        engine,
        cards[0],
        state=CardState.RESOLVED,
        closed_by="UBOB",
        closed_at=NOW + timedelta(minutes=12),
    )
    set_card(engine, cards[1], state=CardState.CLAIMED, claimed_by="UCAROL")
    set_card(engine, cards[2], state=CardState.DISMISSED, closed_by="UDAN", closed_at=NOW)
    set_card(engine, cards[3], state=CardState.DISMISSED, closed_by=SYSTEM_ACTOR, closed_at=NOW)
    # cards[4] stays open, posted at NOW

    with session_scope(engine) as session:
        report = report_author(author_id_of(engine), session=session, now=NOW + timedelta(hours=3))

    assert report is not None
    shown = [(m.mention.external_id, m.handled, m.by, m.span) for m in report.mentions]
    assert len(shown) == RECENT_MENTIONS_SHOWN  # the oldest of six is left out
    assert shown == [
        ("0", Handled.RESOLVED, "UBOB", timedelta(minutes=12)),
        ("1", Handled.CLAIMED, "UCAROL", None),
        ("2", Handled.DISMISSED, "UDAN", None),
        ("3", Handled.MUTED, None, None),
        ("4", Handled.OPEN, None, timedelta(hours=3)),
    ]


def test_a_mention_without_a_card_or_still_queued_says_so(engine: Engine) -> None:
    card_id = make_posted_card(engine, external_id="1")
    set_card(engine, card_id, state=CardState.QUEUED, posted_at=None)
    with session_scope(engine) as session:
        mention = session.exec(select(Mention)).one()
        session.add(
            Mention(
                **{
                    **mention.model_dump(exclude={"id"}),
                    "external_id": "2",
                    "created_at": NOW - timedelta(days=1),
                }
            )
        )

    with session_scope(engine) as session:
        report = report_author(author_id_of(engine), session=session, now=NOW)

    assert report is not None
    assert [m.handled for m in report.mentions] == [Handled.QUEUED, Handled.NO_CARD]


def test_score_history_is_newest_first_and_capped(engine: Engine) -> None:
    make_posted_card(engine)
    author_id = author_id_of(engine)
    with session_scope(engine) as session:
        for i in range(HISTORY_SHOWN + 3):
            session.add(
                AuthorScore(
                    author_id=author_id,
                    at=NOW + timedelta(days=i),
                    value=i + 1,
                    formula_version="1.0+ref.1",
                )
            )

    with session_scope(engine) as session:
        report = report_author(author_id, session=session, now=NOW)

    assert report is not None
    assert [s.value for s in report.history] == list(range(HISTORY_SHOWN + 3, 3, -1))
    assert report.earlier_scores == 4  # three of these and the first score, when stored


def test_an_author_no_longer_stored_has_no_report(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert report_author(404, session=session, now=NOW) is None


def test_a_handle_finds_authors_in_any_case_and_with_their_server(engine: Engine) -> None:
    with session_scope(engine) as session:
        for network, handle in [
            ("hackernews", "Gargron"),
            ("mastodon", "gargron@mastodon.social"),
            ("reddit", "gargronx"),
            ("x", "g_rgron"),
        ]:
            session.add(Author(network=network, external_id=handle, handle=handle))

    with session_scope(engine) as session:
        found = {a.network for a in find_stored_authors("GARGRON", None, session=session)}
        on_mastodon = find_stored_authors("gargron", "mastodon", session=session)
        wildcard = find_stored_authors("g_rgron", None, session=session)
        percent = find_stored_authors("%", None, session=session)

    assert found == {"hackernews", "mastodon"}
    assert [a.handle for a in on_mastodon] == ["gargron@mastodon.social"]
    assert [a.handle for a in wildcard] == ["g_rgron"]  # `_` is no wildcard here
    assert percent == []


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (None, "not scored"),
        (1, "low"),
        (39, "low"),
        (40, "medium"),
        (70, "high"),
        (90, "very high"),
        (100, "very high"),
    ],
)
def test_reach_has_a_word_for_people(score: int | None, label: str) -> None:
    assert reach_label(score) == label
