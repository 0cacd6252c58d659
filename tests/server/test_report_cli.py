"""``daiban report`` on demo data, on both engines: Markdown, CSV and xlsx carry the same
figures, a county's row is the same seen from the city or drilled into, and the API
agrees with the command."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from litestar.testing import TestClient
from openpyxl import load_workbook

from cli import main
from server import db
from server.app import create_app
from server.demo import seed_demo_cases
from server.jobs.sweep import sweep
from server.report_export import COLUMNS
from server.settings import Settings

CITY, COUNTY = "640500", "640502"
DEMO_NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
PERIOD = ["--from", "2026-03-01", "--to", "2026-06-01"]
N = 300


def seed(settings: Settings) -> int:
    async def go() -> int:
        engine = db.connect(settings)
        await db.start(engine)
        try:
            made = await seed_demo_cases(N, None, now=DEMO_NOW)
            await sweep(engine, DEMO_NOW)  # flags the overdue deferrals the figures count
            return made
        finally:
            await db.stop(engine)

    return asyncio.run(go())


def run(settings: Settings, *args: str) -> str:
    result = CliRunner().invoke(main, ["report", *args], env={"DAIBAN_DATABASE_URL": settings.database_url})
    assert result.exit_code == 0, result.output
    return result.output


def md_rows(text: str) -> dict[str, dict[str, str]]:
    """The first table of the Markdown report, by unit code."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(header):
            break  # the item table starts
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def test_report_md_csv_xlsx_agree(settings: Settings, tmp_path: Path) -> None:
    assert seed(settings) == N
    assert seed(settings) == 0  # the same ids again: nothing to add
    md = run(settings, "--unit", CITY, *PERIOD, "--format", "md")
    table = md_rows(md)
    city, county = table[CITY], table[COUNTY]
    print(f"\ncity:   {city}\ncounty: {county}")
    assert int(city["cases"]) == N
    assert sum(int(r["cases"]) for code, r in table.items() if code != CITY) == N
    assert 0 < int(county["cases"]) < N and int(county["claims"]) > 0
    assert float(city["on_time_pct"]) > 50 and city["median_claim_h"]
    assert sum(int(city[f"rating_{n}"]) for n in range(1, 6)) > 0
    assert int(city["overdue_deferrals"]) > 0 and int(city["auto_escalations"]) > 0

    parsed = list(csv.DictReader(io.StringIO(run(settings, "--unit", CITY, *PERIOD, "--format", "csv"))))
    assert [r["unit"] for r in parsed] == list(table)
    for row in parsed:
        assert {c: row[c] for c in COLUMNS} == table[row["unit"]], row["unit"]
        items = sum(int(v) for k, v in row.items() if k.startswith("item:"))
        assert items == int(row["cases"])

    drilled = md_rows(run(settings, "--unit", COUNTY, *PERIOD))
    assert drilled[COUNTY] == county
    # Project issues are taken at the county itself, so its towns add up to a little less.
    towns = sum(int(r["cases"]) for code, r in drilled.items() if code != COUNTY)
    assert towns + int(county["kind_project_issue"]) == int(county["cases"])

    out = tmp_path / "report.xlsx"
    run(settings, "--unit", CITY, *PERIOD, "--format", "xlsx", "--output", str(out))
    sheet = load_workbook(out)["summary"]
    header = [c.value for c in sheet[1]]
    book = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert book[COUNTY]["cases"] == int(county["cases"])
    assert book[COUNTY]["on_time_pct"] == float(county["on_time_pct"])

    with TestClient(app=create_app(settings)) as client:
        token = client.post("/api/v1/auth/token", json={"username": f"lead{COUNTY}", "password": "demo"}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        params = {"unit": COUNTY, "from": "2026-03-01", "to": "2026-06-01"}
        r = client.get("/api/v1/reports/summary", params=params, headers=auth)
        assert r.status_code == 200, r.text
        api = r.json()["rows"][0]
        assert (api["unit"], api["cases"], api["claims"], api["returns"]) == (
            COUNTY, int(county["cases"]), int(county["claims"]), int(county["returns"]),
        )  # fmt: skip
        assert client.get("/api/v1/reports/summary", params={**params, "unit": CITY}, headers=auth).status_code == 404


def test_report_unknown_unit_is_a_clean_error(settings: Settings) -> None:
    result = CliRunner().invoke(main, ["report", "--unit", "999"], env={"DAIBAN_DATABASE_URL": settings.database_url})
    assert result.exit_code == 1 and "unit.not_found" in result.output
