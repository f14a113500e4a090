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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from bot.sources.base import FetchedMention, SearchSpec
from bot.sources.network import Dialect

QUERY_MAX_CHARS = 500
MAX_TERMS = 30
Kind = Literal["word", "phrase", "handle", "tag", "author", "site"]

_TOKEN = re.compile(r'-?"[^"]*"|\S+')
_LANG = re.compile(r"^[a-z]{2}$")
_BARE = re.compile(r"^[\w.'&+-]+$", re.UNICODE)
_HANDLE = re.compile(r"^[\w.@-]+$", re.UNICODE)
_TAG = re.compile(r"^\w+$", re.UNICODE)
_SITE = re.compile(r"^[a-z0-9.-]+\.[a-z]{2,}$")


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

    @property
    def label(self) -> str:
        """The term as a reader would name it: a phrase without its quotes, @handle, #tag."""
        return self.value if self.kind == "phrase" else str(self)


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
        return self.why(text, author=author, url=url, lang=lang) is not None

    def why(
        self,
        text: str,
        *,
        author: str | None = None,
        url: str | None = None,
        lang: str | None = None,
    ) -> tuple[Term, ...] | None:
        """The terms of the first alternative the post answers; None when it answers none."""
        if self.lang and lang and not lang.lower().startswith(self.lang):
            return None  # an unknown language is kept: better shown than hidden
        folded = _fold(text)
        if any(_term_matches(t, folded, author, url) for t in self.exclusions):
            return None
        for alternative in self.alternatives:
            if all(_term_matches(t, folded, author, url) for t in alternative):
                return alternative
        return None

    def specs(self, dialect: Dialect, options: Mapping[str, str] | None = None) -> list[SearchSpec]:
        """The searches to run on a network: one, or one per alternative where OR is unknown.

        `options` are the watch's options for that network, handed to each search as they are.
        """
        everything = tuple(t for alt in self.alternatives for t in alt)
        if dialect.whole_feed:
            searches = [(self.source_text, everything)]
        elif dialect.or_operator:
            searches = [(_native_or(self, dialect), everything)]
        else:
            searches = [
                (_native_clause(alt, self.exclusions, self.lang, dialect), alt)
                for alt in self.alternatives
            ]
        specs: dict[str, SearchSpec] = {}
        for native, terms in searches:
            tags = tuple(dict.fromkeys(t.value for t in terms if t.kind == "tag"))
            specs.setdefault(
                native,
                SearchSpec(
                    query=native, hashtags=tags, lang=self.lang, options=dict(options or {})
                ),
            )
        return list(specs.values())


def matched_terms(query: Query, mention: FetchedMention) -> tuple[Term, ...] | None:
    """The query terms a fetched post answers (None when it answers none), read from its words.

    A reply is read with its conversation's title, which is often why the network found it.
    """
    title = mention.title or mention.conversation_title
    text = "\n".join(filter(None, [title, mention.text]))
    return query.why(text, author=mention.author.handle, url=mention.url, lang=mention.lang)


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


def _native_term(term: Term, dialect: Dialect) -> str | None:
    """How a network's search spells a term, or None when it has no way to say it."""
    if term.kind == "phrase":
        return f'"{term.value}"'
    if term.kind == "word":
        return term.value
    if term.kind == "tag":
        return f"#{term.value}" if dialect.sigils else term.value
    if term.kind == "handle":
        return f"@{term.value}" if dialect.sigils else term.value
    operator = dialect.author if term.kind == "author" else dialect.site
    return f"{operator}{term.value}" if operator else None


def _native_exclusions(exclusions: tuple[Term, ...], dialect: Dialect) -> list[str]:
    if dialect.exclude is None:  # the search can't leave anything out: the re-check does
        return []
    spelled = (_native_term(t, dialect) for t in exclusions)
    return [f"{dialect.exclude}{p}" for p in spelled if p]


def _native_lang(lang: str | None, dialect: Dialect) -> list[str]:
    return [f"{dialect.lang}{lang}"] if lang and dialect.lang else []


def _native_clause(
    alternative: tuple[Term, ...], exclusions: tuple[Term, ...], lang: str | None, dialect: Dialect
) -> str:
    parts = [p for p in (_native_term(t, dialect) for t in alternative) if p]
    parts += _native_exclusions(exclusions, dialect)
    return " ".join(parts + _native_lang(lang, dialect))


def _native_or(query: Query, dialect: Dialect) -> str:
    clauses = []
    for alternative in query.alternatives:
        parts = [p for p in (_native_term(t, dialect) for t in alternative) if p]
        clause = " ".join(parts)
        clauses.append(f"({clause})" if len(parts) > 1 and len(query.alternatives) > 1 else clause)
    native = " OR ".join(clauses)
    if len(query.alternatives) > 1:
        native = f"({native})"
    extra = _native_exclusions(query.exclusions, dialect) + _native_lang(query.lang, dialect)
    return " ".join([native, *extra])
