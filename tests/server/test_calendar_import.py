"""A year's holidays loaded ahead of the library: due times stop being estimates and move.

chinese-calendar 1.11 knows no 2027. A case taken on 21 December 2026 with 15 working
days runs into 2027, so its due time (Monday 11 January, counting 元旦 as a working day)
is marked as an estimate. ``daiban calendar import`` loads an arrangement with 元旦 on
1–3 January 2027; the case's due time moves to Tuesday 12 January, is no longer an
estimate, and the command lists the move. A malformed arrangement is refused.
"""

from __future__ import annotations

import json
import traceback
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner
from factories import case_payload
from jobkit import Clock
from litestar.testing import TestClient

from cli import main
from hierarchy.calendar import TZ, calendar_known, forget
from server.app import create_app
from server.settings import Settings

VILLAGE = "640502100002"
NOW = datetime(2026, 12, 21, 10, 0, tzinfo=TZ)
ITEM = "N04-disability-services"  # 15 working days
ARRANGEMENT = {
    "year": 2027,
    "published": "2026-11-12",
    "source": "国务院办公厅关于2027年部分节假日安排的通知",
    "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}],
    "workdays": [],
}


def run(settings: Settings, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["calendar", *args], env={"DAIBAN_DATABASE_URL": settings.database_url})
    failure = "".join(traceback.format_exception(result.exception)) if result.exception else ""
    return result.exit_code, result.output + failure


def sign_in(client: TestClient, username: str) -> dict[str, str]:  # type: ignore[type-arg]
    token = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def estimated_in_report(client: TestClient, auth: dict[str, str]) -> int:  # type: ignore[type-arg]
    params = {"unit": VILLAGE, "from": "2026-12-21", "to": "2026-12-21"}
    r = client.get("/api/v1/reports/summary", params=params, headers=auth)
    assert r.status_code == 200, r.text
    count: int = r.json()["rows"][0]["estimated_due_open"]
    return count


def test_import_moves_due_times_and_ends_the_estimate(settings: Settings, tmp_path: Path) -> None:
    assert not calendar_known(datetime(2027, 1, 1).date())
    try:
        with TestClient(app=create_app(settings, Clock(NOW))) as client:
            villager = sign_in(client, f"a{VILLAGE}")
            r = client.post("/api/v1/cases", json=case_payload(item_code=ITEM), headers=villager)
            assert r.status_code == 201, r.text
            case = r.json()
            assert case["due_at"].startswith("2027-01-11T") and case["due_estimated"] is True
            assert estimated_in_report(client, villager) == 1

        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({**ARRANGEMENT, "workdays": [{"name": "调休", "date": "2027-01-05"}]}))
        code, out = run(settings, "import", str(bad))
        assert code != 0 and "calendar.arrangement_invalid" in out
        assert not calendar_known(datetime(2027, 1, 1).date())

        good = tmp_path / "2027.json"
        good.write_text(json.dumps(ARRANGEMENT, ensure_ascii=False), encoding="utf-8")
        code, out = run(settings, "import", str(good))
        assert code == 0, out
        print(out)
        assert out.count("→") == 1 and "→ 2027-01-12T" in out  # one case moved, to Tuesday 12 January

        forget(2027)  # a new process learns it from the database
        with TestClient(app=create_app(settings, Clock(NOW))) as client:
            villager = sign_in(client, f"a{VILLAGE}")
            moved = client.get(f"/api/v1/cases/{case['id']}", headers=villager).json()
            assert moved["due_at"].startswith("2027-01-12T") and moved["due_estimated"] is False
            assert moved["version"] == case["version"] + 1
            assert estimated_in_report(client, villager) == 0
            history = client.get(f"/api/v1/cases/{case['id']}/history", headers=villager).json()
            assert any(e["action"] == "update" and e["reason"] == "calendar 2027" for e in history), history
    finally:
        forget(2027)
