"""Bluesky mentions through `app.bsky.feed.searchPosts`, signed in with an app password.

Search needs a session: `com.atproto.server.createSession` on the user's PDS gives an
access JWT (sent as Bearer; the PDS proxies `app.bsky.*` to the AppView) and a refresh JWT.
An expired access token comes back as 400 `ExpiredToken` from the PDS or 401 from the
AppView: the session is refreshed (or, failing that, created again) and the call retried once.

`sort=latest` orders posts by `sortAt`, the earlier of `createdAt` and `indexedAt`, and
`since` (inclusive) / `until` (exclusive) filter on it. A fetch reads from the newest
`sortAt` seen, less a look-back for posts the search indexes late, paging with the opaque
`cursor` to the end. A read cut short by `max_pages` leaves its older part as a backlog
(`since`..`until`, `until` moving down as it is read) that the next fetches read first, with
at most half their pages, until the search runs out of posts in it.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack
from urllib.parse import quote, urlencode

import httpx

from bot.sources.backlog import Progress, Window, read_backlog_first
from bot.sources.base import (
    FetchedAuthor,
    FetchedMention,
    FetchResult,
    SearchSpec,
    Source,
    SourceError,
)
from bot.sources.fields import iso_time, opt_count, opt_str
from bot.sources.http import load_json_object
from bot.sources.http import post as http_post
from bot.sources.httpsource import HttpOptions, HttpSource
from bot.sources.network import Dialect, Network, Profiles, ProfileUrl, Setting, SourceKit
from bot.text import clean_text

logger = logging.getLogger(__name__)

NETWORK = "bluesky"
DEFAULT_BASE_URL = "https://bsky.social"
SEARCH_LIMIT = 100  # the most posts searchPosts returns per page
PROFILES_PER_CALL = 25  # getProfiles takes at most 25 actors
POST_URL = "https://bsky.app/profile/{}/post/{}"
PROFILE_URL = "https://bsky.app/profile/{}"
INVALID_HANDLE = "handle.invalid"  # what the AppView shows when a handle no longer verifies
MAX_SESSION_BODY_BYTES = 1_000_000
ERROR_MESSAGE_CHARS = 200
BASE_URL = Setting("OVERHEARD_BLUESKY_URL")
HANDLE = Setting("BLUESKY_HANDLE", required=True)
APP_PASSWORD = Setting("BLUESKY_APP_PASSWORD", required=True)
# Statuses a signed-in GET may answer with that we read ourselves (token expiry, XRPC errors).
_XRPC_STATUSES = frozenset({200, 400, 401})
# getProfile's answers for an actor that is gone: no metrics, not a failure.
_GONE_ACTOR_ERRORS = frozenset({"InvalidRequest", "AccountTakedown", "AccountDeactivated"})


class XrpcError(SourceError):
    """An XRPC call answered with an error: its HTTP status, error name and message."""

    def __init__(self, method: str, status: int, name: str, message: str) -> None:
        super().__init__(f"Bluesky {method} answered HTTP {status} {name}: {message}")
        self.status = status
        self.name = name


_Bounds = tuple[datetime, datetime]  # a backlog: posts with since <= sortAt < until


@dataclass(frozen=True, slots=True)
class _Session:
    access_jwt: str = field(repr=False)
    refresh_jwt: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class _SearchPage:
    mentions: list[FetchedMention]
    sort_times: list[datetime]  # of every post with a readable time, usable or not
    post_count: int
    cursor: str | None


def parse_mentions(body: bytes) -> list[FetchedMention]:
    """Parse a `searchPosts` answer into mentions, skipping unusable posts."""
    return _parse_search_page(body).mentions


def parse_authors(body: bytes) -> list[FetchedAuthor]:
    """Parse a `getProfiles` answer into authors with their follower and post counts."""
    data = load_json_object(body, "Bluesky getProfiles body")
    profiles = data.get("profiles")
    if not isinstance(profiles, list):
        raise SourceError("Bluesky getProfiles body has no 'profiles' list")
    return [a for a in (_author_from(p) for p in profiles if isinstance(p, dict)) if a]


def _build(kit: SourceKit) -> Source:
    return BlueskySource(
        kit.http,
        handle=kit.value(HANDLE),
        app_password=kit.value(APP_PASSWORD),
        **kit.http_options(BASE_URL),
    )


BLUESKY = Network(
    key=NETWORK,
    name="Bluesky",
    web_url="https://bsky.app",
    build=_build,
    dialect=Dialect(exclude="-", sigils=True),
    settings=(BASE_URL, HANDLE, APP_PASSWORD),
    profiles=Profiles(
        urls=(ProfileUrl(host=r"bsky\.app", path=r"/profile/(?P<handle>[^/?#]+)(?:[/?].*)?"),),
        # A domain name, or the account's DID.
        handle=r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,62}"
        r"|did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}",
        example="name.bsky.social",
        lookup_settings=(HANDLE, APP_PASSWORD),  # profiles are read signed in
        aliases=("bsky",),
    ),
)


class BlueskySource(HttpSource):
    """Reads posts matching a query from Bluesky's search, signed in as one account."""

    name = NETWORK
    label = BLUESKY.name
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        client: httpx.Client,
        *,
        handle: str | None = None,
        app_password: str | None = None,
        **options: Unpack[HttpOptions],
    ) -> None:
        super().__init__(client, **options)
        self._handle = (handle or "").strip().lstrip("@") or None
        self._password = app_password or None
        self._session: _Session | None = None
        self._session_lock = threading.Lock()  # fetches run in threads and share one session
        self.missing_settings = BLUESKY.missing(
            {HANDLE.env: self._handle, APP_PASSWORD.env: self._password}
        )

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return posts matching `spec` since the cursor (and any backlog), with their authors."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._require_settings()
        newest = _cursor_time(cursor, "since")
        seen: dict[str, FetchedMention] = {}

        def drain(backlog: _Bounds, budget: int) -> tuple[int, _Bounds | None]:
            since, until = backlog
            done = self._search_window(spec, since, until, budget=budget, seen=seen)
            return done.pages, None if done.complete else (since, _lower_until(until, done.oldest))

        def read(lower: datetime, budget: int) -> Window[datetime]:
            return self._search_window(spec, lower, None, budget=budget, seen=seen)

        def cut(lower: datetime, window: Window[datetime]) -> _Bounds:
            return lower, _just_after(window.oldest or now)

        progress: Progress[datetime, _Bounds] = read_backlog_first(
            newest,
            _backlog(cursor),
            start=newest - self._overlap if newest else now - self._backfill,
            max_pages=self._max_pages,
            drain=drain,
            read=read,
            cut=cut,
            later=_later,
        )
        newest, backlog = progress.newest, progress.backlog
        if progress.cut:
            assert backlog is not None
            logger.warning(
                "Bluesky search for %r stopped at max_pages=%d; posts from %s to %s are "
                "kept as a backlog for the next fetches",
                spec.query,
                self._max_pages,
                _iso(backlog[0]),
                _iso(backlog[1]),
            )
        elif progress.crowded:
            logger.warning(
                "Bluesky search for %r: new posts did not fit in the pages left after the "
                "backlog; the next fetch reads them again",
                spec.query,
            )

        mentions = sorted(seen.values(), key=lambda m: (m.created_at, m.external_id))
        new_cursor: dict[str, Any] = {}
        if newest is not None:
            new_cursor["since"] = _iso(newest)
        if backlog is not None:
            new_cursor["backlog"] = {"since": _iso(backlog[0]), "until": _iso(backlog[1])}
        return FetchResult(mentions=mentions, cursor=new_cursor, authors=self._authors(mentions))

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Return the profile's follower and post counts; None when the account is gone."""
        if not handle:
            return None
        self._require_settings()
        try:
            body = self._xrpc_get("app.bsky.actor.getProfile", [("actor", handle)])
        except XrpcError as exc:
            if exc.status == 400 and exc.name in _GONE_ACTOR_ERRORS:
                return None
            raise
        return _author_from(load_json_object(body, "Bluesky getProfile body"))

    # --- search and profiles -------------------------------------------------------------

    def _search_window(
        self,
        spec: SearchSpec,
        since: datetime,
        until: datetime | None,
        *,
        budget: int,
        seen: dict[str, FetchedMention],
    ) -> Window[datetime]:
        """Read posts with `since <= sortAt < until`, newest first, to the end or `budget`."""
        newest: datetime | None = None
        oldest: datetime | None = None
        page_cursor: str | None = None
        for pages in range(1, budget + 1):
            params = [("q", spec.query), ("sort", "latest"), ("since", _iso(since))]
            if until is not None:
                params.append(("until", _iso(until)))
            if spec.lang:
                params.append(("lang", spec.lang))
            params.append(("limit", str(SEARCH_LIMIT)))
            if page_cursor:
                params.append(("cursor", page_cursor))
            page = _parse_search_page(self._xrpc_get("app.bsky.feed.searchPosts", params))
            for mention in page.mentions:
                seen.setdefault(mention.external_id, mention)
            if page.sort_times:
                newest = _later(newest, max(page.sort_times))
                oldest = min(page.sort_times) if oldest is None else min(oldest, *page.sort_times)
            ignored_since = bool(page.sort_times) and max(page.sort_times) < since
            if page.post_count == 0 or not page.cursor or ignored_since:
                return Window(pages, True, newest, oldest)
            page_cursor = page.cursor
        return Window(budget, False, newest, oldest)

    def _authors(self, mentions: list[FetchedMention]) -> dict[str, FetchedAuthor]:
        """Fetch the authors' profiles (25 a call), keyed by the handle their mentions carry."""
        by_did: dict[str, str] = {}
        for mention in mentions:
            did = _did_of(mention.external_id)
            if did is not None:
                by_did.setdefault(did, mention.author.handle)
        dids = list(by_did)
        authors: dict[str, FetchedAuthor] = {}
        for start in range(0, len(dids), PROFILES_PER_CALL):
            chunk = dids[start : start + PROFILES_PER_CALL]
            body = self._xrpc_get("app.bsky.actor.getProfiles", [("actors", d) for d in chunk])
            for did, author in _profiles_by_did(body).items():
                handle = by_did.get(did)
                if handle is not None:
                    # The pipeline matches authors to mentions by handle: use the mention's.
                    authors[handle] = dataclasses.replace(author, handle=handle)
        return authors

    # --- XRPC and the session ------------------------------------------------------------

    def _require_settings(self) -> None:
        if self.missing_settings:
            raise SourceError(
                "Bluesky search not configured: set " + " and ".join(self.missing_settings)
            )

    def _xrpc_get(self, method: str, params: list[tuple[str, str]]) -> bytes:
        """GET an XRPC query signed in; renew the session once if the token has expired."""
        url = f"{self._base_url}/xrpc/{method}?{urlencode(params, quote_via=quote)}"
        for attempt in range(2):
            token = self._access_token()
            page = self._http.get(
                url, headers={"Authorization": f"Bearer {token}"}, ok_statuses=_XRPC_STATUSES
            )
            if page.status == 200:
                return page.body
            error = _xrpc_error(method, page.status, page.body)
            if attempt == 0 and (error.status == 401 or error.name == "ExpiredToken"):
                self._renew_session(stale_access_jwt=token)
                continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _access_token(self) -> str:
        with self._session_lock:
            if self._session is None:
                self._session = self._create_session()
            return self._session.access_jwt

    def _renew_session(self, *, stale_access_jwt: str) -> None:
        """Refresh the session, or sign in again if the refresh token is no good either."""
        with self._session_lock:
            session = self._session
            if session is None or session.access_jwt != stale_access_jwt:
                return  # another fetch renewed it meanwhile
            try:
                data = self._post("com.atproto.server.refreshSession", bearer=session.refresh_jwt)
            except XrpcError as exc:
                # The refresh token is refused too; a timeout or 429 instead leaves the session
                # as it is, to refresh next time rather than spend a sign-in.
                logger.info("Bluesky refreshSession failed (%s); signing in again", exc.name)
                self._session = None
                self._session = self._create_session()
                return
            self._session = _session_from(data, "refreshSession")

    def _create_session(self) -> _Session:
        credentials = {"identifier": self._handle or "", "password": self._password or ""}
        data = self._post("com.atproto.server.createSession", json_body=credentials)
        return _session_from(data, "createSession")

    def _post(
        self, method: str, *, json_body: dict[str, str] | None = None, bearer: str | None = None
    ) -> dict[str, Any]:
        """POST to an XRPC procedure with GET's care: bounded body, rate limits, clear errors."""
        page = http_post(
            self._client,
            f"{self._base_url}/xrpc/{method}",
            network="Bluesky",
            what=method,
            max_body_bytes=MAX_SESSION_BODY_BYTES,
            error_body_bytes=MAX_SESSION_BODY_BYTES,
            clock=self._http.clock,
            headers={"Authorization": f"Bearer {bearer}"} if bearer else {},
            json_body=json_body,
        )
        if not 200 <= page.status < 300:
            raise _xrpc_error(method, page.status, page.body)
        return load_json_object(page.body, f"Bluesky {method} body")


