"""Slack's mrkdwn: escaping outside text, fitting text without cutting an entity, safe links."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from bot.text import ELLIPSIS

# Characters a URL keeps as they are in a Slack link; `|`, `<`, `>`, spaces, quotes and
# non-ASCII are percent-encoded so the URL can't end the link early or forge its label.
_URL_SAFE_CHARS = "/:?#[]@!$&'()*+,;=%~"
_LINK_SCHEMES = frozenset({"http", "https"})
# What a cut must keep whole: an escaped character, a `<…>` link or mention, else one character.
_PIECE = re.compile(r"&(?:amp|lt|gt);|<[^<>]*>|.", re.DOTALL)


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters so outside text can't ping, mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_within(text: str, limit: int) -> str:
    """Escape outside text for mrkdwn and fit it in `limit` (see `fit_mrkdwn`)."""
    return fit_mrkdwn(escape_mrkdwn(text), limit)


def fit_mrkdwn(mrkdwn: str, limit: int) -> str:
    """Cut mrkdwn to `limit` UTF-16 units, ending in an ellipsis, never inside `&amp;` or `<…>`.

    Only ever cut between pieces, so a cut can't leave half an entity or half a link or
    channel mention for Slack to misread.
    """
    if slack_len(mrkdwn) <= limit:
        return mrkdwn
    return _cut((m.group() for m in _PIECE.finditer(mrkdwn)), limit)


def plain_within(text: str, limit: int) -> str:
    """Cut plain text (a header, a button) to `limit` UTF-16 units, ending in an ellipsis."""
    if slack_len(text) <= limit:
        return text
    return _cut(text, limit)


def slack_len(text: str) -> int:
    """Length in UTF-16 code units, so an astral emoji counts twice.

    Slack doesn't say how it counts characters; this is the stricter reading, so text that
    fits it fits any.
    """
    return len(text.encode("utf-16-le")) // 2


def _cut(pieces: Iterable[str], limit: int) -> str:
    """Join whole pieces while they and an ellipsis fit in `limit` UTF-16 units."""
    budget = limit - slack_len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for piece in pieces:
        used += slack_len(piece)
        if used > budget:
            break
        out.append(piece)
    return "".join(out).rstrip() + ELLIPSIS


def safe_http_url(url: str | None, *, max_chars: int = 2000) -> str | None:
    """Return `url` percent-encoded for a Slack link if it is a plain http(s) URL, else None."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if parts.scheme.lower() not in _LINK_SCHEMES or not parts.hostname:
        return None
    if "@" in parts.netloc:  # `https://bank.example@evil.example` fools readers
        return None
    encoded = quote(url, safe=_URL_SAFE_CHARS)
    return encoded if len(escape_mrkdwn(encoded)) <= max_chars else None


def mrkdwn_link(url: str, label: str) -> str:
    """Link an already safe URL (see `safe_http_url`) with an already escaped label."""
    return f"<{escape_mrkdwn(url)}|{label}>"
