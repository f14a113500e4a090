"""Hacker News mentions through the Algolia HN Search API: parsing and fetching."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.sources.base import (
    FetchedAuthor,
    FetchedMention,
    FetchResult,
    SearchSpec,
    Source,
    SourceError,
)
from bot.sources.fields import epoch_time, iso_time, opt_int, opt_str
from bot.sources.http import load_json_object
from bot.sources.httpsource import HttpSource
from bot.sources.network import Dialect, Network, Profiles, ProfileUrl, Setting, SourceKit
from bot.text import html_to_text

logger = logging.getLogger(__name__)

NETWORK = "hackernews"
ITEM_URL = "https://news.ycombinator.com/item?id={}"
USER_URL = "https://news.ycombinator.com/user?id={}"
HITS_PER_PAGE = 100
SEARCH_TAGS = "(story,comment)"
BASE_URL = Setting("OVERHEARD_HACKERNEWS_URL")


@dataclass(frozen=True, slots=True)
class _SearchPage:
    mentions: list[FetchedMention]
    hit_count: int
    nb_pages: int | None
    nb_hits: int | None


def parse_mentions(body: bytes) -> list[FetchedMention]:
    """Parse an Algolia `search_by_date` response into mentions, skipping unusable hits."""
    return _parse_search_page(body).mentions


def parse_author(body: bytes) -> FetchedAuthor | None:
    """Parse a `/api/v1/users/<name>` response; None when it names no user."""
    return _author_from(load_json_object(body, "Hacker News user body"), handle=None)


def _build(kit: SourceKit) -> Source:
    return HackerNewsSource(kit.http, **kit.http_options(BASE_URL))


HACKER_NEWS = Network(
    key=NETWORK,
    name="Hacker News",
    web_url="https://news.ycombinator.com",
    build=_build,
    dialect=Dialect(exclude="-"),
    settings=(BASE_URL,),  # the API needs no credentials
    profiles=Profiles(
        urls=(
            ProfileUrl(
                host=r"news\.ycombinator\.com",
                path=r"/(?:user|submitted|threads)\?(?:.*&)?id=(?P<handle>[^&#]*)(?:&.*)?",
            ),
        ),
        handle=r"[A-Za-z0-9_-]{2,15}",
        example="pg",
        aliases=("hn",),
    ),
)


class HackerNewsSource(HttpSource):
    """Reads stories and comments matching a query from Hacker News via Algolia."""

    name = NETWORK
    label = HACKER_NEWS.name
    default_base_url = "https://hn.algolia.com"
    missing_settings: tuple[str, ...] = ()  # the API needs no credentials

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return mentions matching `spec` since the cursor (minus overlap), and the new cursor."""
        query = spec.query
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        old_mark = _cursor_mark(cursor)
        if old_mark is None:
            since = math.floor((now - self._backfill).timestamp())
        else:
            # Algolia indexes with a lag: look back a little; re-seen items dedupe downstream.
            since = old_mark - math.floor(self._overlap.total_seconds())

        seen: dict[str, FetchedMention] = {}
        page = 0
        while True:
            search_page = self._fetch_page(query, since=since, page=page)
            for mention in search_page.mentions:
                seen.setdefault(mention.external_id, mention)
            if search_page.hit_count == 0 or search_page.nb_pages is None:
                break
            if page + 1 >= search_page.nb_pages:
                break
            if page + 1 >= self._max_pages:
                logger.warning(
                    "Hacker News search for %r stopped at max_pages=%d of %d pages "
                    "(nbHits=%s); older matches since %d were not read",
                    query,
                    self._max_pages,
                    search_page.nb_pages,
                    search_page.nb_hits,
                    since,
                )
                break
            page += 1

        mentions = sorted(seen.values(), key=lambda m: (m.created_at, m.external_id))
        marks = [math.floor(m.created_at.timestamp()) for m in mentions]
        if old_mark is not None:
            marks.append(old_mark)
        new_cursor: dict[str, Any] = {"created_at_i": max(marks)} if marks else {}
        return FetchResult(mentions=mentions, cursor=new_cursor)

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Return the user's karma (and age when present), or None when the user is unknown."""
        if not handle:
            return None
        url = f"{self._base_url}/api/v1/users/{quote(handle, safe='')}"
        body = self._get(url, params=None, not_found_ok=True)
        if body is None:
            return None
        return _author_from(load_json_object(body, "Hacker News user body"), handle=handle)

    def _fetch_page(self, query: str, *, since: int, page: int) -> _SearchPage:
        params = {
            "query": query,
            "tags": SEARCH_TAGS,
            "numericFilters": f"created_at_i>{since}",
            "hitsPerPage": str(HITS_PER_PAGE),
            "page": str(page),
            # A brand query must not match its near-misses ("acme" is not "acne").
            "typoTolerance": "false",
        }
        body = self._get(f"{self._base_url}/api/v1/search_by_date", params=params)
        if body is None:  # only possible with not_found_ok
            raise SourceError("Hacker News search: unexpected empty answer")
        return _parse_search_page(body)

    def _get(
        self, url: str, *, params: dict[str, str] | None, not_found_ok: bool = False
    ) -> bytes | None:
        """GET `url` and return its body, or None on a tolerated 404."""
        ok = frozenset({200, 404}) if not_found_ok else frozenset({200})
        page = self._http.get(url, params=params, ok_statuses=ok)
        return None if page.status == 404 else page.body


