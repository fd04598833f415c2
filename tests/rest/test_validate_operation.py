"""$validate at type and instance level, https://hl7.org/fhir/R4/resource-operation-validate.html."""
from __future__ import annotations

from typing import Any, AsyncIterator

import httpx
import pytest

from fhirtrial.config import Settings
from fhirtrial.errors import NotFound
from fhirtrial.rest import edge
from fhirtrial.rest.app import create_app
from fhirtrial.rest.operations import validate as operation

from .conftest import BASE, JSON_HEADERS, assert_outcome, study

NO_AUTH = {"Content-Type": "application/fhir+json"}
BAD = {"resourceType": "ResearchStudy", "status": "bogus", "period": {"start": "2021-02-01", "end": "2021-01-01"}}


def _with_operation(app: Any) -> Any:
    """The app with the $validate router, ahead of the generic routes (as app.py wires it)."""
    if not any("$validate" in getattr(r, "path", "") for r in app.router.routes):
        before = list(app.router.routes)
        app.include_router(operation.router, prefix=app.state.settings.base_path.rstrip("/"))
        added = [r for r in app.router.routes if r not in before]
        app.router.routes[:] = added + before
    return app


@pytest.fixture
async def vclient(settings: Settings, repo: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = _with_operation(create_app(settings, repo))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE + "/") as c:
        yield c


def _issues(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"]


async def test_type_level_reports_every_problem_without_auth(vclient: httpx.AsyncClient) -> None:
    issues = _issues(await vclient.post("ResearchStudy/$validate", json=BAD, headers=NO_AUTH))
    assert {(i["severity"], i["code"], i["expression"][0]) for i in issues} == {
        ("error", "code-invalid", "ResearchStudy.status"), ("error", "invariant", "ResearchStudy.period")}
    assert all(i["diagnostics"] for i in issues)


async def test_valid_resource_is_all_ok(vclient: httpx.AsyncClient) -> None:
    issues = _issues(await vclient.post("ResearchStudy/$validate", json=study(), headers=NO_AUTH))
    assert issues == [{"severity": "information", "code": "informational", "diagnostics": "All OK"}]


async def test_parameters_body_with_mode_and_profile(vclient: httpx.AsyncClient) -> None:
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": study()}, {"name": "mode", "valueCode": "update"},
        {"name": "profile", "valueUri": "http://example.org/StructureDefinition/x"}]}
    issues = _issues(await vclient.post("ResearchStudy/$validate", json=params, headers=NO_AUTH))
    assert {i["code"] for i in issues} == {"required", "not-supported"}


async def test_instance_level_update_checks_the_id(vclient: httpx.AsyncClient) -> None:
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": study("other")}, {"name": "mode", "valueCode": "update"}]}
    issues = _issues(await vclient.post("ResearchStudy/s1/$validate", json=params, headers=NO_AUTH))
    assert [i["expression"] for i in issues] == [["ResearchStudy.id"]]


async def test_delete_mode_needs_an_existing_instance(vclient: httpx.AsyncClient) -> None:
    assert (await vclient.put("ResearchStudy/s1", json=study("s1"), headers=JSON_HEADERS)).status_code == 201
    ok = await vclient.post("ResearchStudy/s1/$validate?mode=delete", headers=NO_AUTH)
    assert _issues(ok)[0]["diagnostics"] == "All OK"
    missing = await vclient.post("ResearchStudy/nope/$validate", json={"resourceType": "Parameters", "parameter": [
        {"name": "mode", "valueCode": "delete"}]}, headers=NO_AUTH)
    assert_outcome(missing, 404, "not-found")


async def test_unknown_type_is_404(vclient: httpx.AsyncClient) -> None:
    assert_outcome(await vclient.post("Foo/$validate", json={"resourceType": "Foo"}, headers=NO_AUTH), 404,
                   "not-found")


async def test_body_not_json_is_400(vclient: httpx.AsyncClient) -> None:
    assert_outcome(await vclient.post("ResearchStudy/$validate", content=b"{nope", headers=NO_AUTH), 400, "invalid")
    assert_outcome(await vclient.post("ResearchStudy/$validate", content=b"[]", headers=NO_AUTH), 400, "invalid")
    assert_outcome(await vclient.post("ResearchStudy/$validate", content=b"", headers=NO_AUTH), 400, "invalid")


async def test_bad_mode_and_type_mismatch(vclient: httpx.AsyncClient) -> None:
    assert_outcome(await vclient.post("ResearchStudy/$validate?mode=patch", json=study(), headers=NO_AUTH), 400,
                   "invalid", "mode")
    issues = _issues(await vclient.post("Group/$validate", json=study(), headers=NO_AUTH))
    assert any(i["code"] == "invalid" and "does not match" in i["diagnostics"] for i in issues)


# The router alone, with a stand-in repository: no database needed.
class _StandInRepo:
    def read(self, resource_type: str, resource_id: str) -> None:
        if resource_id != "here":
            raise NotFound(f"{resource_type}/{resource_id} is not known")


@pytest.fixture
async def bare() -> AsyncIterator[httpx.AsyncClient]:
    from fastapi import FastAPI

    app = FastAPI()
    edge.install(app)
    app.state.settings = Settings()
    app.state.repo = _StandInRepo()
    app.include_router(operation.router, prefix="/fhir")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url=BASE + "/") as c:
        yield c


async def test_router_alone(bare: httpx.AsyncClient) -> None:
    issues = _issues(await bare.post("Group/$validate", json={"resourceType": "Group", "type": "x", "actual": True}))
    assert [i["expression"] for i in issues] == [["Group.type"]]
    assert _issues(await bare.post("Group/here/$validate?mode=delete"))[0]["diagnostics"] == "All OK"
    assert_outcome(await bare.post("Group/gone/$validate?mode=delete"), 404, "not-found")
    assert_outcome(await bare.post("Group/$validate?mode=delete"), 400, "invalid")
    r = await bare.post("Group/$validate?_pretty=true", json={"resourceType": "Group", "type": "person",
                                                            "actual": True})
    assert b"\n" in r.content
    assert_outcome(await bare.post("Group/$validate", content=b"Group",
                                   headers={"Content-Type": "text/plain"}), 415)
    # XML bodies are validated like JSON ones.
    xml = (b'<Group xmlns="http://hl7.org/fhir"><type value="persons"/><actual value="true"/></Group>')
    issues = _issues(await bare.post("Group/$validate", content=xml, headers={"Content-Type": "application/fhir+xml"}))
    assert [i["expression"] for i in issues] == [["Group.type"]]
