"""App Store reviews from Apple's public customer-reviews feed (JSON): parsing and fetching.

The feed shows at most 10 pages of 50 reviews, most recent first. Newer variants date each
review (`updated`); older ones do not, and such a review is dated `now`, the moment overheard
first saw it. Reviews have ids but no reliable order, so the cursor remembers the ids seen.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack
from urllib.parse import urlsplit

import httpx

from bot.sources.base import (
    FetchedAuthor,
    FetchedMention,
    FetchResult,
    SearchSpec,
    Source,
    SourceError,
)
from bot.sources.fields import http_url, iso_time
from bot.sources.http import load_json_object
from bot.sources.httpsource import HttpOptions, HttpSource
from bot.sources.network import (
    Dialect,
    Network,
    OptionError,
    Setting,
    SourceKit,
    WatchOption,
)
from bot.text import clean_text

logger = logging.getLogger(__name__)

NETWORK = "appstore"
PAGE_PATH = "/{cc}/rss/customerreviews/page={page}/id={app_id}/sortby=mostrecent/json"
APP_REVIEWS_URL = "https://apps.apple.com/{cc}/app/id{app_id}?see-all=reviews"
MAX_PAGES = 10  # the feed serves no more
SEEN_MAX = 1000  # more than the 500 reviews the feed can show at once
NAME_MAX_CHARS = 255
_APP_ID = re.compile(r"^(?:id)?(\d{1,15})$")
_COUNTRY = re.compile(r"^[a-z]{2}$")
_PAGE_IN_PATH = re.compile(r"/page=(\d+)/")
# What a watch may store: stricter than what a fetch accepts (it also takes "id123").
_WATCH_APP_ID = re.compile(r"^[0-9]{1,12}$")
NEEDS_APP_ID = "an appstore watch needs --app-id, the number in the app's URL"
BASE_URL = Setting("OVERHEARD_APPSTORE_URL")


@dataclass(frozen=True, slots=True)
class _Review:
    review_id: str
    dated: bool  # False when the feed gave no date and the review was dated `now`
    mention: FetchedMention


@dataclass(frozen=True, slots=True)
class _ReviewPage:
    reviews: list[_Review]
    last_page: int | None  # from the feed's rel="last" link, when it has one


def parse_mentions(
    body: bytes, *, app_id: str, country: str = "us", now: datetime
) -> list[FetchedMention]:
    """Parse one page of the reviews feed into mentions; undated reviews get `now`."""
    return [r.mention for r in _parse_page(body, app_id=app_id, country=country, now=now).reviews]


def stars(rating: int) -> str:
    """A 1–5 rating as text, e.g. `★★☆☆☆ (2/5)`."""
    return "★" * rating + "☆" * (5 - rating) + f" ({rating}/5)"


def _check_app_id(value: str, *, allow_private: bool) -> str:
    if not _WATCH_APP_ID.match(value):
        raise OptionError(NEEDS_APP_ID)
    return value


def _check_country(value: str, *, allow_private: bool) -> str:
    country = value.lower()
    if not _COUNTRY.match(country):
        raise OptionError("--country takes a two-letter store code, like us or de")
    return country


APP_ID = WatchOption(
    name="app_id",
    flag="--app-id",
    help="the app's id, the number in its store URL",
    required=True,
    missing=NEEDS_APP_ID,
    check=_check_app_id,
)
COUNTRY = WatchOption(
    name="country",
    flag="--country",
    help="the store's two-letter country (default us)",
    default="us",
    check=_check_country,
)


def _build(kit: SourceKit) -> Source:
    return AppStoreSource(kit.http, **kit.http_options(BASE_URL))


APP_STORE = Network(
    key=NETWORK,
    name="App Store",
    web_url="https://apps.apple.com",
    build=_build,
    dialect=Dialect(whole_feed=True),
    options=(APP_ID, COUNTRY),
    settings=(BASE_URL,),  # the feed is public
    recheck=False,  # every review is about the app, whatever its words
)


class AppStoreSource(HttpSource):
    """Reads an app's newest customer reviews in one App Store storefront."""

    name = NETWORK
    label = APP_STORE.name
    default_base_url = "https://itunes.apple.com"
    missing_settings: tuple[str, ...] = ()  # the feed is public

    def __init__(self, client: httpx.Client, **options: Unpack[HttpOptions]) -> None:
        if not 1 <= options.get("max_pages", MAX_PAGES) <= MAX_PAGES:
            raise ValueError(f"max_pages must be between 1 and {MAX_PAGES}")
        super().__init__(client, **options)

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return the reviews not seen before, paging until a page brings nothing new.

        The first run returns reviews from the backfill window; when the feed gives no
        dates it can't tell their age and returns the first page (the 50 most recent).
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        app_id = _valid_app_id(spec.options.get(APP_ID.name))
        country = _valid_country(spec.options.get(COUNTRY.name, COUNTRY.default))
        first_run = "seen" not in cursor
        seen_before = _load_seen(cursor)
        known = set(seen_before)
        cutoff = now - self._backfill

        read: list[str] = []  # review ids in feed order, this run
        new: list[FetchedMention] = []
        for page in range(1, self._max_pages + 1):
            reviews = self._fetch_page(app_id, country, page, now=now)
            fresh = [r for r in reviews.reviews if r.review_id not in known]
            read.extend(r.review_id for r in reviews.reviews)
            known.update(r.review_id for r in reviews.reviews)
            if not fresh:
                break
            reached_backfill_edge = False
            for review in fresh:
                if first_run and (not review.dated or review.mention.created_at < cutoff):
                    reached_backfill_edge = True
                    if review.dated:
                        continue  # older than the backfill window
                new.append(review.mention)
            if reached_backfill_edge or page == reviews.last_page:
                break
            if page == self._max_pages:
                logger.warning(
                    "App Store reviews of app %s (%s): stopped at max_pages=%d with every "
                    "page holding new reviews; older new reviews were not read",
                    app_id,
                    country,
                    self._max_pages,
                )

        seen = list(dict.fromkeys(read + seen_before))[:SEEN_MAX]
        return FetchResult(
            mentions=sorted(new, key=lambda m: (m.created_at, m.external_id)),
            cursor={"seen": seen},
        )

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """The App Store publishes no reviewer metrics."""
        return None

    def _fetch_page(self, app_id: str, country: str, page: int, *, now: datetime) -> _ReviewPage:
        path = PAGE_PATH.format(cc=country, page=page, app_id=app_id)
        body = self._http.get(f"{self._base_url}{path}").body
        return _parse_page(body, app_id=app_id, country=country, now=now)


