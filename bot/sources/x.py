"""X posts through the v2 recent search API with an app bearer token: parsing and fetching.

Paging and the cursor: a fetch asks for posts after `since_id` (the first fetch: since
`now - backfill`, at most the 7 days recent search covers) and drains `next_token`. The cursor
is `{"since_id": "<newest post id stored>"}`, ids compared as integers so it never moves back.
A fetch that stops early because `x-rate-limit-remaining` ran out returns what it read but
keeps the old cursor: X pages newest first, so what is missing lies below what was read, and
the next fetch reads it again from the old `since_id` (re-read posts dedupe downstream).
Only `max_pages` advances the cursor over a gap, with a warning. A cursor older than the
search window can't be sent (X rejects the request); the fetch then reads the whole window.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack
from urllib.parse import quote

import httpx

from bot.sources.base import (
    FetchedAuthor,
    FetchedMention,
    FetchResult,
    RateLimited,
    SearchSpec,
    Source,
    SourceError,
)
from bot.sources.fields import iso_time, opt_float, opt_int, opt_str
from bot.sources.http import ERROR_SNIPPET_BYTES, load_json_object
from bot.sources.httpsource import HttpOptions, HttpSource
from bot.sources.network import Dialect, Network, Profiles, ProfileUrl, Setting, SourceKit
from bot.text import clean_text

logger = logging.getLogger(__name__)

NETWORK = "x"
WEB_URL = "https://x.com"
SEARCH_PATH = "/2/tweets/search/recent"
MAX_RESULTS = 100
RECENT_SEARCH_WINDOW = timedelta(days=7)
# Our clock and X's may disagree: ask for a little less than the whole window.
WINDOW_MARGIN = timedelta(minutes=5)
SNOWFLAKE_EPOCH_MS = 1288834974657
# note_tweet holds the full text of posts longer than 280 characters (`text` is cut short).
TWEET_FIELDS = (
    "created_at,lang,public_metrics,conversation_id,referenced_tweets,author_id,note_tweet"
)
USER_FIELDS = "username,name,created_at,public_metrics,verified,verified_type"
# A monthly cap doesn't lift with the 15-minute window; look again after an hour at the soonest.
USAGE_CAP_RETRY_S = 3600.0
PROBLEM_DETAIL_CHARS = 300
MAX_LOGGED_ERRORS = 3
# Statuses whose RFC 7807 body is read for the message instead of HttpGetter's bare snippet.
PROBLEM_STATUSES = frozenset({400, 401, 402, 403})
# Codes X puts in `lang` when it could not tell or there are no words.
UNDETERMINED_LANGS = frozenset({"und", "zxx", "qam", "qct", "qht", "qme", "qst"})
_RETWEET_FILTER = re.compile(r"(?:^|[\s(])-is:retweet\b", re.IGNORECASE)
_LANG_OPERATOR = re.compile(r"(?:^|[\s(])-?lang:", re.IGNORECASE)
BASE_URL = Setting("OVERHEARD_X_URL")
BEARER_TOKEN = Setting("X_BEARER_TOKEN", required=True)


@dataclass(frozen=True, slots=True)
class _SearchPage:
    mentions: list[FetchedMention]
    authors: list[FetchedAuthor]
    newest_id: int | None
    next_token: str | None


def parse_mentions(body: bytes) -> list[FetchedMention]:
    """Parse a recent-search response into mentions, authors joined from `includes.users`."""
    return _parse_search(body).mentions


def parse_authors(body: bytes) -> list[FetchedAuthor]:
    """Parse the authors a recent-search response carries in `includes.users`."""
    return list(_users_by_id(load_json_object(body, "X search body").get("includes")).values())


def build_query(spec: SearchSpec) -> str:
    """The recent-search query for `spec`: retweets left out, the language added when asked."""
    query = spec.query.strip()
    if " OR " in query:
        # A space (AND) binds tighter than OR: keep the filters applying to every alternative.
        query = f"({query})"
    if not _RETWEET_FILTER.search(query):
        query += " -is:retweet"
    if spec.lang and not _LANG_OPERATOR.search(query):
        query += f" lang:{spec.lang}"
    return query


def snowflake_time(post_id: int) -> datetime:
    """The moment X minted a post id (ids carry milliseconds since X's epoch in their top bits)."""
    return datetime.fromtimestamp(((post_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, tz=UTC)


def _build(kit: SourceKit) -> Source:
    return XSource(
        kit.http,
        bearer_token=kit.value(BEARER_TOKEN),
        **kit.http_options(BASE_URL),
    )


X = Network(
    key=NETWORK,
    name="X",
    web_url=WEB_URL,
    build=_build,
    dialect=Dialect(
        or_operator=True, exclude="-", sigils=True, author="from:", site="url:", lang="lang:"
    ),
    settings=(BASE_URL, BEARER_TOKEN),
    profiles=Profiles(
        urls=(
            ProfileUrl(
                host=r"(?:mobile\.)?(?:x|twitter)\.com",
                # A post's address names its author too; the site's own pages name no one.
                path=r"/(?!(?:home|explore|search|i|intent|share|settings|notifications|messages"
                r"|hashtag|compose|login|signup|tos|privacy)(?:[/?]|$))"
                r"(?P<handle>[^/?#]+)(?:[/?].*)?",
            ),
        ),
        handle=r"[A-Za-z0-9_]{1,15}",
        example="jack",
        no_lookup="X bills every profile lookup, so X authors are scored from the posts overheard "
        "reads",
        aliases=("twitter",),
    ),
)


class XSource(HttpSource):
    """Reads recent posts matching a query from X, with an app-only bearer token."""

    name = NETWORK
    label = X.name
    default_base_url = "https://api.x.com"

    def __init__(
        self,
        client: httpx.Client,
        *,
        bearer_token: str | None = None,
        **options: Unpack[HttpOptions],
    ) -> None:
        super().__init__(client, **options)
        self._bearer_token = bearer_token or None
        self.missing_settings = X.missing({BEARER_TOKEN.env: self._bearer_token})

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return posts matching `spec` newer than the cursor's since_id, and the new cursor."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if self._bearer_token is None:
            raise SourceError(f"X is not configured: set {BEARER_TOKEN.env}")
        old_since = _cursor_since_id(cursor)
        params = {
            "query": build_query(spec),
            "max_results": str(MAX_RESULTS),
            "expansions": "author_id",
            "tweet.fields": TWEET_FIELDS,
            "user.fields": USER_FIELDS,
        }
        window_start = now - RECENT_SEARCH_WINDOW + WINDOW_MARGIN
        if old_since is not None and snowflake_time(old_since) > window_start:
            params["since_id"] = str(old_since)
        elif old_since is not None:
            logger.warning(
                "X cursor since_id=%d (%s) is older than recent search reaches; reading from "
                "%s, posts in between can no longer be searched",
                old_since,
                snowflake_time(old_since).isoformat(),
                window_start.isoformat(),
            )
            params["start_time"] = _iso(window_start)
        else:
            params["start_time"] = _iso(max(now - self._backfill, window_start))

        mentions: dict[str, FetchedMention] = {}
        authors: dict[str, FetchedAuthor] = {}
        newest = old_since
        next_token: str | None = None
        pages = 0
        complete = True
        while True:
            page_params = dict(params)
            if next_token is not None:
                page_params["next_token"] = next_token
            page, headers = self._search(page_params)
            pages += 1
            for mention in page.mentions:
                mentions.setdefault(mention.external_id, mention)
            for author in page.authors:
                authors[author.handle] = author
            ids = [int(m.external_id) for m in page.mentions]
            if page.newest_id is not None:
                ids.append(page.newest_id)
            if ids:
                newest = max(ids) if newest is None else max(newest, *ids)
            next_token = page.next_token
            if next_token is None:
                break
            if pages >= self._max_pages:
                logger.warning(
                    "X search for %r stopped at max_pages=%d with more pages left; older "
                    "posts down to since_id=%s were not read",
                    spec.query,
                    self._max_pages,
                    old_since,
                )
                break
            remaining = opt_float(headers.get("x-rate-limit-remaining"))
            if remaining is not None and remaining < 1:
                logger.warning(
                    "X rate limit used up after %d pages of %r; returning them with the "
                    "cursor kept, the rest is read after the reset",
                    pages,
                    spec.query,
                )
                complete = False
                break

        ordered = sorted(mentions.values(), key=lambda m: (m.created_at, int(m.external_id)))
        if complete and newest is not None:
            new_cursor: dict[str, Any] = {"since_id": str(newest)}
        else:
            new_cursor = dict(cursor)
        return FetchResult(mentions=ordered, cursor=new_cursor, authors=authors)

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Return None: authors come with each search, and a separate user lookup is billed."""
        return None

    def _search(self, params: dict[str, str]) -> tuple[_SearchPage, httpx.Headers]:
        """GET and parse one search page; return it with the response headers."""
        url = f"{self._base_url}{SEARCH_PATH}"
        headers = {"Authorization": f"Bearer {self._bearer_token}"}
        ok = frozenset({200}) | PROBLEM_STATUSES
        try:
            page = self._http.get(url, params=params, headers=headers, ok_statuses=ok)
        except RateLimited as exc:
            problem = _problem_from(exc.body)  # a usage cap is only told apart in the body
            if _is_usage_cap(problem):
                raise RateLimited(
                    f"X usage cap exceeded (UsageCapExceeded{_problem_suffix(problem)}); "
                    "no more posts can be read until the cap resets or is raised",
                    retry_after_s=max(exc.retry_after_s, USAGE_CAP_RETRY_S),
                ) from exc
            raise
        if page.status != 200:
            problem = _problem_from(page.body)
            hint = (
                "; check X_BEARER_TOKEN and the app's access level"
                if page.status in (401, 403)
                else ""
            )
            detail = _problem_suffix(problem) or f": {page.body[:ERROR_SNIPPET_BYTES]!r}"
            raise SourceError(f"X answered HTTP {page.status} for {SEARCH_PATH}{detail}{hint}")
        return _parse_search(page.body), page.headers


def _cursor_since_id(cursor: dict[str, Any]) -> int | None:
    if "since_id" not in cursor:
        return None
    raw = cursor["since_id"]
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return raw
    if isinstance(raw, str) and raw.isascii() and raw.isdigit():
        return int(raw)
    raise ValueError(f"X cursor since_id must be a post id, got {raw!r}")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _problem_from(body: bytes) -> dict[str, Any]:
    """The RFC 7807 problem object in an error body, or {} when there is none."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _is_usage_cap(problem: dict[str, Any]) -> bool:
    kind = problem.get("type")
    return problem.get("title") == "UsageCapExceeded" or (
        isinstance(kind, str) and kind.endswith("/usage-capped")
    )


def _problem_suffix(problem: dict[str, Any]) -> str:
    """`: title: detail` of a problem object (its first nested error's message too), or ''."""
    parts = [p for p in (problem.get("title"), problem.get("detail")) if isinstance(p, str) and p]
    errors = problem.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0].get("message") or errors[0].get("detail")
        if isinstance(first, str) and first:
            parts.append(first)
    text = ": ".join(parts)
    if len(text) > PROBLEM_DETAIL_CHARS:
        text = text[:PROBLEM_DETAIL_CHARS] + "…"
    return f": {text}" if text else ""


def _parse_search(body: bytes) -> _SearchPage:
    data = load_json_object(body, "X search body")
    posts = data.get("data")
    meta = data.get("meta")
    if posts is None and not isinstance(meta, dict):
        raise SourceError(f"X search body has neither 'data' nor 'meta'{_problem_suffix(data)}")
    if posts is None:
        posts = []
    if not isinstance(posts, list):
        raise SourceError("X search body 'data' is not a list")
    _log_partial_errors(data.get("errors"))
    users = _users_by_id(data.get("includes"))
    mentions = [m for m in (_mention_from(post, users) for post in posts) if m is not None]
    meta = meta if isinstance(meta, dict) else {}
    next_token = meta.get("next_token")
    return _SearchPage(
        mentions=mentions,
        authors=list(users.values()),
        newest_id=_opt_id(meta.get("newest_id")),
        next_token=next_token if isinstance(next_token, str) and next_token else None,
    )


def _log_partial_errors(errors: object) -> None:
    """Log the `errors` X sends with a 200 beside partial data (e.g. an author it can't show)."""
    if not isinstance(errors, list) or not errors:
        return
    shown = [_problem_suffix(e).removeprefix(": ") for e in errors[:MAX_LOGGED_ERRORS]]
    shown = [s for s in shown if s] or [repr(errors[0])[:PROBLEM_DETAIL_CHARS]]
    logger.warning(
        "X search answered with %d partial error(s), keeping the data: %s",
        len(errors),
        "; ".join(shown),
    )


def _users_by_id(includes: object) -> dict[str, FetchedAuthor]:
    users = includes.get("users") if isinstance(includes, dict) else None
    if not isinstance(users, list):
        return {}
    found: dict[str, FetchedAuthor] = {}
    for user in users:
        if not isinstance(user, dict):
            continue
        user_id = _opt_id(user.get("id"))
        author = _author_from(user)
        if user_id is None or author is None:
            logger.warning("Skipping X user without id or username: %r", user)
            continue
        found[str(user_id)] = author
    return found


def _author_from(user: dict[str, Any]) -> FetchedAuthor | None:
    username = opt_str(user.get("username"))
    if username is None:
        return None
    metrics = user.get("public_metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    user_id = _opt_id(user.get("id"))
    return FetchedAuthor(
        handle=username,
        account_id=str(user_id) if user_id is not None else None,
        display_name=opt_str(user.get("name")),
        url=f"{WEB_URL}/{quote(username, safe='')}",
        followers=opt_int(metrics.get("followers_count")),
        following=opt_int(metrics.get("following_count")),
        posts=opt_int(metrics.get("tweet_count")),
        created_at=iso_time(user.get("created_at")),
        verified=_verified(user.get("verified"), user.get("verified_type")),
    )


def _verified(verified: object, verified_type: object) -> bool | None:
    if verified is True:
        return True
    if isinstance(verified_type, str) and verified_type:
        return verified_type != "none"
    return verified if isinstance(verified, bool) else None


def _mention_from(post: object, users: dict[str, FetchedAuthor]) -> FetchedMention | None:
    """Map one post to a mention; None (logged) when it has no usable id."""
    if not isinstance(post, dict):
        logger.warning("Skipping X post that is not an object: %r", post)
        return None
    post_id = _opt_id(post.get("id"))
    if post_id is None:
        logger.warning("Skipping X post without a numeric id (id=%r)", post.get("id"))
        return None
    created_at = iso_time(post.get("created_at")) or snowflake_time(post_id)

    note = post.get("note_tweet")
    long_text = note.get("text") if isinstance(note, dict) else None
    raw_text = long_text if isinstance(long_text, str) and long_text else post.get("text")
    # X escapes &, < and > in post text as HTML entities.
    text = clean_text(html.unescape(raw_text)) if isinstance(raw_text, str) else ""

    author_id = _opt_id(post.get("author_id"))
    author = users.get(str(author_id)) if author_id is not None else None
    if author is None:
        author = FetchedAuthor(handle="")
        url = f"{WEB_URL}/i/web/status/{post_id}"
    else:
        url = f"{WEB_URL}/{quote(author.handle, safe='')}/status/{post_id}"

    metrics = post.get("public_metrics")
    metrics = metrics if isinstance(metrics, dict) else {}
    conversation_id = _opt_id(post.get("conversation_id"))
    parent_id = _replied_to(post.get("referenced_tweets"))
    lang = opt_str(post.get("lang"))
    return FetchedMention(
        network=NETWORK,
        external_id=str(post_id),
        url=url,
        text=text,
        created_at=created_at,
        author=author,
        lang=None if lang is None or lang in UNDETERMINED_LANGS else lang,
        likes=opt_int(metrics.get("like_count")),
        reposts=opt_int(metrics.get("retweet_count")),
        replies=opt_int(metrics.get("reply_count")),
        parent_id=str(parent_id) if parent_id is not None else None,
        conversation_id=str(conversation_id) if conversation_id is not None else None,
    )


def _replied_to(references: object) -> int | None:
    if not isinstance(references, list):
        return None
    for reference in references:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            return _opt_id(reference.get("id"))
    return None


def _opt_id(value: object) -> int | None:
    """A post or user id (a decimal string in X's JSON) as an int, or None."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
