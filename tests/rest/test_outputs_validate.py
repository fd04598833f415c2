"""Every kind of response body passes the independent validators: https://hl7.org/fhir/R4/validation.html."""
from __future__ import annotations

import httpx

from ..support.validators import validate_with_node
from .conftest import AUTH, JSON_HEADERS, organization, study


async def test_responses_pass_node_validators(client: httpx.AsyncClient) -> None:
    bodies = []
    r = await client.post("Organization", json=organization(), headers=JSON_HEADERS)
    bodies.append(r.json())
    await client.put("ResearchStudy/v", json=study("v"), headers=JSON_HEADERS)
    await client.put("ResearchStudy/v", json=study("v", title="2"), headers=JSON_HEADERS)
    await client.delete("ResearchStudy/v", headers=AUTH)
    bodies.append((await client.get("_history", headers=AUTH)).json())
    bodies.append((await client.get("ResearchStudy/v")).json())  # 410 OperationOutcome
    tx = {"resourceType": "Bundle", "type": "transaction",
          "entry": [{"request": {"method": "POST", "url": "Organization"}, "resource": organization("T")}]}
    bodies.append((await client.post("", json=tx, headers=JSON_HEADERS)).json())
    bodies.append((await client.post("ResearchStudy", content=b"{", headers=JSON_HEADERS)).json())
    verdicts = validate_with_node(bodies)
    for body, verdict in zip(bodies, verdicts):
        assert verdict.ok, (body["resourceType"], verdict)
