"""Reddit submissions and comments through the OAuth API with an application-only token.

Paging and the cursor: `/search?sort=new` lists submissions newest first, so a fetch pages
with `after` from the top down to where the last fetch stopped. The cursor holds the newest
submission stored (`{"newest": "t3_…", "newest_created_utc": 1768478400.0}`); paging stops
at the first page holding a submission older than `newest_created_utc` minus a small overlap
(Reddit's search indexes with a lag, and a deleted `newest` would never be met again, so the
time decides, not the fullname). A fetch that stops before reaching the cursor — because
`X-Ratelimit-Remaining` ran out — returns what it read but keeps the old cursor: what it read
is the newest part, the gap is below it, and the next fetch reads down to the old cursor again
(re-read submissions dedupe downstream). Only `max_pages` advances the cursor over a gap,
with a warning, so that a flood can't pin every fetch to the same pages forever.

Comments: Reddit's search covers submissions only, and most talk about a brand is in comments.
A fetch also reads the newest comments (`/r/all/comments`, or `/r/a+b/comments` for a watch
limited with `--subreddits`), newest first; the fetching service matches them against the
watch's query, as it re-checks every Reddit result. The comment stream is one for every
watch, so the source reads it at most every `STREAM_FRESH_S` seconds and hands each watch
the comments newer than its own `comments_newest_utc` from what it has read. Every request
of every watch counts against Reddit's 100 per minute (`_RequestBudget`): past it a fetch
fails as rate-limited and is retried after the minute. `/r/all/comments` is a firehose: one
pass reads at most `COMMENT_PAGES` pages, so a watch on all of Reddit sees the newest part;
`--subreddits` reads a smaller stream whole.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from dataclasses import dataclass, field
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
from bot.sources.fields import epoch_time, opt_float, opt_int, opt_str
from bot.sources.http import ERROR_SNIPPET_BYTES, Page, load_json_object, retry_after_s
from bot.sources.http import post as http_post
from bot.sources.httpsource import HttpOptions, HttpSource
from bot.sources.network import (
    Dialect,
    Network,
    OptionError,
    Profiles,
    ProfileUrl,
    Setting,
    SourceKit,
    WatchOption,
)
from bot.text import clean_text

# An account's fullname: "t2_" and its base-36 id.
_ACCOUNT_FULLNAME = re.compile(r"^t2_[a-z0-9]{1,16}$")
logger = logging.getLogger(__name__)

NETWORK = "reddit"
WEB_URL = "https://www.reddit.com"
DEFAULT_USER_AGENT = "python:overheard:0.1 (brand-mention monitor)"
SEARCH_LIMIT = 100
ACCESS_TOKEN_PATH = "/api/v1/access_token"  # noqa: S105 - a path, not a secret
TOKEN_MAX_BODY_BYTES = 65_536
TOKEN_REFRESH_MARGIN_S = 60.0  # renew this long before Reddit says the token expires
DEFAULT_TOKEN_LIFETIME_S = 3600.0  # when the token answer leaves out expires_in
DELETED_AUTHOR = "[deleted]"
# What Reddit leaves in `selftext` once a post is taken down.
REMOVED_TEXTS = frozenset({"[removed]", "[deleted]", "[ Removed by Reddit ]"})
BASE_URL = Setting("OVERHEARD_REDDIT_URL")
AUTH_URL = Setting("OVERHEARD_REDDIT_AUTH_URL")
CLIENT_ID = Setting("REDDIT_CLIENT_ID", required=True)
CLIENT_SECRET = Setting("REDDIT_CLIENT_SECRET", required=True)
USER_AGENT = Setting("REDDIT_USER_AGENT")
COMMENTS_LIMIT = 100
COMMENT_PAGES = 5  # per pass over a comment stream: 500 comments
STREAM_FRESH_S = 30.0  # a stream read this recently serves every watch from what was read
STREAM_KEEP = 5_000  # comments kept per stream, newest first
REQUESTS_PER_MINUTE = 100  # Reddit's limit per OAuth client, shared by every watch
_SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
MAX_SUBREDDITS = 30


def _check_subreddits(value: str, *, allow_private: bool) -> str:
    """`acme, r/selfhosted+homelab` → `acme+homelab+selfhosted`, each name checked."""
    del allow_private  # no URL here
    names = [n.strip().removeprefix("/").removeprefix("r/") for n in re.split(r"[,+\s]+", value)]
    names = sorted({n.lower() for n in names if n})
    bad = [n for n in names if not _SUBREDDIT.match(n)]
    if bad or not names:
        raise OptionError(
            f"{', '.join(bad) or repr(value)} is not a subreddit name (letters, digits and _, "
            "3 to 21 characters; e.g. --subreddits acme,selfhosted)"
        )
    if len(names) > MAX_SUBREDDITS:
        raise OptionError(f"at most {MAX_SUBREDDITS} subreddits per watch")
    return "+".join(names)


SUBREDDITS = WatchOption(
    name="subreddits",
    flag="--subreddits",
    help="read only these subreddits, comma-separated (their search and all their new comments)",
    check=_check_subreddits,
)


@dataclass(frozen=True, slots=True)
class _Listing:
    mentions: list[FetchedMention]
    after: str | None
    child_count: int


@dataclass(frozen=True, slots=True)
class _Mark:
    """The newest submission a cursor has stored."""

    fullname: str
    created_utc: float


def parse_mentions(body: bytes) -> list[FetchedMention]:
    """Parse a `/search` or a comments Listing into mentions, skipping unusable children."""
    return _parse_listing(body).mentions


def parse_authors(body: bytes) -> list[FetchedAuthor]:
    """Parse one `/user/{name}/about` body into a list of one author (none if it names nobody).

    Reddit answers `about` one user at a time, so the list holds at most one author; it is a
    list so that every network's `parse_authors` has the same shape.
    """
    author = _author_from_about(load_json_object(body, "Reddit user about body"))
    return [author] if author is not None else []


def _build(kit: SourceKit) -> Source:
    return RedditSource(
        kit.http,
        auth_url=kit.text(AUTH_URL),
        client_id=kit.value(CLIENT_ID),
        client_secret=kit.value(CLIENT_SECRET),
        user_agent=kit.text(USER_AGENT),
        **kit.http_options(BASE_URL),
    )


REDDIT = Network(
    key=NETWORK,
    name="Reddit",
    web_url=WEB_URL,
    build=_build,
    dialect=Dialect(or_operator=True, exclude="NOT ", site="site:"),
    options=(SUBREDDITS,),
    settings=(BASE_URL, AUTH_URL, CLIENT_ID, CLIENT_SECRET, USER_AGENT),
    profiles=Profiles(
        urls=(
            ProfileUrl(
                host=r"(?:old\.|new\.|np\.|m\.)?reddit\.com",
                path=r"/(?:user|u)/(?P<handle>[^/?#]+)(?:[/?].*)?",
            ),
        ),
        handle=r"[A-Za-z0-9_-]{3,20}",
        example="spez",
        lookup_settings=(CLIENT_ID, CLIENT_SECRET),
    ),
)


class _RequestBudget:
    """Reddit's requests per minute, shared by every fetch through one source (a sliding minute)."""

    def __init__(self, per_minute: int) -> None:
        self._per_minute = per_minute
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, now: float) -> None:
        """Count one request at `now` (epoch s), or raise RateLimited when the minute is full."""
        with self._lock:
            while self._sent and self._sent[0] <= now - 60:
                self._sent.popleft()
            if len(self._sent) >= self._per_minute:
                wait = max(1.0, 60 - (now - self._sent[0]))
                raise RateLimited(
                    f"Reddit allows {self._per_minute} requests a minute for all watches; "
                    f"used up, next in {wait:.0f} s",
                    retry_after_s=wait,
                )
            self._sent.append(now)


