"""Stack Exchange questions matching a query, through the API's advanced search.

Answers come newest first, so a fetch that stops early (a `backoff`, an empty quota, the page
limit) has read only the newest part of the window: its cursor then stays where it was, and
the next fetch reads the window again. A `backoff` also holds the next request to that method
for as many seconds, across fetches.
"""

from __future__ import annotations

import html
import logging
import math
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Unpack

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
from bot.sources.fields import epoch_time, http_url, opt_int, opt_str
from bot.sources.http import DEFAULT_RETRY_AFTER_S, load_json_object
from bot.sources.httpsource import HttpOptions, HttpSource
from bot.sources.network import (
    Network,
    OptionError,
    Profiles,
    ProfileUrl,
    Setting,
    SourceKit,
    WatchOption,
)
from bot.text import clean_text, html_to_text

logger = logging.getLogger(__name__)

NETWORK = "stackexchange"
API_VERSION = "2.3"
SEARCH_METHOD = "search/advanced"
USERS_METHOD = "users"
PAGE_SIZE = 100
DEFAULT_SITE = "stackoverflow"
SEARCH_FILTER = "withbody"  # the default fields plus the question body
THROTTLE_ERROR_ID = 502  # "throttle_violation"
# Error answers carry the wrapper's error_id/error_name/error_message with these statuses.
WRAPPER_STATUSES = frozenset({200, 400, 401, 402, 403, 404, 405, 406, 407, 409})
NAME_MAX_CHARS = 255
# Sites with a domain of their own; the rest live at <site>.stackexchange.com.
OWN_DOMAIN_SITES = frozenset(
    {"stackoverflow", "serverfault", "superuser", "askubuntu", "stackapps"}
)
_SITE = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$")
_LOCAL_SITE = re.compile(r"^(?P<lang>[a-z]{2})\.stackoverflow$")
_AVAILABLE_IN = re.compile(r"available in (\d+) seconds")
# What a watch may store; a fetch also lower-cases what it is given.
_WATCH_SITE = re.compile(r"^[a-z0-9.-]{2,64}$")
_PROFILE_PATH = r"/users/(?P<user_id>[0-9]{1,12})(?:[/?].*)?"
BASE_URL = Setting("OVERHEARD_STACKEXCHANGE_URL")
KEY = Setting("STACKEXCHANGE_KEY")  # optional: raises the daily quota


@dataclass(frozen=True, slots=True)
class _Answer:
    """The wrapper every API answer comes in, with the items still raw."""

    items: list[Any]
    has_more: bool
    quota_remaining: int | None
    backoff_s: float | None


def parse_mentions(body: bytes, *, site: str = DEFAULT_SITE) -> list[FetchedMention]:
    """Parse a `/search/advanced` answer into mentions; raise RateLimited when throttled."""
    return _mentions_from(_parse_answer(body, status=200), site=site)


def parse_authors(body: bytes, *, site: str = DEFAULT_SITE) -> list[FetchedAuthor]:
    """Parse a `/users/{ids}` answer into authors with their reputation and account age."""
    authors = (_author_from(item, site=site) for item in _parse_answer(body, status=200).items)
    return [a for a in authors if a is not None and a.handle]


def _check_site(value: str, *, allow_private: bool) -> str:
    if not _WATCH_SITE.match(value):
        raise OptionError("--site takes a Stack Exchange site name, like stackoverflow")
    return value


SITE = WatchOption(
    name="site",
    flag="--site",
    help=f"the site (default {DEFAULT_SITE})",  # not stored: the fetch falls back to it
    check=_check_site,
)


def _build(kit: SourceKit) -> Source:
    return StackExchangeSource(kit.http, key=kit.value(KEY), **kit.http_options(BASE_URL))


STACK_EXCHANGE = Network(
    key=NETWORK,
    name="Stack Exchange",
    web_url="https://stackexchange.com",
    build=_build,
    options=(SITE,),
    settings=(BASE_URL, KEY),
    # An author is `<user id>@<site>`, read from the site's profile address.
    profiles=Profiles(
        urls=(
            ProfileUrl(
                host=r"(?P<site>stackoverflow|serverfault|superuser|askubuntu|stackapps)\.com",
                path=_PROFILE_PATH,
                handle="{user_id}@{site}",
            ),
            ProfileUrl(
                host=r"(?P<lang>[a-z]{2})\.stackoverflow\.com",
                path=_PROFILE_PATH,
                handle="{user_id}@{lang}.stackoverflow",
            ),
            ProfileUrl(
                host=r"(?P<site>[a-z0-9-]+)\.stackexchange\.com",
                path=_PROFILE_PATH,
                handle="{user_id}@{site}",
            ),
        ),
        handle=r"[0-9]{1,12}@[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?",
        example="22656@stackoverflow",
        aliases=("stackoverflow", "so"),
    ),
)


