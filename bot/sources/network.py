"""What a network is to overheard, declared once in its module: names, dialect, options, settings.

Each network module declares one `Network`; `bot.sources` collects them in a `Registry`, and
everything that differs between networks (how a query is spelled, which per-watch options a
watch needs and how they are checked, which settings a source reads, how fetches share a
host, what the network is called on a card) is read from there, never from a list of names.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from bot.config import Settings
from bot.sources.base import Source
from bot.sources.httpsource import HttpOptions


class OptionError(ValueError):
    """A per-watch option that can't be used; the message says what to fix."""


class OptionCheck(Protocol):
    """Check one option's value: return the value to store, or raise OptionError."""

    def __call__(self, value: str, *, allow_private: bool) -> str: ...


@dataclass(frozen=True, slots=True)
class WatchOption:
    """A per-watch option of one network (rss's feed URL), with its command-line flag."""

    name: str  # the key in a watch's options and in SearchSpec.options
    flag: str  # on `watch add` and `preview`, e.g. "--feed-url"
    help: str
    required: bool = False
    missing: str = ""  # what to tell a watch that leaves a required option out
    default: str | None = None  # stored when a watch on the network leaves it out
    check: OptionCheck | None = None


@dataclass(frozen=True, slots=True)
class Setting:
    """An environment variable a network's source reads; it can't search without a required one."""

    env: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Dialect:
    """How a network's search spells the watch query language, and what it can't say at all."""

    or_operator: bool = False  # `a OR b` works; else one search per alternative
    exclude: str | None = None  # written before an excluded term ("-", "NOT "); None: can't
    sigils: bool = False  # @handle and #tag keep their @ and #; else they are plain words
    author: str | None = None  # the operator for who wrote a post, e.g. "from:"
    site: str | None = None  # the operator for a linked site, e.g. "url:"
    lang: str | None = None  # the operator for a language, e.g. "lang:"
    whole_feed: bool = False  # hands over a whole feed, unsearched: read once, filtered here


@dataclass(frozen=True, slots=True)
class ProfileUrl:
    """One way a network writes a profile's address, and how the handle is read from it."""

    host: str  # a pattern for the whole host name, lower-cased and without "www."
    path: str  # a pattern for the whole path, with "?query" after it when there is one
    handle: str = "{handle}"  # the source's handle, from the patterns' groups and {host}

    def handle_in(self, host: str, path: str) -> str | None:
        """The handle this address names, or None when it is not one of these addresses."""
        on_host = re.fullmatch(self.host, host)
        on_path = re.fullmatch(self.path, path)
        if on_host is None or on_path is None:
            return None
        return self.handle.format_map({"host": host, **on_host.groupdict(), **on_path.groupdict()})


@dataclass(frozen=True, slots=True)
class Profiles:
    """A network's author profiles: how they are addressed, and whether /score may ask for one."""

    urls: tuple[ProfileUrl, ...]
    handle: str  # a pattern for the whole of a handle on this network, as its source spells it
    example: str  # a handle, for people: "pg", "name.bsky.social"
    # The settings the source's profile call needs (a public profile call needs none).
    lookup_settings: tuple[Setting, ...] = ()
    # Why profiles are never asked for live, when they are not (a lookup X bills).
    no_lookup: str | None = None
    aliases: tuple[str, ...] = ()  # other names people type for the network ("twitter")
    any_host: bool = False  # profiles live on any server (Mastodon): other networks match first

    def fits(self, handle: str) -> bool:
        """True when `handle` is shaped like a handle of this network."""
        return re.fullmatch(self.handle, handle) is not None


@dataclass(frozen=True, slots=True)
class SourceKit:
    """What a network's factory builds its source from: settings, HTTP clients, sleep, clock."""

    settings: Settings
    http: httpx.Client
    feed_http: httpx.Client  # connects to public addresses only: for URLs users supply
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # The settings (by environment name) the network being built declared: only these are read.
    declared: frozenset[str] | None = None

    @property
    def backfill(self) -> timedelta:
        """How far back a new watch looks on its first fetch."""
        return timedelta(hours=self.settings.backfill_hours)

    @property
    def allow_private(self) -> bool:
        """True when user-supplied URLs may point at private addresses (tests only)."""
        return self.settings.allow_private_urls

    def http_options(self, base_url: Setting | None = None) -> HttpOptions:
        """What every source is built with: backfill, sleep, clock, and its base URL setting."""
        options: HttpOptions = {"backfill": self.backfill, "sleep": self.sleep, "clock": self.clock}
        if base_url is not None:
            options["base_url"] = self.text(base_url)
        return options

    def value(self, setting: Setting) -> str | None:
        """A declared setting's value (a secret unwrapped), or None when unset."""
        if self.declared is not None and setting.env not in self.declared:
            raise KeyError(f"{setting.env} is read but not in the network's declared settings")
        raw = getattr(self.settings, _field_of(setting.env))
        if isinstance(raw, SecretStr):
            raw = raw.get_secret_value()
        return None if raw is None else str(raw)

    def text(self, setting: Setting) -> str:
        """A declared setting that always has a value (it has a default), such as a base URL."""
        value = self.value(setting)
        if value is None:
            raise ValueError(f"{setting.env} has no value")
        return value


