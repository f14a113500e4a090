"""Turning outside text into plain, bounded text: tags, control characters and odd spacing gone."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

# Block-level tags whose boundaries are line breaks in the plain text.
_BREAK_TAGS = frozenset({"p", "br", "div", "li", "blockquote", "pre", "tr", "h1", "h2", "h3"})
_SKIP_TAGS = frozenset({"script", "style"})
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\f\v]+")
ELLIPSIS = "…"


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


# Every token shape Slack issues: bot, user, app-level, legacy, refresh (xoxe-1-…) and
# rotating access tokens (xoxe.xoxp-1-…).
_TOKEN = re.compile(r"\b(xox[a-z]|xapp)(?:\.xox[a-z])?-[A-Za-z0-9-]+")
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# Credentials networks take in a URL's query (Stack Exchange's `key`, OAuth's secrets).
_QUERY_SECRET = re.compile(
    r"([?&](?:key|api_key|apikey|access_token|refresh_token|client_secret|token|"
    r"password|secret|sig|signature)=)[^&\s#'\"]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """`text` with Slack tokens, Authorization credentials and URL secrets masked."""
    text = _TOKEN.sub(r"\1-[redacted]", text)
    text = _BEARER.sub(r"\1 [redacted]", text)
    return _QUERY_SECRET.sub(r"\1[redacted]", text)
