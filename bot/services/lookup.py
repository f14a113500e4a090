"""Who /score is asked about, and asking the networks about an author never seen before.

What someone types after /score (a handle, `@handle`, `handle network`, or a profile
address) becomes a `ScoreRequest`. An author overheard has not stored is looked up
through each network's profile call, on every network that can answer when none is
named, in parallel and within LOOKUP_TIMEOUT_S, and stored scored as the pipeline
scores authors, so the next /score answers at once.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlmodel import Session

from bot.services.authors import HANDLE_MAX_CHARS, upsert_author
from bot.services.deps import Deps
from bot.services.reach import AuthorReport, find_stored_authors, report_author
from bot.sources import REGISTRY, Registry
from bot.sources.base import FetchedAuthor, RateLimited, Source, SourceError
from bot.sources.network import Network, Profiles
from bot.store.db import session_scope

log = logging.getLogger(__name__)

AUTHORS_SHOWN = 3  # cards in one answer; more authors with the handle are only named
# What someone may type after /score; anything longer is not a handle or a profile link.
REQUEST_MAX_CHARS = 2000
# How long a live lookup may take in all, across networks, before the user is answered.
LOOKUP_TIMEOUT_S = 8.0
SHOWN_MAX_CHARS = 60  # of a typed name quoted back
USAGE = (
    "Usage: `/score HANDLE [network]` or `/score PROFILE-LINK`, "
    "for example `/score pg hackernews` or `/score https://bsky.app/profile/jay.bsky.team`."
)
TRY_A_HANDLE = "try their handle on a network, like `/score pg hackernews`."
# Slack's own markup, which Slack sends for a member, channel or @-mention picked while typing.
_SLACK_MEMBER = re.compile(r"<@[UW][A-Z0-9]*(?:\|[^>]*)?>")
_SLACK_CHANNEL = re.compile(r"<#C[A-Z0-9]*(?:\|[^>]*)?>")
_SLACK_SPECIAL = re.compile(r"<!(?:[^>]*)>")
_SLACK_LINK = re.compile(r"<(?P<url>https?://[^|>]+)(?:\|[^>]*)?>", re.IGNORECASE)
_BARE_ADDRESS = re.compile(r"(?:[a-z0-9-]+\.)+[a-z]{2,}/", re.IGNORECASE)


class ScoreRequestError(ValueError):
    """What was typed can't be looked up; the message says why, in plain words (not mrkdwn)."""


@dataclass(frozen=True, slots=True)
class ScoreRequest:
    """An author to score: a handle as the network's source spells it, on one network or any."""

    handle: str
    network: str | None = None


@dataclass(frozen=True, slots=True)
class NetworkAnswer:
    """What one network said about a handle: the author, no one, or why it couldn't say."""

    network: str
    author: FetchedAuthor | None = None
    problem: str | None = None  # "did not answer in time", "answered with an error"


@dataclass(frozen=True, slots=True)
class Found:
    """Stored authors for a request: up to AUTHORS_SHOWN reports, and the networks of the rest."""

    reports: list[AuthorReport]
    also_on: list[str]


@dataclass(frozen=True, slots=True)
class Lookup:
    """A live lookup's outcome: the authors found and stored, and what each network answered."""

    handle: str
    reports: list[AuthorReport]
    answers: list[NetworkAnswer]

    @property
    def not_found(self) -> list[str]:
        """The networks that said they have no one by that handle."""
        return [a.network for a in self.answers if a.author is None and a.problem is None]

    @property
    def problems(self) -> list[NetworkAnswer]:
        """The networks that could not say."""
        return [a for a in self.answers if a.problem is not None]


