"""Slack's mrkdwn: escaping outside text, fitting it without cutting an entity, safe links."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from bot.text import ELLIPSIS

# Characters a URL keeps as they are in a Slack link; `|`, `<`, `>`, spaces, quotes and
# non-ASCII are percent-encoded so the URL can't end the link early or forge its label.
_URL_SAFE_CHARS = "/:?#[]@!$&'()*+,;=%~"
_LINK_SCHEMES = frozenset({"http", "https"})


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters so outside text can't ping, mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escaped_within(text: str, limit: int) -> str:
    """Escape for mrkdwn and fit in `limit` characters without splitting an entity."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    # Cut the plain text so that its escaped form fits, so no `&amp;` is cut in half.
    budget = limit - len(ELLIPSIS)
    out: list[str] = []
    used = 0
    for ch in text:
        piece = escape_mrkdwn(ch)
        if used + len(piece) > budget:
            break
        out.append(piece)
        used += len(piece)
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
