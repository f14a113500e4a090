"""manifest.yaml is an app manifest Slack accepts, and it asks for what the code uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.slack import ids

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "fixtures" / "slack_manifest_schema" / "manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yaml").read_text())
    return loaded


def test_the_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())

    jsonschema.validate(manifest, schema)


def test_a_misspelled_key_is_caught_by_the_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = {**manifest, "settings": {**manifest["settings"], "socket_mode_enabeld": True}}

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_the_manifest_declares_every_slash_command_the_app_answers(
    manifest: dict[str, Any],
) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}

    assert declared == {ids.SCORE_COMMAND, ids.ADMIN_COMMAND}


def test_the_manifest_subscribes_to_the_events_the_app_listens_for(
    manifest: dict[str, Any],
) -> None:
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_admin_notices_can_reach_admins_in_the_apps_read_only_messages_tab(
    manifest: dict[str, Any],
) -> None:
    app_home = manifest["features"]["app_home"]

    assert app_home["home_tab_enabled"] is True
    assert app_home["messages_tab_enabled"] is True
    assert app_home["messages_tab_read_only_enabled"] is True
