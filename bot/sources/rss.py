"""RSS, RDF and Atom feeds of every version, Google Alerts included: safe parsing, polite polling.

A feed URL comes from a user, so it is checked against private addresses before the fetch
(and on every redirect hop), and the body is size-capped by HttpGetter. The bytes are then
parsed twice: first with defusedxml with DTDs forbidden, which refuses entity expansion
(billion laughs), external entities and anything not well-formed, and only then by
feedparser, which knows the many feed dialects (RSS 0.90 to 2.0, Atom 0.3 and 1.0, media
and iTunes extensions, odd dates) and is handed those same bytes, never a URL or a path.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import io
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Unpack
from urllib.parse import parse_qs, urljoin, urlsplit

import defusedxml.ElementTree as defused_et  # type: ignore[import-untyped,unused-ignore]
import feedparser  # type: ignore[import-untyped,unused-ignore]
import httpx
from defusedxml import DefusedXmlException

from bot.sources.base import (
    FetchedAuthor,
    FetchedMention,
    FetchResult,
    SearchSpec,
    Source,
    SourceError,
)
from bot.sources.fields import as_utc, http_url, iso_time, opt_str
from bot.sources.httpsource import HttpOptions, HttpSource
from bot.sources.netsafe import UnsafeURL, check_url
from bot.sources.network import Dialect, Network, OptionError, SourceKit, WatchOption
from bot.text import clean_text, html_to_text

logger = logging.getLogger(__name__)

NETWORK = "rss"
SEEN_MAX = 500  # entry ids remembered in the cursor, newest first
# An unseen entry dated this much before the newest one seen is an old entry that fell off
# the bounded `seen` list, not news (a late, backdated post within it still counts).
STALE_AFTER = timedelta(days=7)
ID_MAX_CHARS = 400  # longer ids are hashed (the database keeps 500)
URL_MAX_CHARS = 2000
NAME_MAX_CHARS = 255
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)

GOOGLE_REDIRECT_HOSTS = frozenset({"google.com", "www.google.com"})
_EMAIL_WITH_NAME = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^)]+)\)\s*$")
_BARE_EMAIL = re.compile(r"^\s*\S+@\S+\s*$")
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)
SLASHED_DATES = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d")
# feedparser's names for text constructs that hold markup.
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_XHTML_TYPE = "application/xhtml+xml"


@dataclass(frozen=True, slots=True)
class _Channel:
    """What the feed says about itself, used to fill in what an entry leaves out."""

    key: str | None  # the feed's own id or site link, to make bare entry ids global
    site_url: str | None
    base: str | None  # for relative links (feedparser has applied any xml:base): the feed URL
    lang: str | None
    author_name: str | None = None  # Atom entries inherit the feed's author
    author_url: str | None = None


def parse_mentions(
    body: bytes, *, now: datetime, feed_url: str | None = None
) -> list[FetchedMention]:
    """Parse an RSS, RDF or Atom body into mentions in feed order; undated entries get `now`."""
    root = _parse_xml(body)  # refuses DTDs, entities and broken XML before feedparser sees it
    if root.tag == "rss" and root.find("channel") is None:
        raise SourceError("RSS feed has no <channel>")
    # Bytes in a stream: feedparser opens a string as a URL or a file path. No base URI, so
    # ids stay as the feed wrote them; links are made absolute here, against the feed's URL.
    # The encoding comes from the XML declaration, as for the check above.
    feed = feedparser.parse(
        io.BytesIO(body),
        response_headers={"content-type": "application/xml"},
        resolve_relative_uris=False,
        sanitize_html=False,  # the HTML becomes plain text here anyway
    )
    if not feed.version:
        raise SourceError(f"RSS feed body is not RSS or Atom: its root element is <{root.tag}>")
    info = _channel(feed.feed, atom=feed.version.startswith("atom"), feed_url=feed_url)
    return [m for m in (_entry(entry, info, now) for entry in feed.entries) if m is not None]


def _check_feed_url(value: str, *, allow_private: bool) -> str:
    try:
        return check_url(value, allow_private=allow_private)
    except UnsafeURL as exc:
        raise OptionError(f"feed URL refused: {exc}") from exc


FEED_URL = WatchOption(
    name="feed_url",
    flag="--feed-url",
    help="the feed to read (e.g. a Google Alerts feed)",
    required=True,
    missing="an rss watch needs --feed-url",
    check=_check_feed_url,
)


def _build(kit: SourceKit) -> Source:
    return RssSource(kit.feed_http, allow_private=kit.allow_private, **kit.http_options())


RSS = Network(
    key=NETWORK,
    name="RSS",
    build=_build,
    dialect=Dialect(whole_feed=True),
    options=(FEED_URL,),
    host_option=FEED_URL.name,  # be polite to each feed's host, not to feeds as a whole
)


class RssSource(HttpSource):
    """Reads a user-supplied RSS or Atom feed (e.g. a Google Alert) with conditional GETs."""

    name = NETWORK
    label = RSS.name
    missing_settings: tuple[str, ...] = ()  # feeds need no credentials

    def __init__(
        self, client: httpx.Client, *, allow_private: bool = False, **options: Unpack[HttpOptions]
    ) -> None:
        super().__init__(client, allow_private=allow_private, **options)
        self._allow_private = allow_private

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return the feed's entries not seen before (first run: within the backfill window)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        feed_url = spec.options.get(FEED_URL.name)
        if not feed_url:
            raise SourceError("RSS watch has no feed URL")
        try:
            url = check_url(feed_url, allow_private=self._allow_private)
        except UnsafeURL as exc:
            raise SourceError(f"RSS feed {feed_url!r} refused: {exc}") from exc
        state = _FeedCursor.load(cursor)

        headers = {"Accept": ACCEPT}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        page = self._http.get(url, headers=headers, ok_statuses=frozenset({200, 304}))
        if page.status == 304:
            return FetchResult(mentions=[], cursor=dict(cursor))

        entries = _unique(parse_mentions(page.body, now=now, feed_url=page.url))
        if state.first_run:
            cutoff: datetime | None = now - self._backfill
        elif state.newest is not None:
            cutoff = state.newest - max(self._backfill, STALE_AFTER)
        else:
            cutoff = None
        seen = set(state.seen)
        new = [
            m
            for m in entries
            if m.external_id not in seen and (cutoff is None or m.created_at >= cutoff)
        ]
        return FetchResult(
            mentions=sorted(new, key=lambda m: (m.created_at, m.external_id)),
            cursor=state.after(entries, page.headers).dump(),
        )

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Feeds publish no author metrics."""
        return None


