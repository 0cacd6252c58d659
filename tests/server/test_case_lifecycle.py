"""One case the whole way, and the history it leaves."""

from __future__ import annotations

from factories import Client, case_payload, headers, provide_all

VILLAGE = "640502100002"  # 向阳巷居委会, a community under 滨河镇
TOWN = "640502100"
COUNTY = "640502"
CITY = "640500"


async def act(client: Client, who: dict[str, str], case_id: str, action: str, **body: object) -> dict:
    r = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=who)
    assert r.status_code == 200, (action, r.status_code, r.text)
    return r.json()


async def test_village_to_city_and_back(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    town = await headers(client, f"a{TOWN}")
    county = await headers(client, f"a{COUNTY}")
    city = await headers(client, f"a{CITY}")
    dispatcher = await headers(client, "dispatcher")
    town2 = await headers(client, f"a{TOWN}-2")

    r = await client.post("/api/v1/cases", json=case_payload(), headers=villager)
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["id"]
    assert case["ref"].startswith("ZW-2026-") and case["status"] == "in_progress"
    assert case["owner_unit"] == VILLAGE

    await act(client, villager, cid, "escalate", reason="需要镇里协调")
    await act(client, town, cid, "claim")
    await act(client, town, cid, "escalate", reason="涉及县级部门")
    await act(client, county, cid, "claim")
    c = await act(client, county, cid, "escalate", reason="跨部门难点，报市专班")
    assert c["owner_unit"] == CITY and c["status"] == "queued" and c["escalations"] == 3
    c = await act(client, dispatcher, cid, "dispatch", unit=TOWN, reason="由镇便民服务中心办理")
    assert c["owner_unit"] == TOWN and c["status"] == "queued"
    await act(client, town, cid, "claim")
    c = await act(client, town, cid, "handover", agent=f"a{TOWN}-2", note="交给熟悉出生登记的同事")
    await provide_all(client, town2, cid)
    c = await act(client, town2, cid, "resolve", note="出生医学证明、户口登记、医保参保已办结")
    assert c["status"] == "resolved"
    c = await act(client, villager, cid, "confirm", rating=5, comment="很方便")
    assert c["status"] == "closed" and c["rating"] == 5

    hist = (await client.get(f"/api/v1/cases/{cid}/history", headers=villager)).json()
    assert [e["action"] for e in hist] == [
        "create", "escalate", "claim", "escalate", "claim", "escalate", "dispatch", "claim", "handover",
        "update", "resolve", "confirm",
    ]  # fmt: skip
    assert [e["version"] for e in hist] == list(range(1, 13))
    assert all(e["actor_id"] and e["actor_unit"] for e in hist)
    assert [e["actor_unit"] for e in hist][:3] == [VILLAGE, VILLAGE, TOWN]
    assert hist[-1]["after"]["status"] == "closed"
    # The city agent who never held it still sees it through its scope.
    assert (await client.get(f"/api/v1/cases/{cid}", headers=city)).status_code == 200


async def test_search_by_title_and_reference(client: Client) -> None:
    town = await headers(client, f"a{TOWN}")
    made = (
        await client.post("/api/v1/cases", json=case_payload(title="Opening a 100% Noodle_Shop"), headers=town)
    ).json()
    await client.post("/api/v1/cases", json=case_payload(title="another matter"), headers=town)
    for q in ("noodle", "100%", "_shop", made["ref"]):
        found = (await client.get("/api/v1/cases", params={"q": q}, headers=town)).json()["cases"]
        assert [c["id"] for c in found] == [made["id"]], q
