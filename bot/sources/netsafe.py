"""Refusing URLs that point inside our own network (SSRF), checked where the socket connects.

A URL a user gives us (a feed) is checked twice: when it is saved, for a clear error, and
again on every connection, including each redirect hop, by a network backend that resolves
the host itself and connects only to the address it checked. So DNS answers that change
between the check and the fetch (rebinding), redirects to `http://169.254.169.254/` and
numeric spellings such as `127.1` or `0x7f000001` are all refused the same way.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

ALLOWED_SCHEMES = frozenset({"http", "https"})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class UnsafeURL(ValueError):
    """The URL is not one overheard will fetch; the message says why."""


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (numeric forms like `127.1` included)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: IPv4-compatible (::/96,
# deprecated), IPv4-mapped (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96) and NAT64
# (64:ff9b::/96 well-known, 64:ff9b:1::/48 local use). Reaching one reaches that IPv4 host.
_EMBEDS_IPV4_LAST_32 = tuple(
    ipaddress.IPv6Network(prefix)
    for prefix in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48")
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped, compatible, NAT64, 6to4, Teredo."""
    found: list[ipaddress.IPv4Address] = []
    if any(ip in net for net in _EMBEDS_IPV4_LAST_32):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:  # 2002:AABB:CCDD::/48 → AA.BB.CC.DD
        found.append(ip.sixtofour)
    if ip.teredo is not None:  # 2001:0::/32 → (server, client)
        found.extend(ip.teredo)
    return found


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address.

    An IPv6 address that embeds an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is
    public only if every IPv4 address in it is: `[64:ff9b::7f00:1]` is 127.0.0.1.
    """
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner:
            return all(v4.is_global and not v4.is_multicast for v4 in inner)
    return ip.is_global and not ip.is_multicast


def public_addresses(host: str, port: int, *, resolver: Resolver = resolve) -> list[str]:
    """Resolve `host` and return its addresses, or raise UnsafeURL if any is not public."""
    try:
        addresses = resolver(host, port)
    except (OSError, UnicodeError) as exc:
        raise UnsafeURL(f"can't resolve {host!r}: {exc}") from exc
    if not addresses:
        raise UnsafeURL(f"{host!r} resolves to no address")
    private = [a for a in addresses if not is_public_address(a)]
    if private:
        raise UnsafeURL(
            f"{host!r} resolves to {', '.join(private)}, a private, loopback, link-local or "
            "reserved address; overheard only fetches public URLs"
        )
    return addresses


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver = resolve) -> str:
    """Return `url` if it is http(s) with a host that resolves only to public addresses."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeURL(f"not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise UnsafeURL(f"only http and https URLs are fetched, not {parts.scheme or 'no'} scheme")
    if not parts.hostname:
        raise UnsafeURL("the URL has no host")
    if parts.username or parts.password:
        raise UnsafeURL("URLs with a user name or password are not fetched")
    if not allow_private:
        public_addresses(parts.hostname, port, resolver=resolver)
    return url.strip()


class BlockedAddress(httpcore.ConnectError):
    """A connection refused because the host resolves to a non-public address."""


class _GuardedBackend(httpcore.NetworkBackend):
    """Connects only to public addresses, resolving the host itself."""

    def __init__(self, resolver: Resolver) -> None:
        self._inner = httpcore.SyncBackend()
        self._resolver = resolver

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"can't resolve {host!r}: {exc}") from exc
        try:
            public_addresses(host, port, resolver=lambda _h, _p: addresses)
        except UnsafeURL as exc:
            raise BlockedAddress(str(exc)) from exc
        last: Exception | None = None
        for address in addresses:  # TLS still checks the certificate against `host`
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def guarded_transport(
    *,
    resolver: Resolver = resolve,
    verify: bool = True,
    limits: httpx.Limits = httpx.Limits(),  # noqa: B008  (immutable, httpx's own default)
) -> httpx.HTTPTransport:
    """An httpx transport that refuses to connect to anything but public addresses."""
    transport = httpx.HTTPTransport(verify=verify, trust_env=False, limits=limits)
    pool = httpcore.ConnectionPool(  # the pool httpx would build, with our network backend
        ssl_context=httpx.create_ssl_context(verify=verify),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_GuardedBackend(resolver),
    )
    _replace_pool(transport, pool)
    return transport


def _replace_pool(transport: httpx.HTTPTransport, pool: httpcore.ConnectionPool) -> None:
    """Put `pool` in place of the transport's own: the one place overheard touches httpx's insides.

    httpx has no public hook for the network backend. Should an upgrade move or retype its
    pool, this refuses to build the transport rather than quietly leave the guard out;
    tests/bot/sources/test_netsafe.py says so too.
    """
    current = getattr(transport, "_pool", None)
    if not isinstance(current, httpcore.ConnectionPool):
        raise RuntimeError(
            f"httpx {httpx.__version__} no longer keeps an httpcore.ConnectionPool in "
            f"HTTPTransport._pool (found {type(current).__name__}), so the SSRF guard in "
            "bot/sources/netsafe.py can't be installed: keep httpx at a version that does, "
            "or move the guard to wherever the pool now lives"
        )
    transport._pool = pool