@dataclass(slots=True)
class _Stream:
    """The newest comments read from one comment listing, newest first."""

    read_at: datetime | None = None
    comments: list[FetchedMention] = field(default_factory=list)


class RedditSource(HttpSource):
    """Reads submissions matching a query, and new comments, as an application-only client."""

    name = NETWORK
    label = REDDIT.name
    default_base_url = "https://oauth.reddit.com"

    def __init__(
        self,
        client: httpx.Client,
        *,
        auth_url: str = "https://www.reddit.com",
        client_id: str | None = None,
        client_secret: str | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        **options: Unpack[HttpOptions],
    ) -> None:
        super().__init__(client, **options)
        self._auth_url = auth_url.rstrip("/")
        self._client_id = client_id or None
        self._client_secret = client_secret or None
        self._user_agent = user_agent
        self._token: str | None = None
        self._token_expires_at: datetime | None = None
        self._budget = _RequestBudget(REQUESTS_PER_MINUTE)
        self._streams: dict[str, _Stream] = {}
        self._stream_lock = threading.Lock()
        self.missing_settings = REDDIT.missing(
            {CLIENT_ID.env: self._client_id, CLIENT_SECRET.env: self._client_secret}
        )

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return submissions matching `spec` newer than the cursor, and the cursor to store."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._require_configured()
        subreddits = spec.options.get(SUBREDDITS.name)
        comments, comments_cursor = self._comments_since(subreddits, cursor, now=now)
        old_mark = _cursor_mark(cursor)
        if old_mark is None:
            floor = (now - self._backfill).timestamp()
        else:
            floor = old_mark.created_utc - self._overlap.total_seconds()

        seen: dict[str, FetchedMention] = {}
        after: str | None = None
        pages = 0
        complete = True
        while True:
            page = self._api_get(
                self._base_url + _listing_path(subreddits, "search"),
                params=_search_params(spec, after, restricted=subreddits is not None),
            )
            listing = _parse_listing(page.body)
            pages += 1
            reached_floor = False
            for mention in listing.mentions:
                if mention.created_at.timestamp() < floor:
                    reached_floor = True  # keep reading this page: the order may not be strict
                elif old_mark is None or mention.external_id != old_mark.fullname:
                    seen.setdefault(mention.external_id, mention)
            after = listing.after
            if reached_floor or after is None or listing.child_count == 0:
                break
            if pages >= self._max_pages:
                logger.warning(
                    "Reddit search for %r stopped at max_pages=%d before reaching %s; "
                    "older submissions down to it were not read",
                    spec.query,
                    self._max_pages,
                    datetime.fromtimestamp(floor, tz=UTC).isoformat(),
                )
                break
            remaining = opt_float(page.headers.get("x-ratelimit-remaining"))
            if remaining is not None and remaining < 1:
                wait = retry_after_s(page.headers, now=self._clock())
                logger.warning(
                    "Reddit rate limit used up after %d pages of %r; returning them with the "
                    "cursor kept, the rest is read after the reset in %g s",
                    pages,
                    spec.query,
                    wait,
                )
                complete = False
                break

        mentions = sorted(seen.values(), key=lambda m: (m.created_at, _id36(m.external_id)))
        search_cursor = _search_part(cursor)
        if complete:
            search_cursor = _advance(search_cursor, old_mark, mentions)
        return FetchResult(mentions=mentions + comments, cursor=search_cursor | comments_cursor)

    def _comments_since(
        self, subreddits: str | None, cursor: dict[str, Any], *, now: datetime
    ) -> tuple[list[FetchedMention], dict[str, Any]]:
        """The stream's comments newer than the cursor's mark, oldest first, and the new mark."""
        mark = _comments_mark(cursor)
        if mark is None:
            mark = _Mark("", (now - self._backfill).timestamp())
        path = _listing_path(subreddits, "comments")
        with self._stream_lock:
            stream = self._streams.setdefault(path, _Stream())
            stale = stream.read_at is None or (now - stream.read_at).total_seconds() >= (
                STREAM_FRESH_S
            )
            if stale:
                self._read_stream(path, stream, now=now)
            newer = [
                c for c in stream.comments if _order(c) > (mark.created_utc, _id36(mark.fullname))
            ]
        newer.reverse()
        if not newer:
            return [], {k: v for k, v in cursor.items() if k.startswith("comments_")}
        newest = newer[-1]
        return newer, {
            "comments_newest": newest.external_id,
            "comments_newest_utc": newest.created_at.timestamp(),
        }

    def _read_stream(self, path: str, stream: _Stream, *, now: datetime) -> None:
        """Read a comment listing from the newest down to what the stream already holds."""
        known = {c.external_id for c in stream.comments}
        window_start = (now - self._backfill).timestamp()
        read: list[FetchedMention] = []
        after: str | None = None
        reached = False
        for _page in range(COMMENT_PAGES):
            params = {"limit": str(COMMENTS_LIMIT), "raw_json": "1"}
            if after is not None:
                params["after"] = after
            listing = _parse_listing(self._api_get(self._base_url + path, params=params).body)
            for comment in listing.mentions:
                if comment.external_id in known or comment.created_at.timestamp() < window_start:
                    reached = True
                else:
                    read.append(comment)
            after = listing.after
            if reached or after is None or listing.child_count == 0:
                reached = True
                break
        if not reached and stream.read_at is not None:
            logger.warning(
                "Reddit %s: read the newest %d comments and stopped; older new ones were "
                "skipped (limit the watch with --subreddits to read a stream whole)",
                path,
                len(read),
            )
        merged = {c.external_id: c for c in read + stream.comments}
        stream.comments = sorted(
            (c for c in merged.values() if c.created_at.timestamp() >= window_start),
            key=_order,
            reverse=True,
        )[:STREAM_KEEP]
        stream.read_at = now

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Return the user's karma, age and verification, or None for unknown or deleted users."""
        if not handle or handle == DELETED_AUTHOR:
            return None
        self._require_configured()
        url = f"{self._base_url}/user/{quote(handle, safe='')}/about"
        page = self._api_get(url, params={"raw_json": "1"}, not_found_ok=True)
        if page.status == 404:
            return None
        return _author_from_about(load_json_object(page.body, "Reddit user about body"))

    def _require_configured(self) -> tuple[str, str]:
        """The client id and secret, or SourceError naming the settings still missing."""
        if self._client_id is None or self._client_secret is None:
            raise SourceError(f"Reddit is not configured: set {', '.join(self.missing_settings)}")
        return self._client_id, self._client_secret

    def _api_get(self, url: str, *, params: dict[str, str], not_found_ok: bool = False) -> Page:
        """GET an API URL with a bearer token, renewing the token once if Reddit refuses it."""
        ok = frozenset({200, 401, 404}) if not_found_ok else frozenset({200, 401})
        for _attempt in range(2):
            self._budget.take(self._clock().timestamp())
            headers = {
                "Authorization": f"bearer {self._bearer()}",
                "User-Agent": self._user_agent,
            }
            page = self._http.get(url, params=params, headers=headers, ok_statuses=ok)
            if page.status != 401:
                return page
            logger.info("Reddit refused the access token for %s; dropping it", url)
            self._token = None  # revoked or expired early: one fresh token, then give up
        raise SourceError(f"Reddit answered HTTP 401 for {url} even with a fresh access token")

    def _bearer(self) -> str:
        """The cached access token, fetched anew when missing or about to expire."""
        now = self._clock()
        if (
            self._token is not None
            and self._token_expires_at is not None
            and now < self._token_expires_at
        ):
            return self._token
        token, lifetime_s = self._request_token()
        margin_s = min(TOKEN_REFRESH_MARGIN_S, lifetime_s / 2)
        self._token = token
        self._token_expires_at = now + timedelta(seconds=lifetime_s - margin_s)
        return token

    def _request_token(self) -> tuple[str, float]:
        """POST the client-credentials grant; return the token and its lifetime in seconds."""
        body = self._post_form(
            f"{self._auth_url}{ACCESS_TOKEN_PATH}",
            data={"grant_type": "client_credentials"},
            auth=self._require_configured(),
        )
        data = load_json_object(body, "Reddit access token body")
        error = data.get("error")
        if error is not None:  # Reddit reports a refused grant with status 200
            raise SourceError(
                f"Reddit refused the token request ({error!r}): "
                "check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"
            )
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise SourceError("Reddit access token body has no 'access_token'")
        expires_in = data.get("expires_in")
        if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
            lifetime_s = float(expires_in) if expires_in > 0 else 0.0
        else:
            lifetime_s = DEFAULT_TOKEN_LIFETIME_S
        return token, lifetime_s

    def _post_form(self, url: str, *, data: dict[str, str], auth: tuple[str, str]) -> bytes:
        """POST a form with HttpGetter's care: bounded body, 429 → RateLimited, else SourceError."""
        page = http_post(
            self._client,
            url,
            network="Reddit",
            what=f"the token request to {url}",
            max_body_bytes=TOKEN_MAX_BODY_BYTES,
            error_body_bytes=ERROR_SNIPPET_BYTES,
            clock=self._clock,
            headers={"User-Agent": self._user_agent},
            form=data,
            auth=auth,
        )
        if not 200 <= page.status < 300:
            hint = (
                ": check REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET"
                if page.status in (400, 401, 403)
                else ""
            )
            raise SourceError(
                f"Reddit answered HTTP {page.status} for the token request{hint}: "
                f"{page.body.decode('utf-8', 'replace')!r}"
            )
        return page.body


