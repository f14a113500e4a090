"""RSS 2.0, RSS 1.0 (RDF) and Atom feeds, Google Alerts included: safe parsing and polite polling.

A feed URL comes from a user, so it is checked against private addresses before the fetch
(and on every redirect hop), the body is size-capped by HttpGetter, and the XML is parsed
with defusedxml with DTDs forbidden: no entity expansion (billion laughs) and no external
entities or DTDs are ever loaded.
"""

from __future__ import annotations

import email.utils
import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Unpack
from urllib.parse import parse_qs, urljoin, urlsplit

import defusedxml.ElementTree as defused_et  # type: ignore[import-untyped,unused-ignore]
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

ATOM = "{http://www.w3.org/2005/Atom}"
RSS1 = "{http://purl.org/rss/1.0/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
GOOGLE_REDIRECT_HOSTS = frozenset({"google.com", "www.google.com"})
_EMAIL_WITH_NAME = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^)]+)\)\s*$")
_BARE_EMAIL = re.compile(r"^\s*\S+@\S+\s*$")
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Channel:
    """What the feed says about itself, used to fill in what an entry leaves out."""

    key: str | None  # the feed's own id or site link, to make bare entry ids global
    site_url: str | None
    base: str | None  # for relative links: xml:base, else the feed's URL
    lang: str | None
    author_name: str | None = None  # Atom entries inherit the feed's author
    author_url: str | None = None


def parse_mentions(
    body: bytes, *, now: datetime, feed_url: str | None = None
) -> list[FetchedMention]:
    """Parse an RSS or Atom body into mentions in feed order; undated entries get `now`."""
    root = _parse_xml(body)
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise SourceError("RSS feed has no <channel>")
        link = _text(channel.find("link"))
        site_url = _http_url(link, feed_url)
        info = _Channel(
            key=link or feed_url,
            site_url=site_url,
            base=feed_url or site_url,
            lang=_lang(_text(channel.find("language")) or _text(channel.find(f"{DC}language"))),
        )
        # Some old feeds put items beside the channel rather than in it.
        items: Iterable[ET.Element] = [*channel.findall("item"), *root.findall("item")]
        parse: Callable[[ET.Element, _Channel, datetime], FetchedMention | None] = _rss_item
    elif root.tag == f"{ATOM}feed":
        base = urljoin(feed_url or "", root.get(XML_BASE, "")) or None
        author_name, author_url = _atom_author(root, base)
        info = _Channel(
            key=_text(root.find(f"{ATOM}id")) or feed_url,
            site_url=_http_url(_atom_link(root), base),
            base=base,
            lang=_lang(root.get(XML_LANG)),
            author_name=author_name,
            author_url=author_url,
        )
        items = root.findall(f"{ATOM}entry")
        parse = _atom_entry
    elif root.tag == f"{RDF}RDF":
        channel = root.find(f"{RSS1}channel")
        link = _text(channel.find(f"{RSS1}link")) if channel is not None else ""
        info = _Channel(
            key=(channel.get(f"{RDF}about") if channel is not None else None) or link or feed_url,
            site_url=_http_url(link, feed_url),
            base=feed_url or _http_url(link, None),
            lang=_lang(_text(channel.find(f"{DC}language")) if channel is not None else None),
        )
        items = root.findall(f"{RSS1}item")
        parse = _rdf_item
    else:
        raise SourceError(f"RSS feed body is not RSS or Atom: its root element is <{root.tag}>")
    return [m for m in (parse(item, info, now) for item in items) if m is not None]


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


def _rss_item(item: ET.Element, info: _Channel, now: datetime) -> FetchedMention | None:
    guid_el = item.find("guid")
    guid = _text(guid_el)
    link = _text(item.find("link"))
    if not link and guid and (guid_el is not None and guid_el.get("isPermaLink") != "false"):
        link = guid
    creator = _text(item.find("author")) or _text(item.find(f"{DC}creator"))
    return _mention(
        info,
        now,
        raw_id=guid,
        link=link,
        title=html_to_text(_text(item.find("title"))),
        summary=html_to_text(_text(item.find("description"))),
        content=html_to_text(_text(item.find(f"{CONTENT}encoded"))),
        published_raw=_text(item.find("pubDate")) or _text(item.find(f"{DC}date")),
        author_name=_person_name(creator),
        author_url=None,
        lang=_lang(_text(item.find(f"{DC}language"))),
    )