def _xrpc_error(method: str, status: int, body: bytes) -> XrpcError:
    """Read XRPC's `{"error": name, "message": text}`; fall back to the HTTP status."""
    name, message = f"HTTP{status}", ""
    try:
        data = load_json_object(body, "error")
    except SourceError:
        data = {}
    if isinstance(data.get("error"), str):
        name = data["error"]
    if isinstance(data.get("message"), str):
        message = clean_text(data["message"])[:ERROR_MESSAGE_CHARS]
    return XrpcError(method, status, name, message)


def _session_from(data: dict[str, Any], method: str) -> _Session:
    access, refresh = data.get("accessJwt"), data.get("refreshJwt")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise SourceError(f"Bluesky {method} answered without accessJwt and refreshJwt")
    return _Session(access_jwt=access, refresh_jwt=refresh)


# --- cursors ---------------------------------------------------------------------------------


def _cursor_time(cursor: dict[str, Any], key: str) -> datetime | None:
    value = cursor.get(key)
    if value is None:
        return None
    parsed = iso_time(value)
    if parsed is None:
        raise ValueError(f"Bluesky cursor {key!r} must be an ISO time, got {value!r}")
    return parsed


def _backlog(cursor: dict[str, Any]) -> _Bounds | None:
    backlog = cursor.get("backlog", {})
    if not isinstance(backlog, dict):
        raise ValueError(f"Bluesky cursor 'backlog' must be an object, got {backlog!r}")
    since, until = _cursor_time(backlog, "since"), _cursor_time(backlog, "until")
    if since is None or until is None:
        return None
    return since, until


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return max(a, b)