@dataclass(frozen=True, slots=True)
class _FeedCursor:
    first_run: bool
    seen: list[str]
    newest: datetime | None
    etag: str | None
    last_modified: str | None

    @classmethod
    def load(cls, cursor: dict[str, Any]) -> _FeedCursor:
        seen = cursor.get("seen", [])
        if not isinstance(seen, list) or not all(isinstance(i, str) for i in seen):
            raise ValueError(f"RSS cursor 'seen' must be a list of ids, got {seen!r}")
        newest_raw = cursor.get("newest")
        newest = _parse_date(newest_raw) if isinstance(newest_raw, str) else None
        if newest_raw is not None and newest is None:
            raise ValueError(f"RSS cursor 'newest' must be an ISO time, got {newest_raw!r}")
        return cls(
            first_run="seen" not in cursor,
            seen=seen,
            newest=newest,
            etag=opt_str(cursor.get("etag")),
            last_modified=opt_str(cursor.get("last_modified")),
        )

    def after(self, entries: list[FetchedMention], headers: httpx.Headers) -> _FeedCursor:
        """The cursor after reading `entries` from a 200 with these headers."""
        newest_first = sorted(entries, key=lambda m: m.created_at, reverse=True)
        seen = list(dict.fromkeys([m.external_id for m in newest_first] + self.seen))
        times = [m.created_at for m in entries] + ([self.newest] if self.newest else [])
        return _FeedCursor(
            first_run=False,
            seen=seen[:SEEN_MAX],
            newest=max(times) if times else None,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
        )

    def dump(self) -> dict[str, Any]:
        cursor: dict[str, Any] = {"seen": self.seen}
        if self.newest is not None:
            cursor["newest"] = self.newest.isoformat()
        if self.etag:
            cursor["etag"] = self.etag
        if self.last_modified:
            cursor["last_modified"] = self.last_modified
        return cursor