class StackExchangeSource(HttpSource):
    """Reads questions matching a query on one Stack Exchange site, newest first."""

    name = NETWORK
    label = STACK_EXCHANGE.name
    default_base_url = "https://api.stackexchange.com"
    missing_settings: tuple[str, ...] = ()  # a key only raises the daily quota

    def __init__(
        self, client: httpx.Client, *, key: str | None = None, **options: Unpack[HttpOptions]
    ) -> None:
        super().__init__(client, **options)
        self._key = key or None
        # self._clock is real time, for `backoff`; fetch's `now` is the watch's time.
        self._hold_lock = threading.Lock()
        self._held_until: dict[str, datetime] = {}

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        """Return questions matching `spec` since the cursor (minus overlap), oldest first."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        site = _valid_site(spec.options.get(SITE.name))
        old_mark = _cursor_mark(cursor)
        if old_mark is None:
            fromdate = math.floor((now - self._backfill).timestamp())
        else:
            # The search index lags behind new questions: look back a little.
            fromdate = old_mark - math.floor(self._overlap.total_seconds())

        found: dict[str, FetchedMention] = {}
        complete = False
        for page in range(1, self._max_pages + 1):
            answer = self._get(
                SEARCH_METHOD,
                {
                    "q": spec.query,
                    "site": site,
                    "sort": "creation",
                    "order": "desc",
                    "fromdate": str(fromdate),
                    "pagesize": str(PAGE_SIZE),
                    "page": str(page),
                    "filter": SEARCH_FILTER,
                },
            )
            for mention in _mentions_from(answer, site=site):
                found.setdefault(mention.external_id, mention)
            if not answer.has_more:
                complete = True
                break
            if stop := self._why_stop(answer, page):
                logger.warning(
                    "Stack Exchange search for %r on %s stopped after page %d (%s); "
                    "the cursor stays put so the next fetch reads the window again",
                    spec.query,
                    site,
                    page,
                    stop,
                )
                break

        mentions = sorted(found.values(), key=lambda m: (m.created_at, m.external_id))
        if complete:
            marks = [math.floor(m.created_at.timestamp()) for m in mentions]
            marks += [old_mark] if old_mark is not None else []
            # A first run that found nothing resumes from the start of its window.
            mark = max(marks) if marks else fromdate
        else:
            # Newest first: what was not read lies between the old mark and what was.
            mark = old_mark if old_mark is not None else fromdate
        authors = {m.author.handle: m.author for m in mentions if m.author.handle}
        return FetchResult(mentions=mentions, cursor={"fromdate": mark}, authors=authors)

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        """Return a user's reputation and account age; the handle is `<user_id>@<site>`."""
        user_id, _, site = handle.partition("@")
        if not user_id.isdigit() or not site or not _SITE.match(site):
            return None
        answer = self._get(f"{USERS_METHOD}/{user_id}", {"site": site}, hold_key=USERS_METHOD)
        authors = [a for a in (_author_from(i, site=site) for i in answer.items) if a is not None]
        return next((a for a in authors if a.handle == handle), None)

    def _why_stop(self, answer: _Answer, page: int) -> str | None:
        """Why paging must stop although more pages exist, or None to go on."""
        if answer.backoff_s:
            return f"the API asked for a {answer.backoff_s:g} s backoff"
        if answer.quota_remaining is not None and answer.quota_remaining <= 0:
            return "the daily quota is used up"
        if not answer.items:
            return "an empty page claimed more would follow"
        if page >= self._max_pages:
            return f"max_pages={self._max_pages}"
        return None

    def _get(self, method: str, params: dict[str, str], *, hold_key: str | None = None) -> _Answer:
        """GET one API method, honouring and recording its `backoff`."""
        hold_key = hold_key or method
        self._wait_for(hold_key)
        if self._key:
            params = {**params, "key": self._key}
        page = self._http.get(
            f"{self._base_url}/{API_VERSION}/{method}",
            params=params,
            ok_statuses=WRAPPER_STATUSES,
        )
        answer = _parse_answer(page.body, status=page.status)
        if answer.backoff_s:
            with self._hold_lock:
                self._held_until[hold_key] = self._clock() + timedelta(seconds=answer.backoff_s)
        return answer

    def _wait_for(self, hold_key: str) -> None:
        """Raise RateLimited while a `backoff` the API asked for is still running."""
        with self._hold_lock:
            until = self._held_until.get(hold_key)
        if until is None:
            return
        left = (until - self._clock()).total_seconds()
        if left > 0:
            raise RateLimited(
                f"Stack Exchange asked to wait before the next {hold_key} request; "
                f"{left:.0f} s to go",
                retry_after_s=left,
            )


