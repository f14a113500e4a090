"""Reading Block Kit the way a person reads it: the texts of a block tree, top to bottom."""

from __future__ import annotations

from typing import Any


def texts(node: Any) -> list[str]:
    """Every `text` string in a block tree (text objects, and a few elements' own `text`)."""
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for value in node.values() for t in texts(value)]
    return []


def typed_texts(node: Any, types: tuple[str, ...] = ("mrkdwn", "plain_text")) -> list[str]:
    """The text of every text object of these types in a block tree, top to bottom."""
    if isinstance(node, list):
        return [t for item in node for t in typed_texts(item, types)]
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") in types else []
        return own + [t for value in node.values() for t in typed_texts(value, types)]
    return []


def mrkdwn_texts(node: Any) -> list[str]:
    """Every mrkdwn string in a block tree."""
    return typed_texts(node, ("mrkdwn",))