def _parse_xml(body: bytes) -> ET.Element:
    """Parse untrusted XML: no DTD, so no entity expansion and nothing fetched from outside."""
    if _HTML_START.match(body[:200]):
        raise SourceError(f"RSS feed body is an HTML page, not a feed: {body[:80]!r}")
    try:
        root = defused_et.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise SourceError(f"RSS feed refused: it declares a DTD or entities ({exc!r})") from exc
    except (ET.ParseError, ValueError, LookupError) as exc:
        raise SourceError(f"RSS feed is not well-formed XML ({exc}): {body[:80]!r}") from exc
    if not isinstance(root, ET.Element):
        raise SourceError("RSS feed body has no root element")
    return root


def _channel(feed: Mapping[str, Any], *, atom: bool, feed_url: str | None) -> _Channel:
    """What a feed says about itself; Atom's id (else the site link) keys its bare entry ids."""
    link = _str(feed.get("link"))
    site_url = _http_url(link, feed_url)
    author_name, author_url = _author(feed, feed_url) if atom else (None, None)
    return _Channel(
        key=(_str(feed.get("id")) if atom else link) or feed_url,
        site_url=site_url,
        base=feed_url or site_url,
        lang=_lang(_str(feed.get("language"))),
        author_name=author_name,
        author_url=author_url,
    )


def _entry(entry: Mapping[str, Any], info: _Channel, now: datetime) -> FetchedMention | None:
    """One feed entry as a mention; an entry naming no author takes an Atom feed's."""
    if entry.get("author"):
        author_name, author_url = _author(entry, info.base)
    else:
        author_name, author_url = info.author_name, info.author_url
    contents = entry.get("content") or [{}]
    # Without a summary of its own, feedparser copies the content into `summary`.
    summary = _plain(entry.get("summary_detail")) if "summary_detail" in entry else ""
    published_raw = _str(entry.get("published")) or _str(entry.get("updated"))
    return _mention(
        info,
        now,
        raw_id=_str(entry.get("id")),
        link=_str(entry.get("link")),
        title=_plain(entry.get("title_detail")),
        summary=summary,
        content=_plain(contents[0]),
        published_raw=published_raw,
        published=_struct_time(entry.get("published_parsed") or entry.get("updated_parsed")),
        author_name=author_name,
        author_url=author_url,
        lang=_lang(_str((entry.get("title_detail") or {}).get("language"))),
    )


def _mention(
    info: _Channel,
    now: datetime,
    *,
    raw_id: str,
    link: str,
    title: str,
    summary: str,
    content: str,
    published_raw: str,
    published: datetime | None,
    author_name: str | None,
    author_url: str | None,
    lang: str | None,
) -> FetchedMention | None:
    """Build one mention from an entry's parts; None (logged) when it can't be identified."""
    url = _unwrap_google_redirect(_http_url(link, info.base))
    external_id = _external_id(raw_id, url or link, title, published_raw, info.key)
    if external_id is None:
        logger.warning("Skipping feed entry with no id, link or title (feed %s)", info.key)
        return None
    page_url = url or info.site_url or _http_url(info.base, None)
    if page_url is None:
        logger.warning("Skipping feed entry %s: it has no http(s) link", external_id)
        return None
    domain = _domain(page_url)
    published = _entry_date(published_raw, published)
    if published_raw and published is None:
        logger.info("Feed entry %s has an unreadable date %r", external_id, published_raw)
    return FetchedMention(
        network=NETWORK,
        external_id=external_id,
        url=page_url,
        text=summary or content or title,
        created_at=min(published, now) if published else now,  # future dates are clock errors
        # The publication is the author a brand cares about: keyed by site, named by byline.
        author=FetchedAuthor(
            handle=domain,
            display_name=author_name,
            url=author_url or (f"https://{domain}" if domain else None),
        ),
        lang=lang or info.lang,
        title=title or None,
        link_url=url,  # the article itself, unwrapped from a Google Alerts redirect
    )


def _external_id(
    raw_id: str, link: str, title: str, published_raw: str, feed_key: str | None
) -> str | None:
    """The entry's global id: its id or guid, else its link, else a hash of title and date."""
    candidate = raw_id.strip() or link.strip()
    if candidate:
        if ":" not in candidate and feed_key:
            # A bare guid like "1234" is only unique within its feed.
            candidate = f"{feed_key}#{candidate}"
    elif title:
        digest = hashlib.sha256(f"{feed_key}\n{title}\n{published_raw}".encode()).hexdigest()
        candidate = f"urn:sha256:{digest}"
    else:
        return None
    if len(candidate) > ID_MAX_CHARS:
        candidate = f"urn:sha256:{hashlib.sha256(candidate.encode()).hexdigest()}"
    return candidate