def _valid_site(raw: str | None) -> str:
    site = (raw or DEFAULT_SITE).strip().lower()
    if not _SITE.match(site):
        raise SourceError(f"Stack Exchange site must be a site name like stackoverflow: {raw!r}")
    return site


def _cursor_mark(cursor: dict[str, Any]) -> int | None:
    if "fromdate" not in cursor:
        return None
    mark = cursor["fromdate"]
    if isinstance(mark, bool) or not isinstance(mark, int):
        raise ValueError(f"Stack Exchange cursor fromdate must be an int, got {mark!r}")
    return mark


def _parse_answer(body: bytes, *, status: int) -> _Answer:
    """Read the wrapper; raise RateLimited on a throttle and SourceError on any other error."""
    try:
        data = load_json_object(body, "Stack Exchange body")
    except SourceError:
        if status != 200:
            snippet = body[:200].decode("utf-8", "replace")
            raise SourceError(f"Stack Exchange answered HTTP {status}: {snippet!r}") from None
        raise
    if "error_id" in data or status != 200:
        raise _error_from(data, status=status)
    items = data.get("items")
    if not isinstance(items, list):
        raise SourceError("Stack Exchange body has no 'items' list")
    backoff = data.get("backoff")
    return _Answer(
        items=items,
        has_more=data.get("has_more") is True,
        quota_remaining=opt_int(data.get("quota_remaining")),
        backoff_s=float(backoff)
        if isinstance(backoff, int | float) and not isinstance(backoff, bool) and backoff > 0
        else None,
    )


def _error_from(data: dict[str, Any], *, status: int) -> SourceError:
    error_id = opt_int(data.get("error_id"))
    name = opt_str(data.get("error_name")) or "error"
    message = opt_str(data.get("error_message")) or ""
    text = f"Stack Exchange {name} (error {error_id}, HTTP {status}): {message}".rstrip(": ")
    if error_id == THROTTLE_ERROR_ID:
        match = _AVAILABLE_IN.search(message)
        wait = float(match.group(1)) if match else DEFAULT_RETRY_AFTER_S
        return RateLimited(text, retry_after_s=wait)
    return SourceError(text)


def _mentions_from(answer: _Answer, *, site: str) -> list[FetchedMention]:
    return [m for m in (_mention_from(item, site=site) for item in answer.items) if m is not None]


def _mention_from(item: object, *, site: str) -> FetchedMention | None:
    """Map one question to a mention; None (logged) when it has no id or no date."""
    if not isinstance(item, dict):
        logger.warning("Skipping Stack Exchange item that is not an object: %r", item)
        return None
    question_id = opt_int(item.get("question_id"))
    if question_id is None:
        logger.warning("Skipping Stack Exchange item without question_id")
        return None
    created_at = epoch_time(item.get("creation_date"))
    if created_at is None:
        logger.warning("Skipping Stack Exchange question %d without creation_date", question_id)
        return None
    external_id = f"stackexchange:{site}:{question_id}"
    title = html_to_text(opt_str(item.get("title")) or "")
    owner = _author_from(item.get("owner"), site=site) or FetchedAuthor(handle="")
    local = _LOCAL_SITE.match(site)
    return FetchedMention(
        network=NETWORK,
        external_id=external_id,
        url=http_url(item.get("link")) or _question_url(site, question_id),
        text=html_to_text(opt_str(item.get("body")) or "") or title,
        created_at=created_at,
        author=owner,
        lang=local.group("lang") if local else None,
        likes=opt_int(item.get("score")),
        replies=opt_int(item.get("answer_count")),
        conversation_id=external_id,  # a question is its own thread
        title=title or None,
    )


def _author_from(owner: object, *, site: str) -> FetchedAuthor | None:
    """An owner or user as an author; a deleted account keeps only its old name."""
    if not isinstance(owner, dict):
        return None
    name = clean_text(html.unescape(opt_str(owner.get("display_name")) or ""))[:NAME_MAX_CHARS]
    user_id = opt_int(owner.get("user_id"))
    if owner.get("user_type") == "does_not_exist" or user_id is None:
        return FetchedAuthor(handle="", display_name=name or None)
    return FetchedAuthor(
        handle=f"{user_id}@{site}",
        display_name=name or None,
        url=http_url(owner.get("link")),
        karma=opt_int(owner.get("reputation")),
        created_at=epoch_time(owner.get("creation_date")),
        verified=None,
    )


def _question_url(site: str, question_id: int) -> str:
    """A question's short link, for an item that came without one."""
    if site in OWN_DOMAIN_SITES or _LOCAL_SITE.match(site):  # ru.stackoverflow → .com
        host = f"{site}.com"
    elif "." in site:  # a site named by its domain, e.g. mathoverflow.net
        host = site
    else:
        host = f"{site}.stackexchange.com"
    return f"https://{host}/q/{question_id}"