@dataclass(frozen=True, slots=True)
class Network:
    """Everything overheard knows about one network, declared once in the network's module."""

    key: str  # stored with watches, cursors and mentions: never rename one
    name: str  # for people, e.g. "Hacker News"
    build: Callable[[SourceKit], Source]
    web_url: str | None = None  # where people read the network; feeds live anywhere
    dialect: Dialect = Dialect()
    options: tuple[WatchOption, ...] = ()
    settings: tuple[Setting, ...] = ()
    # False when every result is about the watched thing (an app's reviews): no local re-check.
    recheck: bool = True
    # Fetches share a concurrency limit per host of this option's URL (feeds), else per network.
    host_option: str | None = None
    profiles: Profiles | None = None  # None: authors here have no profiles (feeds, reviews)

    def create(self, kit: SourceKit) -> Source:
        """Build this network's source; its factory may read only the settings declared here."""
        return self.build(replace(kit, declared=frozenset(s.env for s in self.settings)))

    def missing(self, values: Mapping[str, str | None]) -> tuple[str, ...]:
        """The required settings (by environment name) that `values` leaves unset, in order."""
        return tuple(s.env for s in self.settings if s.required and not values.get(s.env))

    def own_options(self, options: Mapping[str, str]) -> dict[str, str]:
        """The part of a watch's options this network declared."""
        return {o.name: options[o.name] for o in self.options if options.get(o.name)}

    def lacks_options(self, options: Mapping[str, str]) -> bool:
        """True when a required option of this network is not in `options`."""
        return any(o.required and not options.get(o.name) for o in self.options)

    def concurrency_key(self, options: Mapping[str, str]) -> str:
        """Which fetches share a concurrency limit: the network's, or its feed host's."""
        if self.host_option is None:
            return self.key
        url = options.get(self.host_option, "")
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        return f"{self.key}:{host}"


class Registry:
    """The networks users pick from, in order, plus hidden ones (the console demo's samples)."""

    def __init__(self, networks: Iterable[Network], *, hidden: Iterable[Network] = ()) -> None:
        self._shown = tuple(networks)
        self._hidden = tuple(hidden)
        self._all = {n.key: n for n in (*self._shown, *self._hidden)}
        if len(self._all) != len(self._shown) + len(self._hidden):
            raise ValueError("two networks share a key")
        names = [o.name for n in self._all.values() for o in n.options]
        flags = [o.flag for n in self._all.values() for o in n.options]
        if len(set(names)) != len(names) or len(set(flags)) != len(flags):
            raise ValueError("two networks declare an option with the same name or flag")

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys users pick from, in order."""
        return tuple(n.key for n in self._shown)

    def __iter__(self) -> Iterator[Network]:
        return iter(self._shown)

    def __getitem__(self, key: str) -> Network:
        try:
            return self._all[key]
        except KeyError:
            raise KeyError(f"unknown network {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._all

    def with_networks(self, *extra: Network) -> Registry:
        """This registry with more networks users can pick (tests declare fakes this way)."""
        return Registry((*self._shown, *extra), hidden=self._hidden)

    def name_of(self, key: str) -> str:
        """A network's name for people, e.g. "Hacker News"; an unknown key as it is."""
        network = self._all.get(key)
        return network.name if network is not None else key

    @property
    def options(self) -> tuple[tuple[Network, WatchOption], ...]:
        """Every network's per-watch options, with the network that declares each."""
        return tuple((n, o) for n in self._shown for o in n.options)

    def named(self, name: str) -> Network | None:
        """The network users pick that `name` means: its key, its name or an alias, any case."""
        wanted = "".join(name.split()).lower()
        for network in self._shown:
            aliases = network.profiles.aliases if network.profiles else ()
            spellings = {network.key, "".join(network.name.split()).lower(), *aliases}
            if wanted in spellings:
                return network
        return None

    def profile_at(self, host: str, path: str) -> tuple[Network, str] | None:
        """The network and handle a profile address names, or None when it names none."""
        host = host.lower().removeprefix("www.")
        pairs = [(n, n.profiles) for n in self._shown if n.profiles is not None]
        for network, profiles in sorted(pairs, key=lambda pair: pair[1].any_host):
            for url in profiles.urls:
                handle = url.handle_in(host, path)
                if handle is not None:
                    return network, handle
        return None

    def build_sources(self, kit: SourceKit) -> dict[str, Source]:
        """A source for each network users pick from, keyed by network key."""
        return {n.key: n.create(kit) for n in self._shown}


def _field_of(env: str) -> str:
    """The Settings field read from environment variable `env`."""
    for name, info in Settings.model_fields.items():
        if info.alias == env:
            return name
    raise KeyError(f"no setting reads {env}")
