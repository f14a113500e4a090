"""Services, sources, the store and scoring run without Slack: none of them loads it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Below Slack in the dependency order: a worker or a CLI command can use them with no Slack.
SLACK_FREE_PACKAGES = ("bot/services", "bot/sources", "bot/store", "scoring")
SLACK_PACKAGES = ("slack_sdk", "slack_bolt")
IMPORT_TIMEOUT_S = 120

# Run in a fresh interpreter: in this one, other tests have long since imported Slack.
PROBE = f"""
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(n for n in sys.modules if n.partition(".")[0] in {SLACK_PACKAGES!r})))
"""


def module_names(package_dir: str) -> list[str]:
    """Every module in a package directory, the package itself included, as dotted names."""
    names = []
    for path in sorted((ROOT / package_dir).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = [name for package in SLACK_FREE_PACKAGES for name in module_names(package)]


def test_every_slack_free_package_is_found_on_disk() -> None:
    packages = {package.replace("/", ".") for package in SLACK_FREE_PACKAGES}

    assert packages <= set(MODULES)
    assert len(MODULES) > len(packages)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_without_loading_slack(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == [], f"{module} loads Slack"


# Which rooms a room may import (besides the standard library and third-party packages);
# docs/architecture.md draws the same rules.
ALLOWED_IMPORTS = {
    "scoring": {"scoring"},
    "bot/store": {"bot.store"},
    "bot/sources": {"bot.sources", "bot.config", "bot.text", "bot.retry", "bot.durations"},
    "bot/services": {
        "bot.services",
        "bot.sources",
        "bot.store",
        "bot.config",
        "bot.text",
        "bot.retry",
        "bot.durations",
        "scoring",
    },
}


def imports_of(path: Path) -> set[str]:
    """The project modules a file imports (`bot…`, `handlers…`, `scoring…`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.partition(".")[0] in ("bot", "handlers", "scoring")}


@pytest.mark.parametrize("room", sorted(ALLOWED_IMPORTS))
def test_each_room_imports_only_the_rooms_below_it(room: str) -> None:
    allowed = ALLOWED_IMPORTS[room]
    strays = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / room).rglob("*.py")
        for name in imports_of(path)
        if not any(name == a or name.startswith(a + ".") for a in allowed)
    }
    assert not strays, sorted(strays)