def parse_score_request(text: str, *, networks: Registry = REGISTRY) -> ScoreRequest:
    """Read `/score`'s text: `HANDLE`, `@HANDLE`, `HANDLE [on] NETWORK` or a profile address."""
    if len(text) > REQUEST_MAX_CHARS:
        raise ScoreRequestError(
            f"That's too long to be a handle or a profile link ({len(text):,} characters). {USAGE}"
        )
    # Slack sends &, < and > as entities; a profile address may hold a literal `&`.
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if any(unicodedata.category(c) in ("Cc", "Cf") and not c.isspace() for c in text):
        raise ScoreRequestError(
            "That isn't a handle: it holds control characters. "
            "Type a handle like `pg` or paste a profile link."
        )
    words = text.split()
    if not words:
        raise ScoreRequestError(USAGE)
    first, rest = words[0], words[1:]
    _refuse_slack_markup(first)
    if rest and rest[0].lower() == "on":
        rest = rest[1:]
    named = _network_named(" ".join(rest), networks) if rest else None
    profile = _profile_in(first, networks)
    if profile is not None:
        network, handle = profile
        if named is not None and named.key != network.key:
            raise ScoreRequestError(
                f"That link is a {network.name} profile, not a {named.name} one."
            )
        return ScoreRequest(_checked_handle(handle, network), network.key)
    handle = first.lstrip("@")
    if not handle:
        raise ScoreRequestError(USAGE)
    if len(handle) > HANDLE_MAX_CHARS:
        raise ScoreRequestError(
            f"That's too long for a handle ({len(handle):,} characters; handles have at most "
            f"{HANDLE_MAX_CHARS})."
        )
    if named is None:
        return ScoreRequest(handle)
    return ScoreRequest(handle, named.key)


def stored_authors(request: ScoreRequest, *, session: Session, now: datetime) -> Found:
    """The stored authors the request names, best score first, as /score shows them."""
    authors = find_stored_authors(request.handle, request.network, session=session)
    reports = []
    for author in authors[:AUTHORS_SHOWN]:
        assert author.id is not None
        report = report_author(author.id, session=session, now=now)
        if report is not None:
            reports.append(report)
    return Found(reports, [a.network for a in authors[AUTHORS_SHOWN:]])


def plan_lookup(
    request: ScoreRequest, sources: Mapping[str, Source], *, networks: Registry = REGISTRY
) -> list[str]:
    """The networks to ask about an author not stored yet; ScoreRequestError when none can."""
    handle = request.handle
    if request.network is not None:
        network = networks[request.network]
        profiles = _askable(network, handle, sources)
        if not profiles.fits(handle):
            raise ScoreRequestError(
                f"No author called {_shown(handle)} has been seen on {network.name}, and it "
                f"isn't a {network.name} handle: those look like {profiles.example}."
            )
        return [network.key]
    keys, unconfigured = [], []
    for network in networks:
        offered = network.profiles
        if offered is None or offered.no_lookup or not offered.fits(handle):
            continue
        if network.key not in sources:
            continue
        missing = _missing_for_lookup(offered, sources[network.key])
        if missing:
            unconfigured.append(f"{network.name} (set {', '.join(missing)})")
        else:
            keys.append(network.key)
    if keys:
        return keys
    unseen = f"No author called {_shown(handle)} has been seen yet"
    if unconfigured:
        raise ScoreRequestError(
            f"{unseen}, and the networks that take a handle like that aren't configured for "
            f"lookups: {'; '.join(unconfigured)}."
        )
    raise ScoreRequestError(
        f"{unseen}, and no network overheard can ask takes a handle like that. Name the "
        f"network, like `/score {handle[:SHOWN_MAX_CHARS]} hackernews`, or paste their "
        "profile link."
    )


def look_up_author(handle: str, network_keys: list[str], deps: Deps) -> Lookup:
    """Ask each network for the author's profile at once; store and score whoever is found.

    Networks that take longer than LOOKUP_TIMEOUT_S in all are reported as not answering in
    time; nothing is stored for a network that failed.
    """
    answers = ask_networks(handle, network_keys, deps.sources, timeout_s=LOOKUP_TIMEOUT_S)
    reports: list[AuthorReport] = []
    now = deps.clock()
    with session_scope(deps.engine) as session:
        for answer in answers:
            if answer.author is None:
                continue
            author = upsert_author(
                answer.network, answer.author, session=session, now=now, metrics_fresh=True
            )
            assert author.id is not None
            report = report_author(author.id, session=session, now=now)
            assert report is not None
            reports.append(report)
    return Lookup(handle=handle, reports=reports[:AUTHORS_SHOWN], answers=answers)


def ask_networks(
    handle: str, network_keys: list[str], sources: Mapping[str, Source], *, timeout_s: float
) -> list[NetworkAnswer]:
    """Each network's answer about `handle`, asked in parallel, within `timeout_s` in all."""
    if not network_keys:
        return []
    pool = ThreadPoolExecutor(max_workers=len(network_keys), thread_name_prefix="score-lookup")
    try:
        futures = {key: pool.submit(sources[key].fetch_author, handle) for key in network_keys}
        wait(futures.values(), timeout=timeout_s)
    finally:
        # A network still answering is left to finish on its own: the user is answered now.
        pool.shutdown(wait=False, cancel_futures=True)
    return [_answer(key, future) for key, future in futures.items()]


