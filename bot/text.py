"""Turning outside text into safe, plain, bounded text for Slack."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

# Block-level tags whose boundaries are line breaks in the plain text.
_BREAK_TAGS = frozenset({"p", "br", "div", "li", "blockquote", "pre", "tr", "h1", "h2", "h3"})
_SKIP_TAGS = frozenset({"script", "style"})
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\f\v]+")
ELLIPSIS = "…"
# Characters a URL keeps as they are in a Slack link; `|`, `<`, `>`, spaces, quotes and
# non-ASCII are percent-encoded so the URL can't end the link early or forge its label.
_URL_SAFE_CHARS = "/:?#[]@!$&'()*+,;=%~"
_LINK_SCHEMES = frozenset({"http", "https"})


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BREAK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BREAK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Strip tags and decode entities, keeping paragraph breaks as newlines."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return clean_text("".join(parser.parts))


def strip_control(text: str) -> str:
    """Drop NUL and other control and bidi-override characters, keeping newlines and tabs."""
    return "".join(
        ch
        for ch in text
        if ch in "\n\t"
        or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
        or ch in "\u200d"  # zero-width joiner holds emoji sequences together
    )


def clean_text(text: str) -> str:
    """Normalise outside text: control characters gone, spaces folded, blank runs collapsed."""
    text = strip_control(unicodedata.normalize("NFC", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _MANY_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's three control characters so outside text can't ping, mention or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters, ending in an ellipsis when cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(ELLIPSIS))].rstrip() + ELLIPSIS


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
