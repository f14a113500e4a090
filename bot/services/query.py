"""The watch query language: parse it, translate it to each network's search, re-check locally.

    "acme cloud" OR @acme OR #acmecloud -jobs -author:acmebot -site:spam.example lang:en

Terms side by side must all match; `OR` separates alternatives; a `-` term excludes, wherever
it stands; `lang:xx` keeps one language. Words match whole words, case-insensitively;
"quoted phrases" match as written (spacing aside); `@handle` matches a mention of that account
or a post by it; `#tag` matches the hashtag. `-author:x` drops posts by x and `-site:x` drops
links to x and its subdomains. Each network is asked as much of this as its search
understands; every mention is then re-checked here, so no network's quirks leak through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from bot.sources.base import SearchSpec

QUERY_MAX_CHARS = 500
MAX_TERMS = 30
Kind = Literal["word", "phrase", "handle", "tag", "author", "site"]

_TOKEN = re.compile(r'-?"[^"]*"|\S+')
_LANG = re.compile(r"^[a-z]{2}$")
_BARE = re.compile(r"^[\w.'&+-]+$", re.UNICODE)
_HANDLE = re.compile(r"^[\w.@-]+$", re.UNICODE)
_TAG = re.compile(r"^\w+$", re.UNICODE)
_SITE = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}$")
# Networks whose search understands OR between alternatives.
OR_NETWORKS = frozenset({"x", "reddit"})
# Networks that hand over a whole feed, unsearched: one read, filtered here.
FEED_NETWORKS = frozenset({"rss", "appstore"})


class QueryError(ValueError):
    """A query overheard can't run; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Term:
    """One piece of a query: a word, a phrase, @handle, #tag, author:x or site:x."""

    kind: Kind
    value: str

    def __str__(self) -> str:
        prefix = {"handle": "@", "tag": "#", "author": "author:", "site": "site:"}.get(
            self.kind, ""
        )
        return f'"{self.value}"' if self.kind == "phrase" else prefix + self.value


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: alternatives of required terms, exclusions and a language."""

    alternatives: tuple[tuple[Term, ...], ...]
    exclusions: tuple[Term, ...] = ()
    lang: str | None = None
    source_text: str = field(default="", compare=False)

    def matches(
        self,
        text: str,
        *,
        author: str | None = None,
        url: str | None = None,
        lang: str | None = None,
    ) -> bool:
        """True when a post with this text, author, URL and language answers the query."""
        if self.lang and lang and not lang.lower().startswith(self.lang):
            return False  # an unknown language is kept: better shown than hidden
        folded = _fold(text)
        if any(_term_matches(t, folded, author, url) for t in self.exclusions):
            return False
        return any(
            all(_term_matches(t, folded, author, url) for t in alternative)
            for alternative in self.alternatives
        )

    def specs(self, network: str, **options: str | None) -> list[SearchSpec]:
        """The searches to run on `network`: one, or one per alternative where OR is unknown."""
        common = {k: v for k, v in options.items() if v is not None}
        everything = tuple(t for alt in self.alternatives for t in alt)
        if network in FEED_NETWORKS:
            searches = [(self.source_text, everything)]
        elif network in OR_NETWORKS:
            searches = [(_native_or(self, network), everything)]
        else:
            searches = [
                (_native_clause(alt, self.exclusions, network), alt) for alt in self.alternatives
            ]
        specs: dict[str, SearchSpec] = {}
        for native, terms in searches:
            tags = tuple(dict.fromkeys(t.value for t in terms if t.kind == "tag"))
            specs.setdefault(
                native, SearchSpec(query=native, hashtags=tags, lang=self.lang, **common)
            )
        return list(specs.values())


def parse_query(raw: str) -> Query:
    """Parse the query language; raise QueryError with a clear message when it is off."""
    text = " ".join(raw.split())
    if not text:
        raise QueryError("the query is empty")
    if len(text) > QUERY_MAX_CHARS:
        raise QueryError(f"the query is longer than {QUERY_MAX_CHARS} characters")
    if text.count('"') % 2:
        raise QueryError('a quote is not closed: phrases go in "double quotes"')
    if "(" in text or ")" in text:
        raise QueryError("parentheses are not supported: write alternatives with OR")
    alternatives: list[list[Term]] = [[]]
    exclusions: list[Term] = []
    lang: str | None = None
    pieces = _TOKEN.findall(text)
    for i, piece in enumerate(pieces):
        if piece == "OR":
            if i == 0 or i == len(pieces) - 1 or pieces[i - 1] == "OR":
                raise QueryError("OR needs something on both sides")
            if not alternatives[-1]:
                raise QueryError("OR needs a term on its left, not only exclusions")
            alternatives.append([])
            continue
        if piece.lower().startswith("lang:"):
            code = piece[5:].lower()
            if not _LANG.match(code):
                raise QueryError(f"{piece!r}: lang: takes a two-letter code, like lang:en")
            if lang and lang != code:
                raise QueryError("only one lang: per query")
            lang = code
            continue
        if piece.startswith("-") and len(piece) > 1:
            exclusions.append(_term(piece[1:], excluded=True))
        else:
            alternatives[-1].append(_term(piece, excluded=False))
    if not alternatives[-1]:
        raise QueryError("the query needs at least one term to look for, not only exclusions")
    if sum(len(a) for a in alternatives) + len(exclusions) > MAX_TERMS:
        raise QueryError(f"the query has more than {MAX_TERMS} terms")
    return Query(tuple(tuple(a) for a in alternatives), tuple(exclusions), lang, text)


def _term(token: str, *, excluded: bool) -> Term:
    lowered = token.lower()
    if token.startswith('"'):
        phrase = " ".join(token.strip('"').split())
        if not phrase:
            raise QueryError('an empty "" phrase')
        return Term("phrase", phrase)
    if lowered.startswith(("author:", "site:")):
        kind, _, value = lowered.partition(":")
        if not excluded:
            raise QueryError(f"{token!r}: {kind}: is only for exclusions, as -{kind}:…")
        if kind == "site":
            if not _SITE.match(value):
                raise QueryError(f"{token!r}: site: takes a domain, like -site:example.com")
            return Term("site", value)
        value = value.lstrip("@")
        if not value or not _HANDLE.match(value):
            raise QueryError(f"{token!r}: author: takes a handle, like -author:acmebot")
        return Term("author", value)
    if token.startswith("@"):
        if len(token) < 2 or not _HANDLE.match(token[1:]):
            raise QueryError(f"{token!r} is not a handle")
        return Term("handle", token[1:])
    if token.startswith("#"):
        if len(token) < 2 or not _TAG.match(token[1:]):
            raise QueryError(f"{token!r} is not a hashtag")
        return Term("tag", token[1:])
    if ":" in token and not token.startswith("http"):
        raise QueryError(f"{token!r}: unknown operator (known: -author:, -site:, lang:)")
    if not _BARE.match(token):
        raise QueryError(f'{token!r}: put words with symbols in "double quotes"')
    return Term("word", token)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _bounded(needle: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])" + re.escape(needle.casefold()) + r"(?![\w])")


def _term_matches(term: Term, folded: str, author: str | None, url: str | None) -> bool:
    if term.kind in ("word", "phrase"):
        return bool(_bounded(" ".join(term.value.split())).search(folded))
    if term.kind == "tag":
        return bool(_bounded("#" + term.value).search(folded))
    handle = term.value.casefold().lstrip("@")
    author_folded = (author or "").casefold().lstrip("@")
    by_them = author_folded == handle or author_folded.split("@")[0] == handle
    if term.kind == "author":
        return by_them
    if term.kind == "handle":
        return by_them or bool(_bounded("@" + handle).search(folded))
    host = (urlsplit(url).hostname or "") if url else ""
    return (
        host == term.value
        or host.endswith("." + term.value)
        or (bool(_bounded(term.value).search(folded)))
    )


def _native_term(term: Term, network: str) -> str | None:
    """How `network`'s search spells a term, or None when it has no way to say it."""
    if term.kind == "phrase":
        return f'"{term.value}"'
    if term.kind == "word":
        return term.value
    if term.kind == "tag":
        return f"#{term.value}" if network in ("x", "bluesky", "mastodon") else term.value
    if term.kind == "handle":
        return f"@{term.value}" if network in ("x", "bluesky", "mastodon") else term.value
    if term.kind == "author":
        return {"x": f"from:{term.value}"}.get(network)
    return {"x": f"url:{term.value}", "reddit": f"site:{term.value}"}.get(network)


def _native_clause(
    alternative: tuple[Term, ...], exclusions: tuple[Term, ...], network: str
) -> str:
    parts = [p for p in (_native_term(t, network) for t in alternative) if p]
    if network in ("hackernews", "x", "bluesky"):  # searches that understand -term
        parts += [f"-{p}" for p in (_native_term(t, network) for t in exclusions) if p]
    return " ".join(parts)


def _native_or(query: Query, network: str) -> str:
    clauses = []
    for alternative in query.alternatives:
        parts = [p for p in (_native_term(t, network) for t in alternative) if p]
        clause = " ".join(parts)
        clauses.append(f"({clause})" if len(parts) > 1 and len(query.alternatives) > 1 else clause)
    native = " OR ".join(clauses)
    if len(query.alternatives) > 1:
        native = f"({native})"
    negate = "-" if network == "x" else "NOT "
    for term in query.exclusions:
        spelled = _native_term(term, network)
        if spelled:
            native += f" {negate}{spelled}"
    if network == "x" and query.lang:
        native += f" lang:{query.lang}"
    return native