def _listing_path(subreddits: str | None, listing: str) -> str:
    """`/search` or `/r/all/comments`, or the same within `/r/a+b` for a limited watch."""
    if subreddits is None:
        return "/search" if listing == "search" else "/r/all/comments"
    return f"/r/{quote(subreddits, safe='+')}/{listing}"


def _search_params(spec: SearchSpec, after: str | None, *, restricted: bool) -> dict[str, str]:
    params = {
        "q": spec.query,
        "sort": "new",
        "type": "link",
        "limit": str(SEARCH_LIMIT),
        "raw_json": "1",  # text as typed, not HTML-escaped
        "restrict_sr": "true" if restricted else "false",
    }
    if after is not None:
        params["after"] = after
    return params


def _advance(
    cursor: dict[str, Any], old_mark: _Mark | None, mentions: list[FetchedMention]
) -> dict[str, Any]:
    """The cursor after a complete fetch: the newest submission seen, never an older one."""
    if not mentions:
        return dict(cursor)
    newest = mentions[-1]
    created_utc = newest.created_at.timestamp()
    if old_mark is not None and (old_mark.created_utc, _id36(old_mark.fullname)) >= (
        created_utc,
        _id36(newest.external_id),
    ):
        return dict(cursor)
    return {"newest": newest.external_id, "newest_created_utc": created_utc}


