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
from server.report_export import COLUMNS, column_label
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
    """The first table of the Markdown report, by unit code (``<code>:own`` for the own line)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    keys = {column_label(c): c for c in COLUMNS}  # the headings people read, back to column names
    header = [keys.get(c.strip(), c.strip()) for c in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(header):
            break  # the item table starts
        rows[cells[0] + (":own" if cells[1] == "own" else "")] = dict(zip(header, cells, strict=True))
    return rows


def test_report_md_csv_xlsx_agree(settings: Settings, tmp_path: Path) -> None:
    assert seed(settings) == N
    assert seed(settings) == 0  # the same ids again: nothing to add
    md = run(settings, "--unit", CITY, *PERIOD, "--format", "md")
    table = md_rows(md)
    city, county = table[CITY], table[COUNTY]
    print(f"\ncity:   {city}\ncounty: {county}")
    assert int(city["cases"]) == N
    assert sum(int(r["cases"]) for code, r in table.items() if code not in (CITY, f"{CITY}:own")) == N
    assert 0 < int(county["cases"]) < N and int(county["claims"]) > 0
    assert float(city["on_time_pct"]) > 50 and city["median_claim_h"]
    assert sum(int(city[f"rating_{n}"]) for n in range(1, 6)) > 0
    assert int(city["overdue_deferrals"]) > 0 and int(city["auto_escalations"]) > 0

    parsed = list(csv.DictReader(io.StringIO(run(settings, "--unit", CITY, *PERIOD, "--format", "csv"))))
    assert [r["unit"] + (":own" if r["line"] == "own" else "") for r in parsed] == list(table)
    for row in parsed:
        key = row["unit"] + (":own" if row["line"] == "own" else "")
        assert {c: row[c] for c in COLUMNS} == table[key], key
        assert (row["period_from"], row["period_to"]) == ("2026-03-01", "2026-06-01")
        items = sum(int(v) for k, v in row.items() if k.startswith("item:"))
        assert items == int(row["cases"])

    drilled = md_rows(run(settings, "--unit", COUNTY, *PERIOD))
    assert drilled[COUNTY] == {**county, "line": "total"}  # a child of the city, the total when drilled into
    # Project issues are taken at the county itself: they are its own line, and the towns
    # plus that line make the county.
    towns = sum(int(r["cases"]) for code, r in drilled.items() if code not in (COUNTY, f"{COUNTY}:own"))
    assert int(drilled[f"{COUNTY}:own"]["cases"]) == int(county["kind_project_issue"])
    assert towns + int(county["kind_project_issue"]) == int(county["cases"])

    out = tmp_path / "report.xlsx"
    run(settings, "--unit", CITY, *PERIOD, "--format", "xlsx", "--output", str(out))
    sheet = load_workbook(out)["summary"]
    keys = {column_label(c): c for c in COLUMNS}
    header = [keys.get(str(c.value), c.value) for c in sheet[1]]
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


#: Figures that are counts: for these a total is its own line plus its children.
ADDITIVE = (
    "cases", "open", "overdue_open", "resolved", "on_time", "claims", "returns", "escalations", "auto_escalations",
    "escalated_cases", "reopened", "reviews", "reviews_fixed", "with_deferrals", "overdue_deferrals",
    "held_resolved", "held_on_time", "estimated_due_open",
)  # fmt: skip
TALLIES = ("by_status", "by_kind", "by_item", "ratings", "first_ratings")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_county_is_children_plus_own_line_and_files_name_unit_and_period(settings: Settings) -> None:
    assert seed(settings) == N
    with TestClient(app=create_app(settings)) as client:
        token = client.post("/api/v1/auth/token", json={"username": f"lead{COUNTY}", "password": "demo"}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        params = {"unit": COUNTY, "from": "2026-03-01", "to": "2026-06-01"}
        report = client.get("/api/v1/reports/summary", params=params, headers=auth).json()
        total, children, own = report["rows"][0], report["rows"][1:], report["own"]
        assert (total["line"], own["line"], {c["line"] for c in children}) == ("total", "own", {"child"})
        assert own["cases"] > 0 and total["held_resolved"] > 0 and total["claims"] > 0
        for figure in ADDITIVE:
            assert total[figure] == own[figure] + sum(c[figure] for c in children), figure
        for tally in TALLIES:
            keys = set(total[tally]) | set(own[tally])
            for key in keys:
                parts = own[tally].get(key, 0) + sum(c[tally].get(key, 0) for c in children)
                assert total[tally].get(key, 0) == parts, (tally, key)
        # The first rating stays beside the final one: every bad rating that opened a review is kept.
        assert sum(total["first_ratings"][n] for n in ("1", "2")) >= total["reviews"] > 0
        agents = report["agents"]
        assert agents and sum(a["claims"] for a in agents) >= total["claims"]
        assert sum(a["resolved"] for a in agents) == total["held_resolved"]

        by_format = client.get("/api/v1/reports/summary", params={**params, "format": "csv"}, headers=auth)
        by_accept = client.get("/api/v1/reports/summary", params=params, headers={**auth, "Accept": "text/csv"})
        for r in (by_format, by_accept):
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            assert "report-640502-2026-03-01_2026-06-01.csv" in r.headers["content-disposition"]
            rows = list(csv.DictReader(io.StringIO(r.text)))
            assert [(x["unit"], x["line"]) for x in rows][:2] == [(COUNTY, "total"), (COUNTY, "own")]
            assert {(x["period_from"], x["period_to"]) for x in rows} == {("2026-03-01", "2026-06-01")}
            assert int(rows[0]["cases"]) == total["cases"] and int(rows[1]["cases"]) == own["cases"]

        r = client.get("/api/v1/reports/summary", params=params, headers={**auth, "Accept": XLSX})
        assert r.status_code == 200 and r.headers["content-type"] == XLSX
        assert "report-640502-2026-03-01_2026-06-01.xlsx" in r.headers["content-disposition"]
        book = load_workbook(io.BytesIO(r.content))
        about = {k: v for k, v in book["report"].iter_rows(values_only=True)}
        assert (about["unit"], about["period_from"], about["period_to"]) == (COUNTY, "2026-03-01", "2026-06-01")
        assert "2026-03-01" in (book.properties.title or "") and COUNTY in (book.properties.title or "")
        summary = list(book["summary"].iter_rows(values_only=True))
        assert summary[1][:2] == (COUNTY, "total") and summary[2][:2] == (COUNTY, "own")
        bad = client.get("/api/v1/reports/summary", params={**params, "format": "pdf"}, headers=auth)
        assert bad.status_code == 400
