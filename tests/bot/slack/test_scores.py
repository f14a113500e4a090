"""The /score card and its answers: every part shown, escaped, within Block Kit's limits."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import timedelta

import pytest

from bot.services.lookup import Lookup, NetworkAnswer
from bot.services.reach import AuthorReport, Handled, MentionHandling
from bot.slack.scores import build_lookup_answer, build_score_cards
from bot.store.models import Author, AuthorScore, Mention
from scoring import influence
from tests.factories import NOW
from tests.fakes.slack_api import MAX_MESSAGE_BLOCKS, validate_blocks

HOSTILE = "<!channel> <@U0ADMIN> <https://evil.example|x> &amp; " * 60


def author(author_id: int = 1, **fields: object) -> Author:
    reach = influence.score(
        influence.AuthorMetrics(network="x", followers=1000, posts=3000, verified=True), now=NOW
    )
    values: dict[str, object] = {
        "id": author_id,
        "network": "x",
        "external_id": str(author_id),
        "handle": "jack",
        "score": reach.value,
        "score_breakdown": {
            "formula_version": reach.formula_version,
            "confidence": reach.confidence,
            "factors": [asdict(f) for f in reach.factors],
        },
    }
    values.update(fields)
    return Author(**values)


def mention(i: int, **fields: object) -> Mention:
    values: dict[str, object] = {
        "id": i,
        "network": "x",
        "external_id": str(i),
        "url": f"https://x.com/jack/status/{i}",
        "text": "Acme is down again",
        "created_at": NOW - timedelta(hours=i),
        "fetched_at": NOW,
    }
    values.update(fields)
    return Mention(**values)


def report(a: Author, mentions: list[MentionHandling] | None = None) -> AuthorReport:
    history = [
        AuthorScore(
            author_id=a.id or 0,
            at=NOW - timedelta(days=i),
            value=50 - i,
            formula_version="1.0+ref.1",
        )
        for i in range(10)
    ]
    return AuthorReport(a, history, 3, mentions or [])


def shown(message: dict[str, object]) -> str:
    return json.dumps(message, ensure_ascii=False)


@pytest.mark.parametrize(
    ("handling", "words"),
    [
        (MentionHandling(mention(1), Handled.RESOLVED, by="UBOB", span=timedelta(minutes=12)),
         "resolved by <@UBOB> after 12 min"),
        (MentionHandling(mention(1), Handled.OPEN, span=timedelta(hours=3)),
         "open, unclaimed for 3 h"),
        (MentionHandling(mention(1), Handled.CLAIMED, by="UCAROL"), "claimed by <@UCAROL>"),
        (MentionHandling(mention(1), Handled.DISMISSED, by="UDAN"), "dismissed by <@UDAN>"),
        (MentionHandling(mention(1), Handled.MUTED), "dismissed: the author is muted"),
        (MentionHandling(mention(1), Handled.QUEUED), "queued, not posted yet"),
        (MentionHandling(mention(1), Handled.NO_CARD), "stored, no card"),
        (MentionHandling(mention(1), Handled.SNOOZED, until=NOW), "snoozed until <!date^"),
    ],
)  # fmt: skip
def test_every_handling_is_told_in_words(handling: MentionHandling, words: str) -> None:
    message = build_score_cards([report(author(), [handling])], now=NOW).to_slack()

    assert "x.com/jack/status/1|“Acme is down again”> (<!date^" in shown(message)
    assert words in shown(message)


def test_the_card_shows_history_newest_first_and_says_how_many_are_older() -> None:
    text = shown(build_score_cards([report(author())], now=NOW).to_slack())

    assert text.index("• 50/100 on") < text.index("• 49/100 on") < text.index("• 41/100 on")
    assert "…and 3 earlier" in text


def test_a_verified_author_reads_yes_and_points_add_up_to_the_score() -> None:
    a = author()
    text = shown(build_score_cards([report(a)], now=NOW).to_slack())

    assert "verified: yes → " in text
    assert "base: every author → 1 pt\\n" in text  # one point, and json.dumps escapes the newline
    assert f"= *{a.score}*" in text


def engaged(median: float | None, sample: int) -> Author:
    reach = influence.score(
        influence.AuthorMetrics(
            network="x", followers=1000, median_engagement=median, engagement_sample=sample
        ),
        now=NOW,
    )
    breakdown = {"formula_version": reach.formula_version, "confidence": reach.confidence}
    return author(
        score=reach.value,
        score_breakdown={**breakdown, "factors": [asdict(f) for f in reach.factors]},
    )


@pytest.mark.parametrize(
    ("median", "sample", "line"),
    [
        (40.0, 12, "median engagement: 40 per post, median of 12 posts → 17 pts"),
        (2.5, 3, "median engagement: 2.5 per post, not counted: 3 of the 5 posts needed; "
         "its weight went to the audience → 0 pts"),
        (None, 0, "median engagement: not measured: no posts seen yet → 0 pts"),
    ],
)  # fmt: skip
def test_the_card_says_whether_engagement_was_measured_and_on_how_many_posts(
    median: float | None, sample: int, line: str
) -> None:
    a = engaged(median, sample)
    text = shown(build_score_cards([report(a)], now=NOW).to_slack())

    assert line in text
    assert f"= *{a.score}*" in text


def test_three_hostile_authors_with_full_cards_fit_one_message() -> None:
    long_url = "https://x.com/" + "a" * 1900
    mentions = [
        MentionHandling(mention(i, text=HOSTILE, url=long_url), Handled.DISMISSED, by=HOSTILE)
        for i in range(5)
    ]
    reports = [
        report(author(i, handle=HOSTILE[:255], display_name=HOSTILE[:255], url=long_url), mentions)
        for i in range(3)
    ]

    message = build_score_cards(reports, now=NOW, also_on=["reddit", "bluesky"]).to_slack()

    assert validate_blocks(message["blocks"]) == []
    assert len(message["blocks"]) <= MAX_MESSAGE_BLOCKS
    text = shown(message)
    assert "<!channel>" not in text and "<@U0ADMIN>" not in text
    assert "<https://evil.example" not in text
    assert "also on Bluesky, Reddit" in text


def test_a_shared_card_names_the_sharer_and_has_no_button() -> None:
    message = build_score_cards([report(author())], now=NOW, shared_by="UBOB").to_slack()

    assert "Shared by <@UBOB>" in shown(message)
    assert all(b["type"] != "actions" for b in message["blocks"])


def test_a_lookup_that_found_no_one_says_who_had_no_one_and_who_failed() -> None:
    lookup = Lookup(
        handle="<b>pg",
        reports=[],
        answers=[
            NetworkAnswer("hackernews"),
            NetworkAnswer("mastodon"),
            NetworkAnswer("bluesky", problem="did not answer in time"),
        ],
    )

    message = build_lookup_answer(lookup, now=NOW).to_slack()

    assert message["text"] == (
        "No one called &lt;b&gt;pg on Hacker News or Mastodon. Bluesky did not answer in time."
    )
