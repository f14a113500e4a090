"""Mastodon mentions from one server: full-text status search and hashtag timelines.

Two ways in, each with its own cursor because status ids are per server and per endpoint:

- `GET /api/v2/search?type=statuses` needs a user token with `read:search`. Its `min_id` is
  a lower bound, not a page position: current Mastodon turns it into `after:<time of that
  id>` and sorts the hits newest first, so a search window is read newest first with
  `offset` until an empty page. A window cut short by `max_pages` leaves its older part as
  a backlog (`min_id`..`max_id`, fixed, read on by `offset`) that the next fetches read
  first, with at most half their pages, until an empty page says nothing was missed.
- `GET /api/v1/timelines/tag/:tag?min_id=` is public. There `min_id` returns the page
  immediately newer than it (newest first), and `Link: rel="prev"` names the next `min_id`,
  so a tag is read forwards and a cut-short read simply resumes from its newest status.

Mastodon ids are Snowflakes (milliseconds since the epoch << 16), so a time becomes an id
for the first fetch's backfill and for a small look-back that catches late federation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack
from urllib.parse import parse_qs, quote, urlsplit

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
from bot.sources.fields import http_url, iso_time, opt_count, opt_str
from bot.sources.http import Page, load_json, load_json_object
from bot.sources.httpsource import HttpOptions, HttpSource
from bot.sources.network import Dialect, Network, Profiles, ProfileUrl, Setting, SourceKit
from bot.text import clean_text, html_to_text

logger = logging.getLogger(__name__)

NETWORK = "mastodon"
DEFAULT_BASE_URL = "https://mastodon.social"
PAGE_LIMIT = 40  # the most statuses Mastodon returns per page
SNOWFLAKE_SHIFT = 16  # an id is milliseconds since the epoch shifted left by 16 bits
# An `after:`/`before:` bound drops sub-second precision: widen backlog bounds by a second.
BOUND_SLACK_MS = 1000
BASE_URL = Setting("OVERHEARD_MASTODON_URL")
ACCESS_TOKEN = Setting("MASTODON_ACCESS_TOKEN", required=True)  # hashtag timelines work without
NOT_CONFIGURED = f"Mastodon full-text search not configured: set {ACCESS_TOKEN.env}"


@dataclass(frozen=True, slots=True)
class _StatusPage:
    mentions: list[FetchedMention]
    ids: list[str]  # the page's own status ids, usable or not, for cursors and paging


@dataclass(frozen=True, slots=True)
class _Backlog:
    """Search hits with `low < id < high` (no upper bound when None), read up to `offset`."""

    low: str
    high: str | None
    offset: int = 0


def parse_mentions(body: bytes) -> list[FetchedMention]:
    """Parse a `/api/v2/search` answer or a timeline (a list of statuses) into mentions."""
    return _parse_status_page(body).mentions


def parse_account(body: bytes) -> FetchedAuthor | None:
    """Parse an Account (e.g. from `/api/v1/accounts/lookup`); None when it names no one."""
    return _author_from(load_json_object(body, "Mastodon account body"))


def _build(kit: SourceKit) -> Source:
    return MastodonSource(
        kit.http,
        access_token=kit.value(ACCESS_TOKEN),
        **kit.http_options(BASE_URL),
    )


MASTODON = Network(
    key=NETWORK,
    name="Mastodon",
    web_url=DEFAULT_BASE_URL,
    build=_build,
    dialect=Dialect(sigils=True),
    settings=(BASE_URL, ACCESS_TOKEN),
    # Profiles live on every server; the configured server looks up `user@domain` publicly.
    profiles=Profiles(
        urls=(
            ProfileUrl(
                host=r"[a-z0-9-]+(?:\.[a-z0-9-]+)+",
                path=r"/@(?P<user>[^/?#@]+)@(?P<domain>[^/?#@]+)(?:[/?].*)?",
                handle="{user}@{domain}",
            ),
            ProfileUrl(
                host=r"[a-z0-9-]+(?:\.[a-z0-9-]+)+",
                path=r"/(?:@|users/)(?P<user>[^/?#@]+)(?:[/?].*)?",
                handle="{user}@{host}",
            ),
        ),
        handle=r"[A-Za-z0-9_]{1,30}(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?",
        example="Gargron@mastodon.social",
        any_host=True,
    ),
)


class MastodonSource(HttpSource):
    """Reads statuses matching a query, and its hashtags' timelines, from one Mastodon server."""

    name = NETWORK
    label = MASTODON.name
    default_base_url = DEFAULT_BASE_URL

    def __init__(
        self,
        client: httpx.Client,
        *,
        access_token: str | None = None,
        **options: Unpack[HttpOptions],
    ) -> None:
        super().__init__(client, **options)
        self._token = access_token or None
        self._overlap_ms = int(self._overlap.total_seconds() * 1000)
        self.missing_settings = MASTODON.missing({ACCESS_TOKEN.env: self._token})

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return statuses from the search and each hashtag newer than their cursors."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        tags = _tag_names(spec.hashtags)
        if self._token is None and not tags:
            raise SourceError(NOT_CONFIGURED)
        old_search = _sub_cursor(cursor, "search")
        old_tags = _sub_cursor(cursor, "tags")
        seen: dict[str, FetchedMention] = {}

        new_cursor: dict[str, Any] = {}
        search = old_search
        if self._token is not None and spec.query.strip():
            search = self._read_search(spec.query, old_search, now=now, seen=seen)
        if search:
            new_cursor["search"] = search
        tag_cursors: dict[str, Any] = {}
        for tag in tags:
            tag_cursor = self._read_tag(tag, _sub_cursor(old_tags, tag), now=now, seen=seen)
            if tag_cursor:
                tag_cursors[tag] = tag_cursor
        if tag_cursors:
            new_cursor["tags"] = tag_cursors

        mentions = sorted(seen.values(), key=lambda m: (m.created_at, m.external_id))
        # Statuses embed their authors' counts: no second call, except for an account whose
        # counts were missing (left out here so the pipeline may look it up).
        authors = {
            m.author.handle: m.author
            for m in mentions
            if m.author.handle and m.author.followers is not None
        }
        return FetchResult(mentions=mentions, cursor=new_cursor, authors=authors)

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Look the account up by `user@domain`; None when the server does not know it."""
        if not handle:
            return None
        page = self._get("/api/v1/accounts/lookup", {"acct": handle}, not_found_ok=True)
        if page.status == 404:
            return None
        return parse_account(page.body)

    # --- full-text search ----------------------------------------------------------------

    def _read_search(
        self, query: str, old: dict[str, Any], *, now: datetime, seen: dict[str, FetchedMention]
    ) -> dict[str, Any]:
        """Read any backlog, then the search since the cursor; return the search's cursor."""
        newest = _cursor_id(old, "min_id")

        def drain(backlog: _Backlog, budget: int) -> tuple[int, _Backlog | None]:
            done = self._search_window(query, backlog, budget=budget, seen=seen)
            left = None if done.complete else _Backlog(backlog.low, backlog.high, done.offset)
            return done.pages, left

        def read(lower: str, budget: int) -> Window[str]:
            return self._search_window(query, _Backlog(lower, None), budget=budget, seen=seen)

        def cut(lower: str, window: Window[str]) -> _Backlog:
            assert window.oldest is not None  # a read is cut short only after a full page
            return _Backlog(lower, _shift(window.oldest, BOUND_SLACK_MS))

        progress: Progress[str, _Backlog] = read_backlog_first(
            newest,
            _backlog(old),
            start=_shift(newest, -self._overlap_ms) if newest else _snowflake(now - self._backfill),
            max_pages=self._max_pages,
            drain=drain,
            read=read,
            cut=cut,
            later=_newer,
        )
        newest, backlog = progress.newest, progress.backlog
        if progress.cut:
            assert backlog is not None
            logger.warning(
                "Mastodon search for %r stopped at max_pages=%d; statuses between ids %s "
                "and %s are kept as a backlog for the next fetches",
                query,
                self._max_pages,
                backlog.low,
                backlog.high,
            )
        elif progress.crowded:
            logger.warning(
                "Mastodon search for %r: new statuses did not fit in the pages left after "
                "the backlog; the next fetch reads them again",
                query,
            )
        result: dict[str, Any] = {}
        if newest is not None:
            result["min_id"] = newest
        if backlog is not None:
            result["backlog"] = {
                "min_id": backlog.low,
                "max_id": backlog.high,
                "offset": backlog.offset,
            }
        return result

    def _search_window(
        self, query: str, window: _Backlog, *, budget: int, seen: dict[str, FetchedMention]
    ) -> Window[str]:
        """Read hits between two ids newest first, by offset, until an empty page or `budget`."""
        newest: str | None = None
        oldest: str | None = None
        offset = window.offset
        for pages in range(1, budget + 1):
            params = {
                "q": query,
                "type": "statuses",
                "limit": str(PAGE_LIMIT),
                "resolve": "false",
                "min_id": window.low,
            }
            if window.high is not None:
                params["max_id"] = window.high
            if offset:
                params["offset"] = str(offset)
            page = _parse_status_page(self._get("/api/v2/search", params).body)
            if not page.ids:
                return Window(pages, True, newest, oldest, offset)
            _keep(page.mentions, seen)
            newest = _newer(newest, max(page.ids, key=_id_order))
            oldest = _older(oldest, min(page.ids, key=_id_order))
            # Hits the server filtered out still took their place: offsets count what we got,
            # so at worst a page repeats a few statuses, and nothing is skipped.
            offset += len(page.ids)
        return Window(budget, False, newest, oldest, offset)

    # --- hashtag timelines ---------------------------------------------------------------

    def _read_tag(
        self, tag: str, old: dict[str, Any], *, now: datetime, seen: dict[str, FetchedMention]
    ) -> dict[str, Any]:
        """Read one tag's timeline forwards from its cursor; return the tag's cursor."""
        newest = _cursor_id(old, "min_id")
        min_id = _shift(newest, -self._overlap_ms) if newest else _snowflake(now - self._backfill)
        path = f"/api/v1/timelines/tag/{quote(tag, safe='')}"
        for _page in range(self._max_pages):
            answer = self._get(path, {"min_id": min_id, "limit": str(PAGE_LIMIT)})
            page = _parse_status_page(answer.body)
            if not page.ids:
                break
            _keep(page.mentions, seen)
            page_newest = max(page.ids, key=_id_order)
            newest = _newer(newest, page_newest)
            next_min = _link_param(answer.links, "prev", "min_id") or page_newest
            if _id_order(next_min) <= _id_order(min_id):
                break  # no progress: never loop on a server that repeats itself
            min_id = next_min
        else:
            logger.warning(
                "Mastodon #%s stopped at max_pages=%d; the next fetch continues from id %s",
                tag,
                self._max_pages,
                newest,
            )
        return {"min_id": newest} if newest is not None else {}

    def _get(self, path: str, params: dict[str, str], *, not_found_ok: bool = False) -> Page:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else None
        ok = frozenset({200, 404}) if not_found_ok else frozenset({200})
        return self._http.get(
            f"{self._base_url}{path}", params=params, headers=headers, ok_statuses=ok
        )


