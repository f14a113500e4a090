"""One careful GET for every source: size cap, retries with jitter, rate limits, safe redirects."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.retry import seconds_to_wait
from bot.sources.base import RateLimited, SourceError
from bot.sources.netsafe import BlockedAddress, UnsafeURL, check_url

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 5_000_000
MAX_REDIRECTS = 5
RETRIES = 2
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 8.0
DEFAULT_RETRY_AFTER_S = 60.0
ERROR_SNIPPET_BYTES = 200
# One GET, retries, redirects and body included, ends within this: a network that trickles
# its answer a byte at a time can't hold a fetch (and the watches waiting behind it) for long.
REQUEST_DEADLINE_S = 60.0
RATE_LIMIT_BODY_BYTES = 4096
# Credentials never follow a redirect to another origin.
PRIVATE_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# Headers networks use to say when a rate-limit window resets (seconds, unix time or ISO).
RESET_HEADERS = ("x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset")


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched response: final URL, status (200 or 304), headers, body and Link header."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    # The Link header as httpx parses it: {rel: {"url": ..., "rel": ..., ...}}.
    links: Mapping[str | None, Mapping[str, str]] = field(default_factory=dict)


@dataclass
class HttpGetter:
    """GETs for one network: its name for messages, its client, its limits."""

    network: str
    client: httpx.Client
    max_body_bytes: int = MAX_BODY_BYTES
    retries: int = RETRIES
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    allow_private: bool = False
    deadline_s: float = REQUEST_DEADLINE_S

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        ok_statuses: frozenset[int] = frozenset({200}),
    ) -> Page:
        """GET `url`, retrying timeouts and 5xx with jittered backoff; raise SourceError.

        Everything (attempts, redirects, reading the body) ends within `deadline_s`.
        """
        attempt = 0
        deadline = time.monotonic() + self.deadline_s
        while True:
            try:
                return self._get_following_redirects(url, params, headers, ok_statuses, deadline)
            except _Retryable as exc:
                delay = random.uniform(0, min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2**attempt))  # noqa: S311
                if attempt >= self.retries or time.monotonic() + delay > deadline:
                    raise SourceError(str(exc)) from (exc.__cause__ or exc)
                log.info("%s: %s; retrying in %.1f s", self.network, exc, delay)
                self.sleep(delay)
                attempt += 1

    def _get_following_redirects(
        self,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        ok_statuses: frozenset[int],
        deadline: float,
    ) -> Page:
        for _hop in range(MAX_REDIRECTS + 1):
            page_or_next = self._get_once(url, params, headers, ok_statuses, deadline)
            if isinstance(page_or_next, Page):
                return page_or_next
            if _origin(page_or_next) != _origin(url) and headers:
                headers = {k: v for k, v in headers.items() if k.lower() not in PRIVATE_HEADERS}
            url, params = page_or_next, None
            try:  # every hop is re-checked against private addresses
                check_url(url, allow_private=self.allow_private)
            except UnsafeURL as exc:
                raise SourceError(f"{self.network}: refused redirect to {url}: {exc}") from exc
        raise SourceError(f"{self.network}: more than {MAX_REDIRECTS} redirects from {url}")

    def _get_once(
        self,
        url: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        ok_statuses: frozenset[int],
        deadline: float,
    ) -> Page | str:
        """One request: a Page, or the next URL of a redirect."""
        if time.monotonic() > deadline:
            raise SourceError(
                f"{self.network}: gave up on {_short(url)} after {self.deadline_s:g} s"
            )
        try:
            # Redirects are followed by `get`, never by httpx, whatever the client's setting:
            # httpx would read each redirect's body uncapped, keep Proxy-Authorization across
            # origins and, on a client without the guarded transport, go anywhere.
            with self.client.stream(
                "GET", url, params=params, headers=headers, follow_redirects=False
            ) as response:
                status = response.status_code
                if response.next_request is not None:  # a redirect; httpx resolved Location
                    return str(response.next_request.url)
                if status == 429:
                    wait = retry_after_s(response.headers, now=self.clock())
                    raise RateLimited(
                        f"{self.network} rate-limited GET {_short(url)}; retry in {wait:g} s",
                        retry_after_s=wait,
                        body=read_capped(response, RATE_LIMIT_BODY_BYTES, cut=True),
                    )
                if status >= 500:
                    raise _Retryable(f"{self.network} answered HTTP {status} for {_short(url)}")
                if status not in ok_statuses:
                    snippet = read_capped(response, ERROR_SNIPPET_BYTES, cut=True)
                    raise SourceError(
                        f"{self.network} answered HTTP {status} for {_short(url)}: "
                        f"{snippet.decode('utf-8', 'replace')!r}"
                    )
                body = read_capped(
                    response,
                    self.max_body_bytes,
                    cut=False,
                    network=self.network,
                    deadline=deadline,
                )
                return Page(str(response.url), status, response.headers, body, response.links)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{self.network} timed out on {_short(url)}") from exc
        except httpx.RemoteProtocolError as exc:  # cut off mid-body
            raise _Retryable(f"{self.network} broke off {_short(url)}: {exc}") from exc
        except httpx.ConnectError as exc:
            if isinstance(exc.__cause__, BlockedAddress):
                raise SourceError(f"{self.network}: {exc}") from exc
            raise _Retryable(f"{self.network} unreachable at {_short(url)}: {exc}") from exc
        except httpx.RequestError as exc:
            raise SourceError(f"{self.network} request to {_short(url)} failed: {exc}") from exc


def post(
    client: httpx.Client,
    url: str,
    *,
    network: str,
    what: str,
    max_body_bytes: int,
    error_body_bytes: int = ERROR_SNIPPET_BYTES,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
) -> Page:
    """POST once, never following a redirect; return any status but 429 as a Page.

    A redirect would carry the credentials a POST holds to another place, and a POST is not
    retried: the caller decides what its status means. `what` names the request in messages
    ("the token request"). A 429 raises RateLimited; a 2xx body over `max_body_bytes` and a
    failed request raise SourceError; any other status's body is cut to `error_body_bytes`.
    """
    try:
        with client.stream(
            "POST",
            url,
            json=json_body,
            data=form,
            headers=headers,
            auth=httpx.USE_CLIENT_DEFAULT if auth is None else auth,
            follow_redirects=False,
        ) as response:
            status = response.status_code
            if status == 429:
                wait = retry_after_s(response.headers, now=clock())
                raise RateLimited(
                    f"{network} rate-limited {what}; retry in {wait:g} s", retry_after_s=wait
                )
            if 200 <= status < 300:
                body = read_capped(response, max_body_bytes, cut=False, network=network)
            else:
                body = read_capped(response, error_body_bytes, cut=True)
            return Page(str(response.url), status, response.headers, body, response.links)
    except httpx.TimeoutException as exc:
        raise SourceError(f"{network} timed out on {what}") from exc
    except httpx.RequestError as exc:
        raise SourceError(f"{network}: {what} failed: {exc}") from exc


class _Retryable(Exception):
    """A failure another attempt may not hit: a timeout, a 5xx, a dropped connection."""


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "…"


def read_capped(
    response: httpx.Response,
    cap: int,
    *,
    cut: bool,
    network: str = "the network",
    deadline: float | None = None,
) -> bytes:
    """Read at most `cap` bytes of the decoded body; past the cap, cut it or refuse it.

    Past `deadline` (a `time.monotonic()` value) the read is abandoned: SourceError.
    """
    declared = response.headers.get("content-length", "")
    if not cut and declared.isdigit() and int(declared) > cap:
        raise SourceError(f"{network} sent {declared} bytes, over the {cap}-byte cap")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        if deadline is not None and time.monotonic() > deadline:
            raise SourceError(
                f"{network} was still sending {response.url} after {size} bytes at the "
                "deadline; gave up (a network trickling its answer)"
            )
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            if cut:
                return b"".join(chunks)[:cap]
            raise SourceError(f"{network} sent more than the {cap}-byte cap")
    return b"".join(chunks)


def retry_after_s(headers: httpx.Headers, *, now: datetime) -> float:
    """Seconds to wait from Retry-After or a rate-limit reset header, at most an hour."""
    for name in ("retry-after", *RESET_HEADERS):
        raw = headers.get(name)
        if raw is not None:
            seconds = seconds_to_wait(raw, now=now)
            if seconds is not None:
                return seconds
    return DEFAULT_RETRY_AFTER_S


def load_json(body: bytes, what: str) -> Any:
    """Decode a JSON body or raise SourceError saying what was wrong with it."""
    if body.lstrip()[:1] == b"<":
        raise SourceError(f"{what} is HTML, not JSON: {body[:80]!r}")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise SourceError(f"{what} is not valid JSON ({exc}): {body[:80]!r}") from exc


def load_json_object(body: bytes, what: str) -> dict[str, Any]:
    """Decode a JSON object body or raise SourceError."""
    data = load_json(body, what)
    if not isinstance(data, dict):
        raise SourceError(f"{what} is a JSON {type(data).__name__}, not an object")
    return data