def _just_after(moment: datetime) -> datetime:
    """The first millisecond after `moment`: an exclusive `until` that still includes it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000) + timedelta(milliseconds=1)


def _lower_until(until: datetime, oldest_read: datetime | None) -> datetime:
    """The backlog's next `until`: just after the oldest post read, so its millisecond is kept."""
    if oldest_read is None:  # nothing on the pages had a time: try the same window again
        return until
    below = _just_after(oldest_read)
    # A page of posts all in the bound's millisecond would not move it: step past it then,
    # rather than read the same page forever.
    return below if below < until else oldest_read


def _iso(moment: datetime) -> str:
    """UTC, milliseconds, `Z`: the datetime form the AT Protocol writes."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- parsing ---------------------------------------------------------------------------------


def _parse_search_page(body: bytes) -> _SearchPage:
    data = load_json_object(body, "Bluesky searchPosts body")
    posts = data.get("posts")
    if not isinstance(posts, list):
        raise SourceError("Bluesky searchPosts body has no 'posts' list")
    mentions = [m for m in (_mention_from(post) for post in posts) if m is not None]
    sort_times = [t for t in (_post_sort_at(post) for post in posts) if t is not None]
    cursor = data.get("cursor")
    return _SearchPage(
        mentions=mentions,
        sort_times=sort_times,
        post_count=len(posts),
        cursor=cursor if isinstance(cursor, str) and cursor else None,
    )


def _mention_from(post: object) -> FetchedMention | None:
    """Map one postView to a mention; None (logged) when it has no usable uri or time."""
    if not isinstance(post, dict):
        logger.warning("Skipping Bluesky post that is not an object: %r", post)
        return None
    uri = opt_str(post.get("uri"))
    did, rkey = _did_and_rkey(uri)
    if uri is None or did is None or rkey is None:
        logger.warning("Skipping Bluesky post without an at:// post uri (uri=%r)", uri)
        return None
    record = _obj(post.get("record"))
    created_at = _post_sort_at(post)
    if created_at is None:
        logger.warning("Skipping Bluesky post %s without createdAt or indexedAt", uri)
        return None
    author_view = _obj(post.get("author"))
    if opt_str(author_view.get("did")) is None:
        author_view = {**author_view, "did": did}
    author = _author_from(author_view) or FetchedAuthor(
        handle=did, account_id=did, url=PROFILE_URL.format(did)
    )
    langs = record.get("langs")
    lang = opt_str(langs[0]) if isinstance(langs, list) and langs else None
    reply = _obj(record.get("reply"))
    parent_uri = opt_str(_obj(reply.get("parent")).get("uri"))
    root_uri = opt_str(_obj(reply.get("root")).get("uri"))
    reposts = opt_count(post.get("repostCount"))
    quotes = opt_count(post.get("quoteCount"))
    return FetchedMention(
        network=NETWORK,
        external_id=uri,
        url=POST_URL.format(quote(author.handle, safe=":"), quote(rkey, safe="")),
        text=clean_text(opt_str(record.get("text")) or ""),
        created_at=created_at,
        author=author,
        lang=lang,
        likes=opt_count(post.get("likeCount")),
        # A quote post passes the post on as a repost does, with words of its own.
        reposts=None if reposts is None and quotes is None else (reposts or 0) + (quotes or 0),
        replies=opt_count(post.get("replyCount")),
        parent_id=parent_uri,
        conversation_id=root_uri or parent_uri or uri,
        # A reply names its root only by uri: the search gives no title for the thread.
        link_url=_linked_page(record),
    )


def _linked_page(record: dict[str, Any]) -> str | None:
    """The page a post's link card (an external embed, alone or beside a quote) points to."""
    embed = _obj(record.get("embed"))
    if embed.get("$type") == "app.bsky.embed.recordWithMedia":
        embed = _obj(embed.get("media"))
    if embed.get("$type") != "app.bsky.embed.external":
        return None
    uri = opt_str(_obj(embed.get("external")).get("uri"))
    return uri if uri is not None and uri.startswith(("https://", "http://")) else None


