"""One place per network: its module declares it, and everything else reads the declaration."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from bot.cli import build_parser
from bot.config import Settings
from bot.services.fetching import specs_for
from bot.services.query import parse_query
from bot.services.watches import WatchError, check_options, list_watches
from bot.sources import NETWORKS, REGISTRY, build_sources
from bot.sources.base import FetchedAuthor, FetchResult, SearchSpec, Source
from bot.sources.network import (
    Dialect,
    Network,
    OptionError,
    Registry,
    Setting,
    SourceKit,
    WatchOption,
)
from bot.store.db import session_scope
from bot.store.models import Watch
from tests.conftest import make_settings

ROOT = Path(__file__).parents[3]
KEYS = ("hackernews", "mastodon", "bluesky", "reddit", "x", "rss", "appstore", "stackexchange")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


# --- a network declared here, as a new network's module would declare it -------------------


class FakeSource:
    """Answers every search with nothing, remembering what it was asked."""

    name = "fakenet"
    missing_settings: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.specs: list[SearchSpec] = []

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        self.specs.append(spec)
        return FetchResult(mentions=[], cursor={})

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        return None


def _check_board(value: str, *, allow_private: bool) -> str:
    if not value.isalpha():
        raise OptionError("--board takes a board's name, letters only")
    return value.lower()


BOARD = WatchOption(
    name="board",
    flag="--board",
    help="the message board to read",
    required=True,
    missing="a fakenet watch needs --board",
    check=_check_board,
)
FAKE = Network(
    key="fakenet",
    name="Fake Net",
    build=lambda kit: FakeSource(),
    dialect=Dialect(or_operator=True, exclude="NOT ", sigils=True, author="by:", lang="in:"),
    options=(BOARD,),
)
WITH_FAKE = REGISTRY.with_networks(FAKE)


# --- no network is named anywhere but in its own module -------------------------------------


def _module_files() -> Iterator[Path]:
    for package in ("bot", "handlers"):
        yield from sorted((ROOT / package).rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def _home_of(key: str) -> Path:
    """The file of the module that declares network `key`."""
    module = sys.modules[REGISTRY[key].build.__module__]
    assert module.__file__ is not None
    return Path(module.__file__).resolve()


def test_the_registry_offers_every_network_and_keeps_the_demo_apart() -> None:
    assert NETWORKS == KEYS
    assert "sample" in REGISTRY and "sample" not in NETWORKS


def test_no_network_key_is_spelled_outside_the_module_that_declares_it() -> None:
    keys = set(KEYS) | {"sample"}
    homes = {key: _home_of(key) for key in keys}
    found = []
    for path in _module_files():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value in keys
                and id(node) not in skip
                and path.resolve() != homes[node.value]
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")

    assert found == [], "ask bot.sources.REGISTRY instead:\n" + "\n".join(found)


# --- settings -------------------------------------------------------------------------------


def test_every_declared_setting_is_read_by_settings_and_documented_in_the_readme() -> None:
    aliases = {info.alias for info in Settings.model_fields.values()}
    readme = (ROOT / "README.md").read_text("utf-8")

    for network in REGISTRY:
        for setting in network.settings:
            assert setting.env in aliases, (network.key, setting.env)
            assert f"`{setting.env}`" in readme, (network.key, setting.env)


def _sources(settings: Settings) -> dict[str, Source]:
    with httpx.Client() as client:
        return build_sources(settings, client)


def test_sources_without_their_credentials_name_the_settings_they_need() -> None:
    sources = _sources(make_settings())

    missing = {key: source.missing_settings for key, source in sources.items()}

    assert missing == {
        "hackernews": (),
        "mastodon": ("MASTODON_ACCESS_TOKEN",),
        "bluesky": ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
        "reddit": ("REDDIT_CLIENT_ID", "REDDIT_CLIENT_SECRET"),
        "x": ("X_BEARER_TOKEN",),
        "rss": (),
        "appstore": (),
        "stackexchange": (),
    }


def test_sources_with_every_required_setting_miss_nothing() -> None:
    required = {s.env: "set" for n in REGISTRY for s in n.settings if s.required}

    sources = _sources(make_settings(**required))

    assert {key: s.missing_settings for key, s in sources.items() if s.missing_settings} == {}


def test_a_factory_may_read_only_the_settings_its_network_declares() -> None:
    sneaky = Network(
        key="sneaky",
        name="Sneaky",
        build=lambda kit: (kit.value(Setting("X_BEARER_TOKEN")), FakeSource())[1],
    )

    with httpx.Client() as client, pytest.raises(KeyError, match="X_BEARER_TOKEN"):
        sneaky.create(SourceKit(make_settings(), client, client))


# --- the command line -----------------------------------------------------------------------


def test_a_declared_network_is_a_choice_with_its_flag_and_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser(WITH_FAKE).parse_args(["watch", "add", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())

    assert "fakenet" in help_text
    assert "--board BOARD fakenet: the message board to read" in help_text


def test_todays_flags_and_help_texts_come_from_the_declarations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for command in ("add", "preview"):
        argv = ["watch", "add", "--help"] if command == "add" else ["preview", "--help"]
        with pytest.raises(SystemExit):
            build_parser().parse_args(argv)
        help_text = " ".join(capsys.readouterr().out.split())

        assert "--feed-url FEED_URL rss: the feed to read (e.g. a Google Alerts feed)" in help_text
        assert "--app-id APP_ID appstore: the app's id, the number in its store URL" in help_text
        assert "--country COUNTRY appstore: the store's two-letter country (default us)" in (
            help_text
        )
        assert "--site SITE stackexchange: the site (default stackoverflow)" in help_text


def test_an_undeclared_network_is_not_a_choice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["watch", "add", "acme", "--source", "fakenet", "--channel", "C1"]
        )

    assert "invalid choice: 'fakenet'" in capsys.readouterr().err


def _watch_add(tmp_path: Path, *args: str) -> int:
    settings = make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'overheard.db'}")
    argv = ["watch", "add", "acme", "--channel", "C0123ABCD", *args]
    parsed = build_parser(WITH_FAKE).parse_args(argv)
    result: int = parsed.func(settings, parsed)
    return result


def _stored(engine: Engine) -> list[Watch]:
    with session_scope(engine) as session:
        return list_watches(session=session)


def test_watch_add_stores_a_declared_networks_option_as_its_check_cleans_it(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    assert _watch_add(tmp_path, "--source", "fakenet", "--board", "General") == 0

    (watch,) = _stored(sqlite_engine)
    assert (watch.sources, watch.options) == (["fakenet"], {"board": "general"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "fakenet"], "a fakenet watch needs --board"),
        (["--source", "fakenet", "--board", "no-such/board"], "letters only"),
        (["--source", "hackernews", "--board", "general"], "--board is only for --source fakenet"),
    ],
)
def test_watch_add_refuses_a_declared_option_that_is_missing_bad_or_misplaced(
    sqlite_engine: Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    assert _watch_add(tmp_path, *args) == 2

    assert message in capsys.readouterr().err
    assert _stored(sqlite_engine) == []


def test_preview_without_sources_searches_the_networks_that_have_what_they_need(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = FakeSource()
    networks = Registry(
        (Network(key="plain", name="Plain", build=lambda kit: plain), FAKE),
    )
    settings = make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'overheard.db'}")
    args = build_parser(networks).parse_args(["preview", "acme"])

    assert args.func(settings, args) == 0

    assert [s.query for s in plain.specs] == ["acme"]  # fakenet has no --board: left out
    assert "0 of 0 matching mentions shown" in capsys.readouterr().out


# --- options and query translation ----------------------------------------------------------


def test_options_of_every_network_in_a_watch_are_checked_and_defaulted_together() -> None:
    clean = check_options(
        ["fakenet", "appstore"], {"board": "News", "app_id": "1459523498"}, networks=WITH_FAKE
    )

    assert clean == {"board": "news", "app_id": "1459523498", "country": "us"}


def test_an_option_no_network_declares_is_refused() -> None:
    with pytest.raises(WatchError, match="unknown option colour"):
        check_options(["hackernews"], {"colour": "red"})


def test_a_network_with_or_asks_once_in_its_own_spelling() -> None:
    query = parse_query('"acme cloud" OR @acme -jobs -author:acmebot -site:spam.example lang:de')

    (spec,) = query.specs(FAKE.dialect)

    # No site operator: -site: is left to the local re-check.
    assert spec.query == '("acme cloud" OR @acme) NOT jobs NOT by:acmebot in:de'


def test_a_network_without_or_or_exclusions_asks_once_per_alternative_and_leaves_out_nothing() -> (
    None
):
    query = parse_query("acme cloud OR #acme -jobs")

    specs = query.specs(Dialect())

    assert [s.query for s in specs] == ["acme cloud", "acme"]  # -jobs: the re-check drops them


def test_each_network_gets_only_its_own_options_from_a_watch() -> None:
    watch = Watch(
        query="acme",
        sources=["fakenet", "appstore"],
        channel_id="C0123ABCD",
        options={"board": "news", "app_id": "1459523498", "country": "de"},
    )

    (fake_spec,) = specs_for(watch, "fakenet", networks=WITH_FAKE)
    (store_spec,) = specs_for(watch, "appstore", networks=WITH_FAKE)

    assert fake_spec.options == {"board": "news"}
    assert store_spec.options == {"app_id": "1459523498", "country": "de"}


def test_two_networks_cannot_share_a_key_or_an_option_flag() -> None:
    clash = Network(key="clash", name="Clash", build=lambda kit: FakeSource(), options=(BOARD,))

    with pytest.raises(ValueError, match="share a key"):
        REGISTRY.with_networks(FAKE, FAKE)
    with pytest.raises(ValueError, match="same name or flag"):
        Registry((FAKE, clash))