def _search_part(cursor: dict[str, Any]) -> dict[str, Any]:
    """The search's half of a cursor (the comments' mark is kept apart)."""
    return {k: v for k, v in cursor.items() if k in ("newest", "newest_created_utc")}


def _cursor_mark(cursor: dict[str, Any]) -> _Mark | None:
    cursor = _search_part(cursor)
    if not cursor:
        return None
    fullname = cursor.get("newest")
    created_utc = cursor.get("newest_created_utc")
    if not isinstance(fullname, str) or not fullname.startswith("t3_"):
        raise ValueError(f"Reddit cursor 'newest' must be a t3_ fullname, got {fullname!r}")
    if isinstance(created_utc, bool) or not isinstance(created_utc, int | float):
        raise ValueError(
            f"Reddit cursor 'newest_created_utc' must be a number, got {created_utc!r}"
        )
    return _Mark(fullname, float(created_utc))


def _comments_mark(cursor: dict[str, Any]) -> _Mark | None:
    """The newest comment a cursor has handed on, or None before the first."""
    fullname = cursor.get("comments_newest")
    created_utc = cursor.get("comments_newest_utc")
    if fullname is None and created_utc is None:
        return None
    if not isinstance(fullname, str) or not fullname.startswith("t1_"):
        raise ValueError(
            f"Reddit cursor 'comments_newest' must be a t1_ fullname, got {fullname!r}"
        )
    if isinstance(created_utc, bool) or not isinstance(created_utc, int | float):
        raise ValueError(
            f"Reddit cursor 'comments_newest_utc' must be a number, got {created_utc!r}"
        )
    return _Mark(fullname, float(created_utc))


