"""What the server emits for synthetic studies, and the Bundles it answers with, pass both independent
validators (@medplum/core and npm ``fhir``) and ours: https://hl7.org/fhir/R4/validation.html."""
from __future__ import annotations

from typing import Any

import httpx

from fhirtrial.config import Settings
from fhirtrial.ingest.synth import generate
from fhirtrial.loading import load_examples
from fhirtrial.mapping import map_study
from fhirtrial.rest.app import create_app
from fhirtrial.validation import validate

from ..support.validators import validate_with_node

SAMPLE = 40


def _synthetic_resources() -> list[dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for record in generate(SAMPLE, seed=20261125):
        for res in map_study(record).resources:
            out[(res["resourceType"], res["id"])] = res
    return list(out.values())


def test_synthetic_studies_pass_every_validator() -> None:
    resources = _synthetic_resources()
    assert len(resources) > SAMPLE * 3
    ours = {(r["resourceType"], r["id"]): [i for i in validate(r) if i.severity == "error"] for r in resources}
    assert not {k: v for k, v in ours.items() if v}
    verdicts = validate_with_node(resources)
    failed = [(r["resourceType"], r["id"], v) for r, v in zip(resources, verdicts) if not v.ok]
    assert not failed, failed[:5]


async def test_response_bundles_pass_node_validators(database_url: str, repo: Any) -> None:
    load_examples(repo, synthetic=20)
    app = create_app(Settings(database_url=database_url, api_token="t"), repo)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver/fhir/") as c:
        bodies = [
            (await c.get("ResearchStudy", params={"_include": "ResearchStudy:site", "_count": "3"})).json(),
            (await c.get("ResearchStudy", params={"status": "completed", "_revinclude": "*"})).json(),
            (await c.get("ResearchStudy/NCT01297972/$everything")).json(),
            (await c.get("Location", params={"unknown-param": "x"})).json(),
            (await c.get("Group", params={"_summary": "true"})).json(),
            (await c.get("ResearchStudy", params={"_elements": "title,status"})).json(),
            (await c.get("_history", params={"_count": "5"}, headers={"Authorization": "Bearer t"})).json(),
            (await c.get("metadata")).json(),
            (await c.get("ResearchStudy", params={"date": "not-a-date"})).json(),
        ]
    assert [b["resourceType"] for b in bodies[:7]] == ["Bundle"] * 7
    verdicts = validate_with_node(bodies)
    for body, verdict in zip(bodies, verdicts):
        assert verdict.ok, (body.get("type", body["resourceType"]), verdict)
