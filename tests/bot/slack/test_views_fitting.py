"""Replies: outside text escaped once, long lists cut only between entities."""

from __future__ import annotations

import re
from typing import Any

from bot.slack.admin import build_help_message
from bot.slack.mrkdwn import slack_len
from bot.slack.views import build_score_message
from bot.store.models import Author, Watch
from tests.factories import NOW

# What may follow `&` or `<` in a reply: a whole entity, a whole channel mention.
WHOLE = re.compile(r"&(?:amp|lt|gt);|<#C[0-9]+>")


def make_watch(n: int, query: str) -> Watch:
    return Watch(
        id=n, query=query, sources=["hackernews", "rss"], channel_id=f"C{n:08d}", created_at=NOW
    )


def section_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def assert_nothing_cut_in_half(text: str) -> None:
    assert slack_len(text) <= 3000
    leftover = WHOLE.sub("", text)
    assert "&" not in leftover, leftover[-80:]
    assert "<" not in leftover
    assert ">" not in leftover


def test_a_long_list_of_watches_full_of_ampersands_is_cut_between_entities() -> None:
    watches = [make_watch(n, "Tom & Jerry & <Acme> " * 6) for n in range(1, 40)]

    text = section_texts([b.to_dict() for b in build_help_message(watches).blocks])[0]

    assert text.startswith("*Watches*\n• #1 `Tom &amp; Jerry &amp; &lt;Acme&gt; ")
    assert text.endswith("…")
    assert_nothing_cut_in_half(text)
    assert "<#C00000001>" in text


def test_every_cut_point_of_the_watch_list_leaves_whole_entities() -> None:
    # Shift the list one character at a time so the cut falls on every kind of position.
    for pad in range(12):
        watches = [make_watch(n, "&" * pad + " & <x> " * 30) for n in range(1, 30)]

        text = section_texts([b.to_dict() for b in build_help_message(watches).blocks])[0]

        assert_nothing_cut_in_half(text)


def test_an_unknown_handle_is_escaped_exactly_once() -> None:
    (text,) = section_texts([b.to_dict() for b in build_score_message("R&D", []).blocks])

    assert text.startswith("No author called R&amp;D has been seen yet.")


def test_an_author_with_a_long_breakdown_is_cut_between_entities() -> None:
    factors = [{"name": "Q&A <karma> " * 5, "raw": 10, "points": 3} for _ in range(60)]
    author = Author(
        network="stackexchange",
        handle="r&d@stackoverflow",
        display_name="R&D",
        score=40,
        score_breakdown={"factors": factors, "formula_version": "v2", "confidence": "low"},
    )

    (text,) = section_texts([b.to_dict() for b in build_score_message("r&d", [author]).blocks])

    assert text.startswith("*R&amp;D* (r&amp;d@stackoverflow) on Stack Exchange")
    assert_nothing_cut_in_half(text)
