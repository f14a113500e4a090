"""What /score reads from its text, which networks it asks, and what a live lookup stores."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.deps import Deps
from bot.services.lookup import (
    AUTHORS_SHOWN,
    ScoreRequest,
    ScoreRequestError,
    ask_networks,
    look_up_author,
    parse_score_request,
    plan_lookup,
    stored_authors,
)
from bot.slack.chat import ConsoleChat
from bot.sources import NETWORKS, build_sources
from bot.sources.base import FetchedAuthor, RateLimited, Source, SourceError
from bot.store.db import session_scope
from bot.store.models import Author, AuthorScore
from tests.conftest import Clock, make_settings

HN_URL = "http://hn.test"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.mark.parametrize(
    ("typed", "handle", "network"),
    [
        ("pg", "pg", None),
        ("@pg", "pg", None),
        ("  pg  ", "pg", None),
        ("pg hackernews", "pg", "hackernews"),
        ("pg on Hacker News", "pg", "hackernews"),
        ("@jack twitter", "jack", "x"),
        ("@Gargron@mastodon.social", "Gargron@mastodon.social", None),
        ("news.ycombinator.com/user?id=pg", "pg", "hackernews"),
        ("https://news.ycombinator.com/user?id=pg&amp;p=2", "pg", "hackernews"),
        ("<https://news.ycombinator.com/user?id=pg>", "pg", "hackernews"),
        ("mastodon.social/@Gargron", "Gargron@mastodon.social", "mastodon"),
        (
            "<https://mastodon.social/@Gargron|mastodon.social/@Gargron>",
            "Gargron@mastodon.social",
            "mastodon",
        ),
        ("bsky.app/profile/jay.bsky.team", "jay.bsky.team", "bluesky"),
        ("https://www.reddit.com/user/spez", "spez", "reddit"),
        ("reddit.com/u/spez", "spez", "reddit"),
        ("x.com/jack", "jack", "x"),
        ("https://twitter.com/jack", "jack", "x"),
        ("stackoverflow.com/users/22656/jon-skeet", "22656@stackoverflow", "stackexchange"),
        ("x.com/jack x", "jack", "x"),  # the link and the network agree
    ],
)
def test_a_handle_or_a_profile_link_becomes_a_handle_on_a_network(
    typed: str, handle: str, network: str | None
) -> None:
    assert parse_score_request(typed) == ScoreRequest(handle, network)


@pytest.mark.parametrize("typed", ["", "   ", "@", "@ hackernews"])
def test_nothing_to_look_up_answers_with_how_to_use_it(typed: str) -> None:
    with pytest.raises(ScoreRequestError, match=r"Usage: `/score HANDLE \[network\]`"):
        parse_score_request(typed)


@pytest.mark.parametrize("typed", ["<@U0ALICE>", "<@U0ALICE|alice>", "&lt;@U0ALICE&gt;"])
def test_a_slack_member_is_not_a_social_handle(typed: str) -> None:
    with pytest.raises(
        ScoreRequestError, match=r"Slack member, not a social handle.*pg hackernews"
    ):
        parse_score_request(typed)


@pytest.mark.parametrize(
    ("typed", "what"),
    [
        ("<!channel>", "Slack mention"),
        ("<!subteam^S123|@team>", "Slack mention"),
        ("<#C0GENERAL|general>", "Slack channel"),
    ],
)
def test_other_slack_markup_is_not_a_social_handle_either(typed: str, what: str) -> None:
    with pytest.raises(ScoreRequestError, match=f"That's a {what}, not a social handle"):
        parse_score_request(typed)


def test_an_unknown_network_lists_the_known_ones() -> None:
    with pytest.raises(ScoreRequestError) as caught:
        parse_score_request("pg myspace")

    message = str(caught.value)
    assert "doesn't know a network called “myspace”" in message
    assert all(key in message for key in NETWORKS)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("pg\x00", "control characters"),
        ("\x00", "control characters"),
        ("pg\u202e", "control characters"),
        ("a" * 5000, "too long to be a handle or a profile link (5,000 characters)"),
        ("a" * 300, "too long for a handle (300 characters"),
        ("example.com/about", "isn't a profile overheard can read"),
        ("https://x.com/home", "isn't a profile overheard can read"),
        ("https://", "no site in it"),
        ("bsky.app/profile/not_a*domain", "doesn't name a handle"),
        ("x.com/jack reddit", "That link is a X profile, not a Reddit one"),
    ],
)
def test_what_cannot_be_looked_up_gets_a_clear_answer(typed: str, says: str) -> None:
    with pytest.raises(ScoreRequestError, match=re.escape(says)):
        parse_score_request(typed)


# --- which networks to ask -------------------------------------------------------------------


def sources(**settings: object) -> dict[str, Source]:
    return build_sources(make_settings(**settings), httpx.Client())


def test_with_no_network_named_every_network_that_can_answer_is_asked() -> None:
    # Bluesky and Reddit lack credentials, X bills lookups, "pg" is no Stack Exchange user.
    assert plan_lookup(ScoreRequest("pg"), sources()) == ["hackernews", "mastodon"]


def test_a_handle_only_one_network_uses_is_asked_there() -> None:
    configured = sources(BLUESKY_HANDLE="me.bsky.social", BLUESKY_APP_PASSWORD="x")

    assert plan_lookup(ScoreRequest("jay.bsky.team"), configured) == ["bluesky"]
    assert plan_lookup(ScoreRequest("22656@stackoverflow"), configured) == ["stackexchange"]


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        (ScoreRequest("jack", "x"), "X bills every profile lookup"),
        (ScoreRequest("jane", "rss"), "RSS has no author profiles to look up"),
        (
            ScoreRequest("jay.bsky.team", "bluesky"),
            "Bluesky isn't configured for lookups: set BLUESKY_HANDLE, BLUESKY_APP_PASSWORD",
        ),
        (ScoreRequest("spez", "reddit"), "set REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET"),
        (ScoreRequest("pg", "stackexchange"), "those look like 22656@stackoverflow"),
    ],
)
def test_a_network_that_cannot_be_asked_says_why(request_: ScoreRequest, says: str) -> None:
    with pytest.raises(ScoreRequestError, match=says):
        plan_lookup(request_, sources())


def test_a_handle_no_network_can_take_asks_for_the_network() -> None:
    with pytest.raises(
        ScoreRequestError, match=re.escape("Name the network, like `/score a.b:c hackernews`")
    ):
        plan_lookup(ScoreRequest("a.b:c"), sources())


def test_a_handle_only_unconfigured_networks_take_names_their_settings() -> None:
    with pytest.raises(
        ScoreRequestError, match=r"aren't configured for lookups: Bluesky \(set BLUESKY_HANDLE"
    ):
        plan_lookup(ScoreRequest("jay.bsky.team"), sources())


def test_a_network_not_set_up_at_all_says_so() -> None:
    with pytest.raises(ScoreRequestError, match="Hacker News isn't set up here"):
        plan_lookup(ScoreRequest("pg", "hackernews"), {})


# --- asking, and storing what was found ------------------------------------------------------


class Profiles:
    """Hacker News' user endpoint: known users with karma, 404 for the rest, or a failure."""

    def __init__(self, users: dict[str, int], *, status: int = 200) -> None:
        self.users = users
        self.status = status
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != "hn.test":
            return httpx.Response(404)
        name = request.url.path.rsplit("/", 1)[-1]
        self.asked.append(name)
        if self.status != 200:
            return httpx.Response(self.status, text="upstream down")
        if name not in self.users:
            return httpx.Response(404, json={"status": 404, "error": "Not Found"})
        return httpx.Response(
            200, json={"username": name, "karma": self.users[name], "created_at_i": 1_200_000_000}
        )