# --- cursors and ids -------------------------------------------------------------------------


def _sub_cursor(cursor: dict[str, Any], key: str) -> dict[str, Any]:
    value = cursor.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"Mastodon cursor {key!r} must be an object, got {value!r}")
    return value


def _cursor_id(cursor: dict[str, Any], key: str) -> str | None:
    value = cursor.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"Mastodon cursor {key!r} must be a status id, got {value!r}")
    return value


def _backlog(cursor: dict[str, Any]) -> _Backlog | None:
    backlog = _sub_cursor(cursor, "backlog")
    low, high = _cursor_id(backlog, "min_id"), _cursor_id(backlog, "max_id")
    if low is None or high is None:
        return None
    offset = backlog.get("offset", 0)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"Mastodon cursor backlog offset must be a count, got {offset!r}")
    return _Backlog(low, high, offset)


def _id_order(status_id: str) -> tuple[int, str]:
    """Order ids numerically when decimal, else by width then text (sortable ids like ULIDs)."""
    return len(status_id), status_id


def _newer(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return max(a, b, key=_id_order)


def _older(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return min(a, b, key=_id_order)


def _snowflake(moment: datetime) -> str:
    """The smallest Mastodon id a status created at `moment` can have."""
    return str(int(moment.timestamp() * 1000) << SNOWFLAKE_SHIFT)


def _shift(status_id: str, milliseconds: int) -> str:
    """Move a Snowflake id by some milliseconds; leave ids of other servers' shapes alone."""
    if not status_id.isdigit():
        return status_id
    return str(max(0, int(status_id) + (milliseconds << SNOWFLAKE_SHIFT)))


def _link_param(links: Mapping[str | None, Mapping[str, str]], rel: str, name: str) -> str | None:
    """Read one query parameter of the `Link` header's URL with relation `rel`."""
    values = parse_qs(urlsplit(links.get(rel, {}).get("url", "")).query).get(name)
    return values[0] if values and values[0] else None


def _tag_names(hashtags: tuple[str, ...]) -> list[str]:
    """Tags without `#`, lower-cased (Mastodon's tags ignore case), each once."""
    names = (tag.lstrip("#").strip().lower() for tag in hashtags)
    return list(dict.fromkeys(name for name in names if name))


def _keep(mentions: list[FetchedMention], seen: dict[str, FetchedMention]) -> None:
    for mention in mentions:
        seen.setdefault(mention.external_id, mention)


# --- parsing -----------------------------------------------------------------------------


def _parse_status_page(body: bytes) -> _StatusPage:
    data = load_json(body, "Mastodon body")
    if isinstance(data, dict):
        statuses = data.get("statuses")
        if not isinstance(statuses, list):
            raise SourceError(f"Mastodon search body has no 'statuses' list: {body[:80]!r}")
    elif isinstance(data, list):
        statuses = data
    else:
        raise SourceError(f"Mastodon body is a JSON {type(data).__name__}, not statuses")
    mentions: list[FetchedMention] = []
    ids: list[str] = []
    for status in statuses:
        if isinstance(status, dict) and opt_str(status.get("id")):
            ids.append(status["id"])
        mention = _mention_from(status)
        if mention is not None:
            mentions.append(mention)
    return _StatusPage(mentions=mentions, ids=ids)


def _mention_from(status: object) -> FetchedMention | None:
    """Map one Status to a mention; None (logged) when it has no global id or no time."""
    if not isinstance(status, dict):
        logger.warning("Skipping Mastodon status that is not an object: %r", status)
        return None
    reblog = status.get("reblog")
    proper: dict[str, Any] = reblog if isinstance(reblog, dict) else status
    uri = opt_str(proper.get("uri"))
    if uri is None:
        logger.warning("Skipping Mastodon status %r without uri", status.get("id"))
        return None
    created_at = iso_time(proper.get("created_at"))
    if created_at is None:
        logger.warning("Skipping Mastodon status %s without created_at", uri)
        return None
    url = next((u for u in (opt_str(proper.get("url")), uri) if u and _is_web(u)), None)
    if url is None:
        logger.warning("Skipping Mastodon status %s without an http(s) address", uri)
        return None
    account = proper.get("account")
    author = _author_from(account if isinstance(account, dict) else {})
    text = html_to_text(opt_str(proper.get("content")) or "")
    warning = clean_text(opt_str(proper.get("spoiler_text")) or "")
    if warning:
        text = f"CW: {warning}\n{text}" if text else f"CW: {warning}"
    parent = proper.get("in_reply_to_id")
    parent_id = parent if isinstance(parent, str) and parent else None
    return FetchedMention(
        network=NETWORK,
        external_id=uri,
        url=url,
        text=text,
        created_at=created_at,
        author=author or FetchedAuthor(handle=""),
        lang=opt_str(proper.get("language")),
        likes=opt_count(proper.get("favourites_count")),
        reposts=opt_count(proper.get("reblogs_count")),
        replies=opt_count(proper.get("replies_count")),
        # `in_reply_to_id` is this server's id of the parent; Mastodon names no thread root,
        # so only a post that starts its thread knows its conversation: itself.
        parent_id=parent_id,
        conversation_id=None if parent_id else uri,
    )


def _author_from(account: dict[str, Any]) -> FetchedAuthor | None:
    url = opt_str(account.get("url"))
    handle = _qualified(opt_str(account.get("acct")) or opt_str(account.get("username")), url)
    if handle is None:
        return None
    return FetchedAuthor(
        handle=handle,
        # The ActivityPub URI names the account on every server, whatever it is called now.
        account_id=http_url(account.get("uri")),
        display_name=clean_text(opt_str(account.get("display_name")) or "") or None,
        url=url,
        followers=opt_count(account.get("followers_count")),
        following=opt_count(account.get("following_count")),
        posts=opt_count(account.get("statuses_count")),
        created_at=iso_time(account.get("created_at")),
    )


def _qualified(acct: str | None, url: str | None) -> str | None:
    """`user@domain` for everyone: the server writes its own users' acct without a domain."""
    if acct is None:
        return None
    acct = acct.lstrip("@")
    if "@" in acct or not url:
        return acct or None
    host = urlsplit(url).hostname
    return f"{acct}@{host}" if host else acct


def _is_web(url: str) -> bool:
    return url.lower().startswith(("https://", "http://"))
