"""Who may change overheard: Slack's own admin flags, a configured list, asked sparingly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.slack.admins import AdminCheck
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.users["UADMIN"] = {"is_admin": True}
        fake.users["UOWNER"] = {"is_owner": True}
        fake.users["UGONE"] = {"is_admin": True, "deleted": True}
        yield fake


def test_workspace_admins_and_owners_and_configured_users_are_admins(fake: FakeSlack) -> None:
    check = AdminCheck(WebClient(token=TEST_TOKEN, base_url=fake.base_url), frozenset({"ULIST"}))

    assert check.is_admin("UADMIN") and check.is_admin("UOWNER") and check.is_admin("ULIST")
    assert not check.is_admin("UMEMBER")
    assert not check.is_admin("UGONE")  # a deactivated admin is no admin


def test_answers_are_remembered_until_they_expire(fake: FakeSlack) -> None:
    now = [0.0]
    check = AdminCheck(
        WebClient(token=TEST_TOKEN, base_url=fake.base_url),
        frozenset(),
        ttl_s=60,
        clock=lambda: now[0],
    )
    check.is_admin("UADMIN")
    check.is_admin("UADMIN")
    assert len(fake.calls_to("users.info")) == 1

    fake.users["UADMIN"] = {"is_admin": False}  # demoted
    now[0] = 61
    assert not check.is_admin("UADMIN")
    assert len(fake.calls_to("users.info")) == 2


def test_a_slack_error_refuses_and_is_not_remembered(fake: FakeSlack) -> None:
    check = AdminCheck(WebClient(token=TEST_TOKEN, base_url=fake.base_url), frozenset())
    fake.fail_next("users.info", error="user_not_visible", status=200)

    assert not check.is_admin("UADMIN")
    assert check.is_admin("UADMIN")