@pytest.fixture
def deps_for(engine: Engine, clock: Clock) -> Iterator[Callable[[Handler], Deps]]:
    clients: list[httpx.Client] = []

    def build(handler: Handler) -> Deps:
        http = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(http)
        settings = make_settings(OVERHEARD_HACKERNEWS_URL=HN_URL)
        built = build_sources(settings, http, sleep=lambda _s: None, clock=clock)
        return Deps(settings, engine, ConsoleChat(io.StringIO()), built, clock=clock)

    yield build
    for http in clients:
        http.close()


def authors(engine: Engine) -> list[Author]:
    with session_scope(engine) as session:
        return list(session.exec(select(Author)))


def test_an_author_found_live_is_stored_scored_with_history(
    deps_for: Callable[[Handler], Deps], engine: Engine
) -> None:
    deps = deps_for(Profiles({"pg": 157_316}))

    lookup = look_up_author("pg", ["hackernews", "mastodon"], deps)

    (report,) = lookup.reports
    assert report.author.network == "hackernews" and report.author.karma == 157_316
    assert report.author.score is not None and report.author.score > 60  # 157 k karma, formula 2.0
    assert [s.value for s in report.history] == [report.author.score]
    assert lookup.not_found == ["mastodon"] and lookup.problems == []
    with session_scope(engine) as session:
        found = stored_authors(ScoreRequest("PG"), session=session, now=deps.clock())
        assert len(session.exec(select(AuthorScore)).all()) == 1
    assert [r.author.id for r in found.reports] == [report.author.id]