def _cursor_mark(cursor: dict[str, Any]) -> int | None:
    if "created_at_i" not in cursor:
        return None
    mark = cursor["created_at_i"]
    if isinstance(mark, bool) or not isinstance(mark, int):
        raise ValueError(f"Hacker News cursor created_at_i must be an int, got {mark!r}")
    return mark


def _parse_search_page(body: bytes) -> _SearchPage:
    data = load_json_object(body, "Hacker News search body")
    hits = data.get("hits")
    if not isinstance(hits, list):
        raise SourceError("Hacker News search body has no 'hits' list")
    mentions = [m for m in (_mention_from(hit) for hit in hits) if m is not None]
    return _SearchPage(
        mentions=mentions,
        hit_count=len(hits),
        nb_pages=opt_int(data.get("nbPages")),
        nb_hits=opt_int(data.get("nbHits")),
    )


def _mention_from(hit: object) -> FetchedMention | None:
    """Map one hit to a mention; None (logged) when it has no id or no time."""
    if not isinstance(hit, dict):
        logger.warning("Skipping Hacker News hit that is not an object: %r", hit)
        return None
    object_id = hit.get("objectID")
    if isinstance(object_id, int) and not isinstance(object_id, bool):
        object_id = str(object_id)
    if not isinstance(object_id, str) or not object_id:
        logger.warning("Skipping Hacker News hit without objectID (objectID=%r)", object_id)
        return None
    created_at = _time_from(hit)
    if created_at is None:
        logger.warning("Skipping Hacker News hit %s without created_at_i", object_id)
        return None

    tags = hit.get("_tags")
    tags = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    is_comment = "comment" in tags or ("story" not in tags and "comment_text" in hit)
    if is_comment:
        # A comment has no title of its own; its story's title names the conversation, and
        # the story's link is the page the discussion is about.
        title = None
        conversation_title = opt_str(hit.get("story_title"))
        link_url = opt_str(hit.get("story_url"))
        text = html_to_text(opt_str(hit.get("comment_text")) or "")
    else:
        title = conversation_title = opt_str(hit.get("title"))
        link_url = opt_str(hit.get("url"))
        text = html_to_text(opt_str(hit.get("story_text")) or "")
        if not text:
            # A link story's only words are its title and its URL; Algolia matches the URL
            # too, so keep it: it is often why the story matched.
            text = "\n".join(p for p in (title, opt_str(hit.get("url"))) if p)

    handle = opt_str(hit.get("author")) or ""
    story_id = opt_int(hit.get("story_id"))
    parent_id = opt_int(hit.get("parent_id"))
    if story_id is None and not is_comment:
        story_id = opt_int(object_id)  # a story's conversation is itself
    return FetchedMention(
        network=NETWORK,
        external_id=object_id,
        url=ITEM_URL.format(quote(object_id, safe="")),
        text=text,
        created_at=created_at,
        author=FetchedAuthor(handle=handle, url=_user_url(handle) if handle else None),
        likes=opt_int(hit.get("points")),
        replies=opt_int(hit.get("num_comments")),
        parent_id=str(parent_id) if parent_id is not None else None,
        conversation_id=str(story_id) if story_id is not None else None,
        title=title,
        conversation_title=conversation_title,
        link_url=link_url,
    )


def _author_from(data: dict[str, Any], *, handle: str | None) -> FetchedAuthor | None:
    username = opt_str(data.get("username")) or handle
    if not username:
        return None
    return FetchedAuthor(
        handle=username,
        url=_user_url(username),
        karma=opt_int(data.get("karma")),
        created_at=_time_from(data),
    )


def _user_url(handle: str) -> str:
    return USER_URL.format(quote(handle, safe=""))


def _time_from(item: dict[str, Any]) -> datetime | None:
    """A UTC time from `created_at_i` (epoch seconds), else from `created_at` (ISO 8601)."""
    return epoch_time(item.get("created_at_i")) or iso_time(item.get("created_at"))
