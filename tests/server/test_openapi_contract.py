"""The OpenAPI document is enough to generate a client: bearer scheme, operation ids,
problem-details errors with their codes, the push body, bounded text."""

from __future__ import annotations

from factories import Client

METHODS = ("get", "head", "post", "put", "patch", "delete")


async def test_document_is_complete(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token gives the token",
    }  # fmt: skip
    problem = {"$ref": "#/components/schemas/Problem"}
    assert set(doc["components"]["schemas"]["Problem"]["required"]) >= {"code", "status"}
    ops = [(path, method, op) for path, item in doc["paths"].items()
           for method, op in item.items() if method in METHODS]  # fmt: skip
    assert len(ops) > 40
    for path, method, op in ops:
        where = f"{method} {path}"
        assert op.get("operationId"), where
        for status in ("400", "404", "422", "500"):
            answer = op["responses"][status]
            assert "Codes:" in answer["description"], where
            if method != "head":
                assert answer["content"]["application/problem+json"]["schema"] == problem, where
        public = path.startswith(
            ("/api/v1/units", "/api/v1/items", "/health", "/ready", "/metrics", "/api/v1/auth/token", "/api/v1/ratings")
        )
        assert op["security"] == ([] if public else [{"bearer": []}]), where
    push = doc["paths"]["/api/v1/sync/push"]["post"]["requestBody"]["content"]
    assert push["application/json"]["schema"] == {"$ref": "#/components/schemas/PushRequest"}
    assert "application/msgpack" in push or any("msgpack" in media for media in push)
    assert doc["components"]["schemas"]["Operation"]["properties"]["seq"]["maximum"] == 2**63 - 1
    token = doc["paths"]["/api/v1/auth/token"]["post"]
    assert {"401", "429"} <= set(token["responses"])
    agent = doc["components"]["schemas"]["AgentCreate"]["properties"]
    assert agent["username"]["maxLength"] == 64
    assert "/api/v1/cases/{case_id}/{action}" not in doc["paths"]
    escalate = doc["paths"]["/api/v1/cases/{case_id}/escalate"]["post"]
    assert escalate["operationId"] == "escalateCase"
    args = doc["components"]["schemas"]["EscalateArgs"]
    assert args["required"] == ["reason"] and set(args["properties"]) == {"reason", "expected_version"}
    approve = doc["paths"]["/api/v1/cases/{case_id}/approve-extension"]["post"]
    assert approve["operationId"] == "approveExtensionCase"
    assert doc["components"]["schemas"]["ExtendArgs"]["required"] == ["reason", "days"]
