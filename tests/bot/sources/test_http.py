"""HttpGetter: the one GET every source uses, its redirects, retries and Link header."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bot.sources.base import SourceError
from bot.sources.http import BACKOFF_MAX_S, HttpGetter

Handler = Callable[[httpx.Request], httpx.Response]
SECRETS = {
    "Authorization": "Bearer s3cret",
    "Cookie": "session=s3cret",
    "Proxy-Authorization": "Basic s3cret",
}


@pytest.fixture
def getter() -> Iterator[Callable[..., HttpGetter]]:
    """Build HttpGetters over MockTransports; clients are closed after the test."""
    clients: list[httpx.Client] = []

    def build(handler: Handler, *, follow_redirects: bool = False, **kwargs: Any) -> HttpGetter:
        client = httpx.Client(
            transport=httpx.MockTransport(handler), follow_redirects=follow_redirects
        )
        clients.append(client)
        return HttpGetter("Test", client, **kwargs)

    yield build
    for client in clients:
        client.close()


def test_a_page_carries_the_link_header_as_httpx_parses_it(
    getter: Callable[..., HttpGetter],
) -> None:
    link = (
        '<https://m.example/api/v1/timelines/tag/acme?max_id=7>; rel="next", '
        "<https://m.example/api/v1/timelines/tag/acme?min_id=9>; rel=prev"
    )

    page = getter(lambda _r: httpx.Response(200, headers={"Link": link})).get("https://m.example/")

    assert page.links["prev"]["url"] == "https://m.example/api/v1/timelines/tag/acme?min_id=9"
    assert page.links["next"]["url"].endswith("max_id=7")


def test_a_page_without_a_link_header_has_no_links(getter: Callable[..., HttpGetter]) -> None:
    assert getter(lambda _r: httpx.Response(200)).get("https://m.example/").links == {}


def test_a_relative_redirect_is_followed_and_the_final_url_kept(
    getter: Callable[..., HttpGetter],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new?x=1"})
        return httpx.Response(200, content=b"here")

    page = getter(handler, allow_private=True).get("https://feeds.example.com/old")

    assert page.url == "https://feeds.example.com/new?x=1"
    assert page.body == b"here"


def test_a_redirects_own_body_is_never_read(getter: Callable[..., HttpGetter]) -> None:
    # httpx's own redirect following reads each redirect body whole, without our cap.
    sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for n in range(50):
            sent.append(n)
            yield b"x" * 1_000_000

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/a":
            return httpx.Response(302, headers={"Location": "/b"}, content=endless())
        return httpx.Response(200, content=b"ok")

    page = getter(handler, allow_private=True).get("https://feeds.example.com/a")

    assert page.body == b"ok"
    assert len(sent) <= 1


def test_every_credential_header_is_dropped_on_a_redirect_to_another_origin(
    getter: Callable[..., HttpGetter],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.example.com" and request.url.path == "/search":
            return httpx.Response(302, headers={"Location": "/v2/search"})
        if request.url.host == "api.example.com":
            return httpx.Response(302, headers={"Location": "https://cdn.example.net/page"})
        return httpx.Response(200)

    getter(handler, allow_private=True).get("https://api.example.com/search", headers=SECRETS)

    same_origin, other_origin = seen[1], seen[2]
    assert all(same_origin.headers[name] == value for name, value in SECRETS.items())
    assert not any(name in other_origin.headers for name in SECRETS)


def test_credentials_are_dropped_on_an_upgrade_to_https_too(
    getter: Callable[..., HttpGetter],
) -> None:
    # httpx itself keeps Authorization on http -> https; we treat it as another origin.
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": "https://api.example.com/search"})
        return httpx.Response(200)

    getter(handler, allow_private=True).get("http://api.example.com/search", headers=SECRETS)

    assert "authorization" not in seen[1].headers


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://files.example.com/feed", "gopher://x.example/"]
)
def test_a_redirect_to_a_scheme_other_than_http_is_refused(
    getter: Callable[..., HttpGetter], location: str
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": location})

    with pytest.raises(SourceError, match=r"refused redirect.*only http and https"):
        getter(handler, allow_private=True).get("https://feeds.example.com/feed")

    assert seen == ["https://feeds.example.com/feed"]


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/", "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/"],
)
def test_a_client_that_follows_redirects_itself_still_has_each_hop_checked(
    getter: Callable[..., HttpGetter], target: str
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(302, headers={"Location": target})

    with pytest.raises(SourceError, match="refused redirect"):
        getter(handler, follow_redirects=True).get("https://93.184.215.14/feed")

    assert seen == ["https://93.184.215.14/feed"]


def test_timeouts_and_5xx_are_retried_with_bounded_jittered_waits_then_raise(
    getter: Callable[..., HttpGetter],
) -> None:
    sleeps: list[float] = []
    answers = iter(["timeout", 503, "timeout", 502, "timeout"])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(int(answer))

    with pytest.raises(SourceError, match="timed out"):
        getter(handler, retries=4, sleep=sleeps.append).get("https://api.example.com/")

    assert len(sleeps) == 4
    assert all(0 <= wait <= min(BACKOFF_MAX_S, 0.5 * 2**n) for n, wait in enumerate(sleeps))


def test_a_retry_that_succeeds_returns_the_page(getter: Callable[..., HttpGetter]) -> None:
    answers = iter([httpx.Response(500), httpx.Response(200, content=b"ok")])
    sleeps: list[float] = []

    page = getter(lambda _r: next(answers), sleep=sleeps.append).get("https://api.example.com/")

    assert page.body == b"ok"
    assert len(sleeps) == 1


class _Trickle(BaseHTTPRequestHandler):
    """Answers with a body it sends a byte at a time, slowly: a network that trickles."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass  # the client gave up

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def test_a_trickled_answer_is_abandoned_at_the_requests_deadline() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        with httpx.Client(timeout=5) as client:
            getter = HttpGetter("Feeds", client, allow_private=True, deadline_s=0.5)
            # Each byte comes well within the read timeout: only the deadline stops the read
            # (which would otherwise end, complete, after 50 s).
            with pytest.raises(SourceError, match=r"still sending .* at the deadline"):
                getter.get(f"http://127.0.0.1:{server.server_port}/feed")
    finally:
        server.shutdown()
        server.server_close()
