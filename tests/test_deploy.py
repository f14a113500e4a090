"""The Dockerfile and compose.yaml start the real commands, in the right order (no Docker here:
the files are read, and every command they run is checked against the command line)."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import yaml

from bot.cli import build_parser
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def dockerfile() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def runs_overheard(argv: list[str]) -> None:
    """Fail unless `argv` is an `overheard` command line the CLI accepts."""
    assert argv[0] == "overheard", argv
    build_parser().parse_args(argv[1:])


def test_compose_runs_postgres_then_the_migration_then_the_web_app_and_the_worker() -> None:
    services = compose()["services"]

    assert set(services) == {"db", "migrate", "web", "worker"}
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    assert services["migrate"]["command"] == ["overheard", "db", "upgrade"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("web", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert services["web"]["command"][:2] == ["overheard", "serve"]
    assert services["worker"]["command"] == ["overheard", "worker"]
    assert services["web"]["ports"] == ["3000:3000"]


def test_every_app_service_runs_a_real_command_on_postgres_with_the_env_file() -> None:
    services = compose()["services"]

    for name in ("migrate", "web", "worker"):
        service = services[name]
        runs_overheard(service["command"])
        assert service["build"] == "."
        assert service["env_file"] == [{"path": ".env", "required": False}]
        url = make_settings(DATABASE_URL=service["environment"]["DATABASE_URL"]).database_url
        assert url.startswith("postgresql+psycopg://overheard:overheard@db:5432/")


def test_the_image_installs_the_app_without_dev_extras_and_serves_as_a_non_root_user() -> None:
    lines = dockerfile()
    final_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]

    assert all(line.split()[1].startswith("python:3.11-slim") for line in lines if "FROM" in line)
    assert any(re.search(r"pip install \.(\s|$)", line) for line in lines)
    assert not any("[dev]" in line for line in lines)
    (user,) = [line.split()[1] for line in final_stage if line.startswith("USER ")]
    assert user not in {"root", "0"}
    (cmd,) = [line for line in final_stage if line.startswith("CMD ")]
    shell = yaml.safe_load(cmd.removeprefix("CMD "))[-1]  # ["sh", "-c", "exec overheard …"]
    runs_overheard(shlex.split(shell.replace('"$PORT"', "3000"))[1:])


def test_the_image_copies_every_package_it_installs() -> None:
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]["packages"]["find"]["include"]
    copied = {
        line.split()[1]
        for line in dockerfile()
        if line.startswith("COPY ") and "--from" not in line
    }

    for package in packages:
        assert package.rstrip("*") in copied
    for source in copied:
        assert (ROOT / source).exists(), source


def test_the_procfile_runs_real_commands() -> None:
    for line in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        _, command = line.split(":", 1)
        runs_overheard(shlex.split(command.replace("$PORT", "3000")))
