"""The `watch add` arguments, defined once, so the command line and /overheard read them alike."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any, NoReturn

from sqlmodel import Session

from bot.services.watches import DEFAULT_INTERVAL_S, add_watch
from bot.sources import REGISTRY, Registry
from bot.store.models import Watch


class ArgumentsError(ValueError):
    """Arguments that can't be read; the message says what is wrong."""


class RaisingParser(argparse.ArgumentParser):
    """An argument parser that raises ArgumentsError where argparse would print and exit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ArgumentsError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise ArgumentsError((message or "").strip() or "can't read these arguments")


def add_watch_arguments(
    parser: argparse.ArgumentParser,
    networks: Registry = REGISTRY,
    *,
    default_channel: str | None = None,
) -> None:
    """The arguments of `watch add`; without `default_channel`, --channel is required."""
    parser.add_argument("query")
    parser.add_argument(
        "--source",
        action="append",
        required=True,
        choices=networks.keys,
        help="a network to search (repeat for several)",
    )
    if default_channel is None:
        parser.add_argument("--channel", required=True, help="Slack channel ID, like C0123ABCD")
    else:
        parser.add_argument(
            "--channel", default=default_channel, help="Slack channel ID (default: this one)"
        )
    parser.add_argument(
        "--interval", type=int, default=DEFAULT_INTERVAL_S, help="seconds between fetches"
    )
    add_network_options(parser, networks)


def add_network_options(parser: argparse.ArgumentParser, networks: Registry = REGISTRY) -> None:
    """One flag per option a network declares, e.g. `--feed-url` for rss."""
    for network, option in networks.options:
        parser.add_argument(
            option.flag,
            dest=option_dest(option.name),
            metavar=option.name.upper(),
            help=f"{network.key}: {option.help}",
        )


def network_options(args: argparse.Namespace, networks: Registry = REGISTRY) -> dict[str, str]:
    """The network options given in `args`, by option name."""
    given = {o.name: getattr(args, option_dest(o.name), None) for _, o in networks.options}
    return {name: value for name, value in given.items() if value is not None}


def option_dest(option_name: str) -> str:
    """Where argparse keeps a network option, apart from the commands' own arguments."""
    return f"option_{option_name}"


def add_watch_from_args(
    args: argparse.Namespace,
    *,
    session: Session,
    now: datetime,
    allow_private_urls: bool = False,
    networks: Registry = REGISTRY,
) -> Watch:
    """Save the watch that parsed `watch add` arguments describe (see `add_watch`)."""
    return add_watch(
        args.query,
        args.source,
        args.channel,
        known_sources=networks.keys,
        interval_s=args.interval,
        session=session,
        now=now,
        options=network_options(args, networks),
        allow_private_urls=allow_private_urls,
        networks=networks,
    )
