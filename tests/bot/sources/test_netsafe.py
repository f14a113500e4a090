"""User-supplied URLs never reach our own network: checked when saved and at every connect."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import httpx
import pytest

from bot.sources import netsafe
from bot.sources.base import SourceError
from bot.sources.http import HttpGetter
from bot.sources.netsafe import UnsafeURL, check_url, guarded_transport


class _Hello(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def loopback_port() -> Iterator[int]:
    _Hello.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed",
        "http://127.1/feed",
        "http://0x7f000001/feed",
        "http://2130706433/feed",
        "http://017700000001/feed",
        "http://[::1]/feed",
        "http://[::ffff:127.0.0.1]/feed",
        "http://10.0.0.8/feed",
        "http://172.16.3.4/feed",
        "http://192.168.1.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0/",
        "http://localhost/feed",
        # IPv6 forms that lead to a private IPv4 host.
        "http://[64:ff9b::7f00:1]/",  # NAT64 well-known prefix → 127.0.0.1
        "http://[64:ff9b:1::a00:8]/",  # NAT64 local-use prefix → 10.0.0.8
        "http://[2002:7f00:1::]/",  # 6to4 → 127.0.0.1
        "http://[2002:a9fe:a9fe::1]/",  # 6to4 → 169.254.169.254
        "http://[::127.0.0.1]/",  # IPv4-compatible
        "http://[::ffff:0:10.0.0.1]/",  # IPv4-translated
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL, match="only fetches public URLs"):
        check_url(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http and https"),
        ("gopher://example.com/", "only http and https"),
        ("ftp://example.com/feed", "only http and https"),
        ("http:///no-host", "no host"),
        ("https://user:pw@example.com/feed", "user name or password"),
    ],
)
def test_other_schemes_and_credentials_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeURL, match=reason):
        check_url(url)


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700:4700::1111"],
)
def test_ipv6_forms_of_a_public_ipv4_host_stay_public(address: str) -> None:
    assert netsafe.is_public_address(address)


def test_a_host_resolving_to_a_public_address_passes() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    assert check_url("https://alerts.example.com/feed", resolver=resolver)


def test_a_host_with_one_private_address_among_public_ones_is_refused() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    with pytest.raises(UnsafeURL, match=r"10\.1\.2\.3"):
        check_url("https://rebind.example.com/feed", resolver=resolver)


def test_the_guarded_transport_refuses_to_connect_to_loopback(loopback_port: int) -> None:
    with httpx.Client(transport=guarded_transport()) as client:
        getter = HttpGetter("RSS", client, retries=0)

        for host in ("127.0.0.1", "127.1", "0x7f000001", "localhost"):
            with pytest.raises(SourceError, match="only fetches public URLs"):
                getter.get(f"http://{host}:{loopback_port}/feed")

    assert _Hello.hits == 0


def test_the_guarded_transport_checks_the_address_it_actually_connects_to(
    loopback_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Control: with every address allowed, the same transport really connects. This proves
    # the guard sits in the connection path, so an httpx upgrade can't silently bypass it.
    checked: list[str] = []

    def allow_all(address: str) -> bool:
        checked.append(address)
        return True

    monkeypatch.setattr(netsafe, "is_public_address", allow_all)
    with httpx.Client(transport=guarded_transport()) as client:
        page = HttpGetter("RSS", client, retries=0).get(f"http://localhost:{loopback_port}/")

    assert page.body == b"hello"
    assert "127.0.0.1" in checked or "::1" in checked, (
        f"httpx {httpx.__version__} connected without asking the guarded backend: it no longer "
        "uses the pool bot/sources/netsafe.py installs, so feeds are not checked at connect"
    )


def test_httpx_still_keeps_the_connection_pool_the_guard_replaces() -> None:
    pool = getattr(httpx.HTTPTransport(trust_env=False), "_pool", None)

    assert isinstance(pool, httpcore.ConnectionPool), (
        f"httpx {httpx.__version__}: HTTPTransport._pool is {type(pool).__name__}, not an "
        "httpcore.ConnectionPool; bot/sources/netsafe.py can't plug its SSRF guard in there"
    )
    assert isinstance(getattr(guarded_transport(), "_pool", None), httpcore.ConnectionPool)


@pytest.mark.parametrize("pool", [None, object()])
def test_the_guard_refuses_to_build_a_transport_it_cannot_install_itself_in(
    monkeypatch: pytest.MonkeyPatch, pool: object
) -> None:
    # What an httpx upgrade that moved or retyped the pool would look like.
    real_init = httpx.HTTPTransport.__init__

    def init(self: httpx.HTTPTransport, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        if pool is None:
            del self._pool
        else:
            self._pool = pool

    monkeypatch.setattr(httpx.HTTPTransport, "__init__", init)

    with pytest.raises(RuntimeError, match=r"SSRF guard .* can't be installed"):
        guarded_transport()


def test_a_redirect_to_the_metadata_service_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        getter = HttpGetter("RSS", client, retries=0)

        with pytest.raises(SourceError, match="refused redirect"):
            getter.get("https://feeds.example.com/alerts")


def test_redirect_chains_are_limited() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("n", "0"))
        return httpx.Response(302, headers={"Location": f"/loop?n={n + 1}"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        getter = HttpGetter("RSS", client, retries=0, allow_private=True)

        with pytest.raises(SourceError, match="more than 5 redirects"):
            getter.get("https://feeds.example.com/loop")


def test_credentials_do_not_follow_a_redirect_to_another_host() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.example.com":
            return httpx.Response(302, headers={"Location": "https://cdn.example.net/page"})
        return httpx.Response(200, content=b"{}")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        getter = HttpGetter("X", client, retries=0, allow_private=True)
        getter.get("https://api.example.com/search", headers={"Authorization": "Bearer s3cret"})

    assert seen[0].headers["authorization"] == "Bearer s3cret"
    assert "authorization" not in seen[1].headers