def _unwrap_google_redirect(url: str | None) -> str | None:
    """Return the article behind a Google Alerts `google.com/url?...&url=` link."""
    if url is None:
        return None
    parts = urlsplit(url)
    if (parts.hostname or "") not in GOOGLE_REDIRECT_HOSTS or parts.path != "/url":
        return url
    query = parse_qs(parts.query)
    for name in ("url", "q"):
        for value in query.get(name, []):
            real = _http_url(value, None)
            if real:
                return real
    return url


def _author(element: Mapping[str, Any], base: str | None) -> tuple[str | None, str | None]:
    """The byline's name and http(s) URI of a feed or entry, as feedparser found them."""
    detail = element.get("author_detail") or {}
    return _person_name(_str(element.get("author"))), _http_url(_str(detail.get("href")), base)


def _plain(detail: Mapping[str, Any] | None) -> str:
    """Plain text of one of feedparser's text constructs (plain, HTML or XHTML)."""
    if not detail:
        return ""
    value = _str(detail.get("value"))
    kind = _str(detail.get("type")).lower()
    if kind == _XHTML_TYPE:  # markup laid out for reading, not paragraphs of text
        return clean_text(" ".join(html_to_text(value).split()))
    if kind in _HTML_TYPES:
        return html_to_text(value)
    return clean_text(value)


def _struct_time(value: object) -> datetime | None:
    """A UTC time from feedparser's parsed date (a UTC struct_time)."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _str(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _http_url(raw: str | None, base: str | None) -> str | None:
    """`raw` made absolute against `base`, if it is a plain http(s) URL of sane length."""
    if not raw:
        return None
    try:
        url = http_url(urljoin(base or "", raw.strip()))
    except ValueError:
        return None
    return url if url is not None and len(url) <= URL_MAX_CHARS else None


def _domain(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host.removeprefix("www.")


def _person_name(raw: str) -> str | None:
    """A byline's name: `jane@example.com (Jane Doe)` gives Jane Doe; a bare e-mail gives None."""
    match = _EMAIL_WITH_NAME.match(raw)
    if match:
        raw = match.group("name")
    elif _BARE_EMAIL.match(raw):
        return None
    return clean_text(html_to_text(raw))[:NAME_MAX_CHARS] or None


def _lang(raw: str | None) -> str | None:
    """The ISO 639-1 part of a language tag such as en-US."""
    primary = (raw or "").strip().split("-")[0].split("_")[0].lower()
    return primary if len(primary) == 2 and primary.isalpha() else None


def _parse_date(raw: str | None) -> datetime | None:
    """A UTC time from an RFC 822 date (RSS), an ISO 8601 one (Atom, dc:date) or `Y/m/d H:M:S`."""
    if not raw:
        return None
    raw = raw.strip()
    try:
        moment: datetime | None = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        # feedparser reads `2026/01/15 10:30:00` as 1 December: a wrong date would drop the
        # entry as stale, so this spelling is read here and never left to it.
        for spelling in SLASHED_DATES:
            try:
                return datetime.strptime(raw, spelling).replace(tzinfo=UTC)
            except ValueError:
                continue
        return iso_time(raw)
    return as_utc(moment)  # "-0000" or no zone: the feed said nothing better than UTC


def _entry_date(raw: str, parsed: datetime | None) -> datetime | None:
    """Our own reading of an entry's date, unless feedparser's is better informed.

    Ours keeps microseconds; feedparser knows more spellings, and reads the zone of
    `Thu, 15 Jan 2026 10:30:00 +01:00`, where the standard library sees no zone and says UTC.
    """
    ours = _parse_date(raw)
    if ours is None:
        return parsed
    try:  # a date whose zone the standard library can't read comes back naive
        zone_unread = email.utils.parsedate_to_datetime(raw.strip()).tzinfo is None
    except (TypeError, ValueError, IndexError):
        zone_unread = False
    return parsed if parsed is not None and zone_unread else ours


def _unique(mentions: list[FetchedMention]) -> list[FetchedMention]:
    """The first of each external_id, in order."""
    by_id: dict[str, FetchedMention] = {}
    for mention in mentions:
        by_id.setdefault(mention.external_id, mention)
    return list(by_id.values())
