"""Builders for everything that is not a mention card: /score replies and help."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.slack.cards import Message, network_name
from bot.slack.mrkdwn import escape_mrkdwn, fit_mrkdwn
from bot.slack.scores import factor_line
from bot.store.models import Author

MAX_AUTHORS_SHOWN = 10
SECTION_MAX = 3000


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _factor_lines(author: Author) -> list[str]:
    breakdown = author.score_breakdown or {}
    lines = []
    for factor in breakdown.get("factors", []):
        lines.append(f"• {factor_line(factor)}")
    if breakdown:
        lines.append(
            f"_formula {escape_mrkdwn(str(breakdown.get('formula_version')))}, "
            f"confidence {escape_mrkdwn(str(breakdown.get('confidence')))}_"
        )
    return lines


def build_score_message(handle: str, authors: list[Author]) -> Message:
    """The /score reply: each matching author's reach score and the factors behind it."""
    if not authors:
        text = (
            f"No author called {escape_mrkdwn(handle)} has been seen yet. "
            "Scores exist for authors of mentions overheard has stored."
        )
        return Message(
            blocks=[SectionBlock(text=_mrkdwn(fit_mrkdwn(text, SECTION_MAX)))], text=text
        )
    blocks: list[Block] = []
    for author in authors[:MAX_AUTHORS_SHOWN]:
        network = network_name(author.network)
        name = escape_mrkdwn(author.display_name or author.handle)
        score = "not scored yet" if author.score is None else f"*{author.score}/100*"
        metrics = [
            f"{label} {value:,}"
            for label, value in (
                ("followers", author.followers),
                ("karma", author.karma),
                ("posts", author.posts),
            )
            if value is not None
        ]
        where = f"({escape_mrkdwn(author.handle)}) on {escape_mrkdwn(network)}"
        body = "\n".join(
            [f"*{name}* {where}: reach {score}"]
            + ([" · ".join(metrics)] if metrics else [])
            + _factor_lines(author)
        )
        blocks.append(SectionBlock(text=_mrkdwn(fit_mrkdwn(body, SECTION_MAX))))
    blocks.append(
        ContextBlock(
            elements=[_mrkdwn("Reach changes a mention's priority, never whether it is shown.")]
        )
    )
    best = authors[0]
    reach = "not scored yet" if best.score is None else f"{best.score}/100"
    fallback = f"{escape_mrkdwn(best.handle)}: reach {reach}"
    return Message(blocks=blocks, text=fallback)