def test_no_one_by_that_handle_stores_nothing(
    deps_for: Callable[[Handler], Deps], engine: Engine
) -> None:
    lookup = look_up_author("nobody", ["hackernews"], deps_for(Profiles({})))

    assert lookup.reports == [] and lookup.not_found == ["hackernews"]
    assert authors(engine) == []


def test_a_network_error_is_reported_and_nothing_is_stored(
    deps_for: Callable[[Handler], Deps], engine: Engine
) -> None:
    lookup = look_up_author("pg", ["hackernews"], deps_for(Profiles({}, status=503)))

    (problem,) = lookup.problems
    assert problem.network == "hackernews" and problem.problem is not None
    assert "error" in problem.problem
    assert lookup.not_found == [] and authors(engine) == []


class Stuck:
    """A source whose profile call waits until released."""

    name = "hackernews"
    missing_settings: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.release = threading.Event()

    def fetch(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("not searched")

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        self.release.wait(5)
        return FetchedAuthor(handle=handle, karma=10)


class Failing(Stuck):
    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        raise SourceError("HTTP 500")


class Limited(Stuck):
    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        raise RateLimited("HTTP 429", retry_after_s=41.2)


def test_networks_are_asked_in_parallel_within_a_bounded_time() -> None:
    stuck, failing, limited = Stuck(), Failing(), Limited()
    started = time.monotonic()
    try:
        answers = ask_networks(
            "pg",
            ["hackernews", "mastodon", "reddit"],
            {"hackernews": stuck, "mastodon": failing, "reddit": limited},  # type: ignore[dict-item]
            timeout_s=0.2,
        )
    finally:
        stuck.release.set()

    assert time.monotonic() - started < 2
    assert [(a.network, a.author, a.problem) for a in answers] == [
        ("hackernews", None, "did not answer in time"),
        ("mastodon", None, "answered with an error; try again in a while"),
        ("reddit", None, "asked overheard to slow down; try again in 42 s"),
    ]


def test_at_most_a_few_stored_authors_are_shown_and_the_rest_named(
    engine: Engine, clock: Clock
) -> None:
    networks = ["hackernews", "mastodon", "reddit", "x", "bluesky"]
    with session_scope(engine) as session:
        for karma, network in enumerate(networks, start=1):
            session.add(Author(network=network, external_id="pg", handle="pg", score=karma))
    with session_scope(engine) as session:
        found = stored_authors(ScoreRequest("pg"), session=session, now=clock())

    assert [r.author.network for r in found.reports] == ["bluesky", "x", "reddit"]
    assert len(found.reports) == AUTHORS_SHOWN
    assert sorted(found.also_on) == ["hackernews", "mastodon"]