def _order(mention: FetchedMention) -> tuple[float, int]:
    """Reddit's order of things: by time, then by id (ids are handed out in sequence)."""
    return (mention.created_at.timestamp(), _id36(mention.external_id))


def _id36(fullname: str) -> int:
    """The base-36 number of a fullname, for ordering posts made in the same second."""
    try:
        return int(fullname.partition("_")[2], 36)
    except ValueError:
        return -1


def _parse_listing(body: bytes) -> _Listing:
    data = load_json_object(body, "Reddit search body")
    listing = data.get("data")
    if not isinstance(listing, dict) or not isinstance(listing.get("children"), list):
        raise SourceError("Reddit search body is not a Listing with 'data.children'")
    children: list[Any] = listing["children"]
    mentions = [m for m in (_mention_from(child) for child in children) if m is not None]
    after = listing.get("after")
    return _Listing(
        mentions=mentions,
        after=after if isinstance(after, str) and after else None,
        child_count=len(children),
    )


def _mention_from(child: object) -> FetchedMention | None:
    """Map one Listing child to a mention; None (logged) when it has no fullname or no time."""
    data = child.get("data") if isinstance(child, dict) else None
    if not isinstance(data, dict):
        logger.warning("Skipping Reddit listing child without a data object: %r", child)
        return None
    fullname = opt_str(data.get("name"))
    if fullname is None or not fullname.startswith(("t3_", "t1_")):
        logger.warning("Skipping Reddit child that is neither post nor comment (name=%r)", fullname)
        return None
    created_at = epoch_time(data.get("created_utc"))
    if created_at is None:
        logger.warning("Skipping Reddit %s without created_utc", fullname)
        return None
    if fullname.startswith("t1_"):
        return _comment_from(data, fullname, created_at)

    title = opt_str(data.get("title"))
    selftext = opt_str(data.get("selftext"))
    if selftext is not None and selftext.strip() in REMOVED_TEXTS:
        selftext = None
    permalink = opt_str(data.get("permalink"))
    url = WEB_URL + permalink if permalink and permalink.startswith("/") else None
    if url is None:
        url = f"{WEB_URL}/comments/{quote(fullname.removeprefix('t3_'), safe='')}/"
    link = opt_str(data.get("url"))
    link = link if link and link.startswith(("https://", "http://")) and link != url else None
    if selftext is not None:
        text = clean_text(selftext)
    else:
        # A link post's only words are its title and its target, which search also matches.
        text = clean_text("\n".join(p for p in (title, link) if p))

    handle = opt_str(data.get("author")) or ""
    return FetchedMention(
        network=NETWORK,
        external_id=fullname,
        url=url,
        text=text,
        created_at=created_at,
        author=FetchedAuthor(
            handle=handle, account_id=_fullname(data.get("author_fullname")), url=_user_url(handle)
        ),
        likes=opt_int(data.get("score")),
        reposts=opt_int(data.get("num_crossposts")),
        replies=opt_int(data.get("num_comments")),
        conversation_id=fullname,  # a submission is its own thread
        title=clean_text(title) if title else None,
        # A link post is about its target; a self post's `url` is the post itself.
        link_url=link if data.get("is_self") is False else None,
    )