def _answer(key: str, future: Future[FetchedAuthor | None]) -> NetworkAnswer:
    if not future.done():
        return NetworkAnswer(key, problem="did not answer in time")
    try:
        return NetworkAnswer(key, author=future.result())
    except RateLimited as exc:
        wait_s = max(1, math.ceil(exc.retry_after_s))
        return NetworkAnswer(key, problem=f"asked overheard to slow down; try again in {wait_s} s")
    except SourceError as exc:
        log.warning("profile lookup on %s failed: %s", key, exc)
        return NetworkAnswer(key, problem="answered with an error; try again in a while")


def _askable(network: Network, handle: str, sources: Mapping[str, Source]) -> Profiles:
    """The network's profiles when /score may ask it now, else ScoreRequestError saying why."""
    profiles = network.profiles
    unseen = f"No author called {_shown(handle)} has been seen on {network.name}"
    if profiles is None:
        raise ScoreRequestError(f"{unseen}, and {network.name} has no author profiles to look up.")
    if profiles.no_lookup:
        raise ScoreRequestError(f"{unseen}, and {profiles.no_lookup}.")
    source = sources.get(network.key)
    if source is None:
        raise ScoreRequestError(f"{unseen}, and {network.name} isn't set up here.")
    missing = _missing_for_lookup(profiles, source)
    if missing:
        raise ScoreRequestError(
            f"{unseen}, and {network.name} isn't configured for lookups: set {', '.join(missing)}."
        )
    return profiles


def _missing_for_lookup(profiles: Profiles, source: Source) -> list[str]:
    """The settings a profile lookup needs that the source lacks."""
    return [s.env for s in profiles.lookup_settings if s.env in source.missing_settings]


def _refuse_slack_markup(word: str) -> None:
    if _SLACK_MEMBER.fullmatch(word):
        raise ScoreRequestError(f"That's a Slack member, not a social handle: {TRY_A_HANDLE}")
    if _SLACK_CHANNEL.fullmatch(word):
        raise ScoreRequestError(f"That's a Slack channel, not a social handle: {TRY_A_HANDLE}")
    if _SLACK_SPECIAL.fullmatch(word):
        raise ScoreRequestError(f"That's a Slack mention, not a social handle: {TRY_A_HANDLE}")


def _network_named(name: str, networks: Registry) -> Network:
    network = networks.named(name)
    if network is None:
        known = ", ".join(networks.keys)
        raise ScoreRequestError(
            f"overheard doesn't know a network called {_shown(name)}. It knows: {known}."
        )
    return network


def _profile_in(word: str, networks: Registry) -> tuple[Network, str] | None:
    """The network and handle of a profile address, None for a word that is no address."""
    link = _SLACK_LINK.fullmatch(word)
    if link is not None:
        word = link.group("url")
    elif not word.lower().startswith(("http://", "https://")):
        if not _BARE_ADDRESS.match(word):
            return None
        word = "https://" + word
    try:
        parts = urlsplit(word)
        host = parts.hostname or ""
    except ValueError:  # an unbalanced IPv6 bracket, a bad port
        host = ""
    if not host:
        raise ScoreRequestError("That link has no site in it. Paste a profile link or a handle.")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    found = networks.profile_at(host, path)
    if found is None:
        with_profiles = ", ".join(n.name for n in networks if n.profiles is not None)
        raise ScoreRequestError(
            f"That link isn't a profile overheard can read. Paste one from {with_profiles}, "
            "or type the handle."
        )
    return found


def _checked_handle(handle: str, network: Network) -> str:
    assert network.profiles is not None
    if not network.profiles.fits(handle):
        raise ScoreRequestError(
            f"That {network.name} link doesn't name a handle overheard can read: "
            f"{network.name} handles look like {network.profiles.example}."
        )
    return handle


def _shown(text: str) -> str:
    """A typed name quoted back, short."""
    return f"“{text[:SHOWN_MAX_CHARS]}{'…' if len(text) > SHOWN_MAX_CHARS else ''}”"