def _valid_app_id(raw: str | None) -> str:
    if not raw:
        raise SourceError("App Store watch has no app id")
    match = _APP_ID.match(raw.strip().lower())
    if not match:
        raise SourceError(f"App Store app id must be the app's number, like 1459523498: {raw!r}")
    return match.group(1)


def _valid_country(raw: str | None) -> str:
    country = (raw or "").strip().lower()
    if not _COUNTRY.match(country):
        raise SourceError(f"App Store country must be a two-letter storefront code: {raw!r}")
    return country


def _load_seen(cursor: dict[str, Any]) -> list[str]:
    seen = cursor.get("seen", [])
    if not isinstance(seen, list) or not all(isinstance(i, str) for i in seen):
        raise ValueError(f"App Store cursor 'seen' must be a list of review ids, got {seen!r}")
    return seen


def _parse_page(body: bytes, *, app_id: str, country: str, now: datetime) -> _ReviewPage:
    data = load_json_object(body, "App Store reviews body")
    feed = data.get("feed")
    if not isinstance(feed, dict):
        raise SourceError("App Store reviews body has no 'feed' object")
    entries = feed.get("entry", [])
    if isinstance(entries, dict):  # a feed with a single entry gives it bare
        entries = [entries]
    if not isinstance(entries, list):
        raise SourceError("App Store reviews feed has an 'entry' that is not a list")
    reviews = [
        r
        for r in (_review_from(e, app_id=app_id, country=country, now=now) for e in entries)
        if r is not None
    ]
    return _ReviewPage(reviews=reviews, last_page=_last_page(feed.get("link")))


def _review_from(entry: object, *, app_id: str, country: str, now: datetime) -> _Review | None:
    """Map one entry to a review; None for the app's own entry and (logged) broken ones."""
    if not isinstance(entry, dict):
        logger.warning("Skipping App Store entry that is not an object: %r", entry)
        return None
    if "im:rating" not in entry:
        return None  # page 1 used to start with the app itself, which has no rating
    review_id = _label(entry.get("id"))
    rating = _rating(_label(entry.get("im:rating")))
    if not review_id or not review_id.isdigit():
        logger.warning("Skipping App Store review without a numeric id (id=%r)", review_id)
        return None
    if rating is None:
        logger.warning("Skipping App Store review %s with rating %r", review_id, entry["im:rating"])
        return None

    updated = iso_time(_label(entry.get("updated")))
    title = clean_text(_label(entry.get("title")) or "")
    content = clean_text(_label(entry.get("content")) or "")  # the feed's text is plain
    author_node = entry.get("author")
    author: dict[str, Any] = author_node if isinstance(author_node, dict) else {}
    name = clean_text(_label(author.get("name")) or "")[:NAME_MAX_CHARS]
    link = entry.get("link")
    link_attrs = link.get("attributes") if isinstance(link, dict) else None
    href = link_attrs.get("href") if isinstance(link_attrs, dict) else None
    return _Review(
        review_id=review_id,
        dated=updated is not None,
        mention=FetchedMention(
            network=NETWORK,
            external_id=f"appstore:{country}:{review_id}",
            url=http_url(href) or APP_REVIEWS_URL.format(cc=country, app_id=app_id),
            # The stars lead the text so a reader (and the sentiment scorer) sees them first.
            text="\n".join(p for p in (stars(rating), title, content) if p),
            created_at=min(updated, now) if updated else now,
            author=FetchedAuthor(
                handle=name, display_name=name or None, url=http_url(_label(author.get("uri")))
            ),
            rating=rating,
        ),
    )


def _last_page(links: object) -> int | None:
    """The page number of the feed's rel="last" link."""
    if isinstance(links, dict):
        links = [links]
    if not isinstance(links, list):
        return None
    for link in links:
        attrs = link.get("attributes") if isinstance(link, dict) else None
        if isinstance(attrs, dict) and attrs.get("rel") == "last":
            href = attrs.get("href")
            try:
                path = urlsplit(href).path if isinstance(href, str) else ""
            except ValueError:
                return None
            match = _PAGE_IN_PATH.search(path)
            return int(match.group(1)) if match else None
    return None


def _label(node: object) -> str | None:
    """The `label` of a feed node such as {"label": "…"}."""
    if isinstance(node, dict):
        label = node.get("label")
        return label if isinstance(label, str) else None
    return None


def _rating(raw: str | None) -> int | None:
    if raw is None or not raw.strip().isdigit():
        return None
    value = int(raw)
    return value if 1 <= value <= 5 else None
