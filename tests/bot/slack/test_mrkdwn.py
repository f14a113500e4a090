"""Fitting text in Slack's limits: never half an entity or a link, emoji counted twice."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.mrkdwn import escaped_within, fit_mrkdwn, plain_within, slack_len


def test_text_within_the_limit_is_left_as_it_is() -> None:
    assert fit_mrkdwn("Tom &amp; <#C0123>", 18) == "Tom &amp; <#C0123>"
    assert plain_within("😟" * 10, 20) == "😟" * 10


def test_a_cut_never_splits_an_escaped_character() -> None:
    fitted = fit_mrkdwn("a" + "&amp;" * 10, 9)

    assert fitted == "a&amp;…"


def test_a_cut_never_splits_a_channel_mention_or_link() -> None:
    fitted = fit_mrkdwn("see <#C0123ABCD> and <https://example.com|this>", 10)

    assert fitted == "see…"


def test_astral_emoji_count_as_two_units() -> None:
    assert slack_len("😟") == 2
    assert plain_within("😟" * 10, 9) == "😟" * 4 + "…"
    assert slack_len(escaped_within("&😟" * 100, 300)) <= 300


def test_escaped_within_escapes_once_then_fits() -> None:
    assert escaped_within("<b>Tom & Jerry</b>", 100) == "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"
    assert escaped_within("&" * 100, 12) == "&amp;&amp;…"


@settings(max_examples=300, deadline=None, database=None)
@given(
    pieces=st.lists(
        st.sampled_from(["&amp;", "&lt;", "&gt;", "<#C0123ABCD>", "<@U042>", "a", " ", "😟", "\n"])
    ),
    limit=st.integers(min_value=1, max_value=80),
)
def test_any_cut_keeps_every_entity_and_link_whole(pieces: list[str], limit: int) -> None:
    mrkdwn = "".join(pieces)

    fitted = fit_mrkdwn(mrkdwn, limit)

    assert slack_len(fitted) <= limit
    body = fitted.removesuffix("…") if fitted != mrkdwn else fitted
    assert mrkdwn.startswith(body)
    leftover = re.sub(r"&(?:amp|lt|gt);|<[#@][^<>]*>", "", body)
    assert "&" not in leftover
    assert "<" not in leftover
    assert ">" not in leftover


@pytest.mark.parametrize("limit", [1, 2])
def test_a_tiny_limit_still_gives_valid_text(limit: int) -> None:
    assert fit_mrkdwn("&amp;&amp;", limit) == "…"