def _rdf_item(item: ET.Element, info: _Channel, now: datetime) -> FetchedMention | None:
    link = _text(item.find(f"{RSS1}link"))
    return _mention(
        info,
        now,
        raw_id=item.get(f"{RDF}about") or "",
        link=link,
        title=html_to_text(_text(item.find(f"{RSS1}title"))),
        summary=html_to_text(_text(item.find(f"{RSS1}description"))),
        content=html_to_text(_text(item.find(f"{CONTENT}encoded"))),
        published_raw=_text(item.find(f"{DC}date")),
        author_name=_person_name(_text(item.find(f"{DC}creator"))),
        author_url=None,
        lang=_lang(_text(item.find(f"{DC}language"))),
    )


def _atom_entry(entry: ET.Element, info: _Channel, now: datetime) -> FetchedMention | None:
    base = urljoin(info.base or "", entry.get(XML_BASE, "")) or None
    if entry.find(f"{ATOM}author") is not None:
        author_name, author_url = _atom_author(entry, base)
    else:
        author_name, author_url = info.author_name, info.author_url
    return _mention(
        replace(info, base=base),
        now,
        raw_id=_text(entry.find(f"{ATOM}id")),
        link=_atom_link(entry) or "",
        title=_atom_text(entry.find(f"{ATOM}title")),
        summary=_atom_text(entry.find(f"{ATOM}summary")),
        content=_atom_text(entry.find(f"{ATOM}content")),
        published_raw=_text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated")),
        author_name=author_name,
        author_url=author_url,
        lang=_lang(entry.get(XML_LANG)),
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
    published = _parse_date(published_raw)
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


def _atom_author(element: ET.Element, base: str | None) -> tuple[str | None, str | None]:
    """The name and http(s) URI of an Atom feed's or entry's first author."""
    author = element.find(f"{ATOM}author")
    if author is None:
        return None, None
    name = clean_text(_text(author.find(f"{ATOM}name")))[:NAME_MAX_CHARS] or None
    return name, _http_url(_text(author.find(f"{ATOM}uri")), base)


def _atom_link(element: ET.Element) -> str | None:
    """The alternate link of an Atom feed or entry, preferring an HTML page."""
    fallback: str | None = None
    for link in element.findall(f"{ATOM}link"):
        href = (link.get("href") or "").strip()
        if not href or link.get("rel", "alternate") != "alternate":
            continue
        if link.get("type", "text/html") in ("text/html", "application/xhtml+xml"):
            return href
        fallback = fallback or href
    return fallback


def _atom_text(element: ET.Element | None) -> str:
    """Plain text of an Atom text construct (type text, html or xhtml)."""
    if element is None:
        return ""
    kind = element.get("type", "text").lower()
    if kind in ("html", "text/html"):
        return html_to_text(element.text or "")
    if kind == "xhtml" or kind.endswith("xml"):
        return clean_text(" ".join("".join(element.itertext()).split()))
    return clean_text(element.text or "")


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


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
    """A UTC time from an RFC 822 date (RSS) or an ISO 8601 one (Atom, dc:date)."""
    if not raw:
        return None
    raw = raw.strip()
    try:
        moment: datetime | None = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        return iso_time(raw)
    return as_utc(moment)  # "-0000" or no zone: the feed said nothing better than UTC


def _unique(mentions: list[FetchedMention]) -> list[FetchedMention]:
    """The first of each external_id, in order."""
    by_id: dict[str, FetchedMention] = {}
    for mention in mentions:
        by_id.setdefault(mention.external_id, mention)
    return list(by_id.values())