def _comment_from(
    data: dict[str, Any], fullname: str, created_at: datetime
) -> FetchedMention | None:
    """A comment: its body, in the thread of its submission (`link_id`), titled after it."""
    body = opt_str(data.get("body"))
    if body is None or body.strip() in REMOVED_TEXTS:
        return None  # removed or deleted: nothing left to read or answer
    submission = opt_str(data.get("link_id"))
    submission = submission if submission and submission.startswith("t3_") else None
    permalink = opt_str(data.get("permalink"))
    if permalink and permalink.startswith("/"):
        url = WEB_URL + permalink
    elif submission is not None:
        url = (
            f"{WEB_URL}/comments/{quote(submission.removeprefix('t3_'), safe='')}/_/"
            f"{quote(fullname.removeprefix('t1_'), safe='')}/"
        )
    else:
        url = f"{WEB_URL}/comments/_/_/{quote(fullname.removeprefix('t1_'), safe='')}/"
    link_title = opt_str(data.get("link_title"))
    handle = opt_str(data.get("author")) or ""
    return FetchedMention(
        network=NETWORK,
        external_id=fullname,
        url=url,
        text=clean_text(body),
        created_at=created_at,
        author=FetchedAuthor(
            handle=handle, account_id=_fullname(data.get("author_fullname")), url=_user_url(handle)
        ),
        likes=opt_int(data.get("score")),
        parent_id=opt_str(data.get("parent_id")),
        conversation_id=submission or fullname,
        conversation_title=clean_text(link_title) if link_title else None,
    )


def _author_from_about(body: dict[str, Any]) -> FetchedAuthor | None:
    data = body.get("data")
    if not isinstance(data, dict):
        return None
    handle = opt_str(data.get("name"))
    if handle is None:
        return None
    karma = opt_int(data.get("total_karma"))
    if karma is None:
        parts = [opt_int(data.get("link_karma")), opt_int(data.get("comment_karma"))]
        karma = (
            sum(p for p in parts if p is not None) if any(p is not None for p in parts) else None
        )
    profile = data.get("subreddit")
    profile = profile if isinstance(profile, dict) else {}
    verified = data.get("verified")
    account_id = opt_str(data.get("id"))
    return FetchedAuthor(
        handle=handle,
        account_id=_fullname(f"t2_{account_id}" if account_id else None),
        display_name=opt_str(profile.get("title")),
        url=_user_url(handle),
        # A user's followers are the subscribers of their profile subreddit.
        followers=opt_int(profile.get("subscribers")),
        karma=karma,
        created_at=epoch_time(data.get("created_utc")),
        verified=verified if isinstance(verified, bool) else None,
    )


def _fullname(value: object) -> str | None:
    """An account's `t2_…` fullname: the id Reddit keeps when the account is renamed."""
    name = opt_str(value)
    return name if name is not None and _ACCOUNT_FULLNAME.match(name) else None


def _user_url(handle: str) -> str | None:
    if not handle or handle == DELETED_AUTHOR:
        return None
    return f"{WEB_URL}/user/{quote(handle, safe='')}/"
