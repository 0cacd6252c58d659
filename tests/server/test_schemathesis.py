"""schemathesis over the app's own OpenAPI document, as a signed-in admin.

Every documented operation gets generated requests (valid and invalid, a bounded number
each, from a fixed seed); the test fails on any 5xx, on an answer whose status, content
type or body the document does not describe. One live server on a SQLite copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from live import LiveServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.settings import load_settings

#: Examples per operation: about seventy operations in well under a minute on an idle machine.
EXAMPLES = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live_api(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    db = tmp_path_factory.mktemp("fuzz") / "daiban.sqlite"
    shutil.copy(sqlite_template, db)
    loose = "100000/minute"
    settings_ = load_settings(
        {},
        database_url=f"sqlite:///{db}",
        embedded_jobs=False,
        login_limits_account=loose,
        login_limits_username=loose,
        login_limits_address=loose,
    )
    with LiveServer(settings_) as live:
        r = httpx.post(live.url + "/api/v1/auth/token", json={"username": "admin", "password": "demo"})
        yield live.url, {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def api_schema(live_api: tuple[str, dict[str, str]]) -> schemathesis.BaseSchema:
    url, _ = live_api
    return schemathesis.openapi.from_url(url + "/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@pytest.mark.timeout(300)  # every operation runs inside this one test; a busy machine is slower
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_keeps_its_contract(case: schemathesis.Case, live_api: tuple[str, dict[str, str]]) -> None:
    url, auth = live_api
    if case.operation.path == "/api/v1/auth/logout":
        return  # it would end the session every other operation signs in with
    case.call_and_validate(base_url=url, headers=auth, checks=CHECKS)