def _author_from(view: dict[str, Any]) -> FetchedAuthor | None:
    """An author from a profile view (basic or detailed); None without a did or handle."""
    did = opt_str(view.get("did"))
    raw_handle = opt_str(view.get("handle"))
    # An unverifiable handle reads "handle.invalid" for everyone: the did tells them apart.
    handle = did if raw_handle in (None, INVALID_HANDLE) else raw_handle
    if handle is None:
        return None
    status = opt_str(_obj(view.get("verification")).get("verifiedStatus"))
    return FetchedAuthor(
        handle=handle,
        account_id=opt_str(view.get("did")),
        display_name=clean_text(opt_str(view.get("displayName")) or "") or None,
        url=PROFILE_URL.format(quote(handle, safe=":")),
        followers=opt_count(view.get("followersCount")),
        following=opt_count(view.get("followsCount")),
        posts=opt_count(view.get("postsCount")),
        created_at=iso_time(view.get("createdAt")),
        verified=None if status is None else status == "valid",
    )


def _profiles_by_did(body: bytes) -> dict[str, FetchedAuthor]:
    data = load_json_object(body, "Bluesky getProfiles body")
    profiles = data.get("profiles")
    if not isinstance(profiles, list):
        raise SourceError("Bluesky getProfiles body has no 'profiles' list")
    found: dict[str, FetchedAuthor] = {}
    for profile in profiles:
        if not isinstance(profile, dict):
            continue
        did, author = opt_str(profile.get("did")), _author_from(profile)
        if did is not None and author is not None:
            found[did] = author
    return found


def _did_and_rkey(uri: str | None) -> tuple[str | None, str | None]:
    """Split `at://<did>/app.bsky.feed.post/<rkey>`; (None, None) for anything else."""
    if uri is None or not uri.startswith("at://"):
        return None, None
    parts = uri[len("at://") :].split("/")
    if len(parts) != 3 or not parts[0].startswith("did:") or parts[1] != "app.bsky.feed.post":
        return None, None
    return parts[0], parts[2] or None


def _did_of(uri: str) -> str | None:
    return _did_and_rkey(uri)[0]


def _post_sort_at(post: object) -> datetime | None:
    """The earlier of `createdAt` and `indexedAt`, as the search orders posts by."""
    if not isinstance(post, dict):
        return None
    created_at = iso_time(_obj(post.get("record")).get("createdAt"))
    indexed_at = iso_time(post.get("indexedAt"))
    # A `createdAt` in the future (a wrong clock) can't jump ahead of when it was indexed.
    if created_at is None or indexed_at is None:
        return created_at or indexed_at
    return min(created_at, indexed_at)


def _obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
