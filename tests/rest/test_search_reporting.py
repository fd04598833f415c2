"""A search never drops part of what it was asked silently: cut includes, unsupported result parameters and
modifiers, and codes outside a closed value set are reported (https://hl7.org/fhir/R4/search.html#errors)."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from fhirtrial.store.search import include

from .conftest import assert_outcome, study

STRICT = {"Prefer": "handling=strict"}


def _outcome(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = [e["resource"] for e in body.get("entry", []) if e["search"]["mode"] == "outcome"]
    return [issue for o in found for issue in o["issue"]]


def _chain(repo: Any, n: int) -> None:
    """Organizations o0 -> o1 -> ... (partOf), and a study sponsored by o0."""
    with repo.unit_of_work() as uow:
        for i in range(n):
            body: dict[str, Any] = {"resourceType": "Organization", "name": f"Org {i}"}
            if i + 1 < n:
                body["partOf"] = {"reference": f"Organization/o{i + 1}"}
            uow.update("Organization", f"o{i}", body)
        uow.update("ResearchStudy", "s1", study(sponsor={"reference": "Organization/o0"}))


async def test_iterate_cut_after_its_rounds_is_reported(client: httpx.AsyncClient, repo: Any) -> None:
    _chain(repo, include.MAX_ROUNDS + 3)
    r = await client.get("ResearchStudy", params={"_include": "ResearchStudy:sponsor",
                                                  "_include:iterate": "Organization:partof"})
    body = r.json()
    included = [e["resource"]["id"] for e in body["entry"] if e["search"]["mode"] == "include"]
    assert len(included) == include.MAX_ROUNDS
    issues = _outcome(body)
    assert len(issues) == 1 and issues[0]["code"] == "incomplete" and "rounds" in issues[0]["diagnostics"]
    # All of it fits: no report.
    _chain(repo, include.MAX_ROUNDS - 2)
    body = (await client.get("ResearchStudy", params={"_include": "ResearchStudy:sponsor",
                                                      "_include:iterate": "Organization:partof"})).json()
    assert _outcome(body) == []


async def test_include_cut_at_its_size_limit_is_reported(client: httpx.AsyncClient, repo: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(include, "MAX_INCLUDED", 4)
    with repo.unit_of_work() as uow:
        for i in range(6):
            uow.update("Location", f"l{i}", {"resourceType": "Location", "name": f"Site {i}"})
        uow.update("ResearchStudy", "s1", study(site=[{"reference": f"Location/l{i}"} for i in range(6)]))
    body = (await client.get("ResearchStudy", params={"_include": "ResearchStudy:site"})).json()
    assert len([e for e in body["entry"] if e["search"]["mode"] == "include"]) == 4
    issues = _outcome(body)
    assert len(issues) == 1 and "first 4 included" in issues[0]["diagnostics"]
    assert issues[0]["expression"] == ["_include"]


@pytest.mark.parametrize("name", ["_offset", "_page", "_contained"])
async def test_unsupported_result_parameters_are_reported_or_refused(client: httpx.AsyncClient, repo: Any,
                                                                     name: str) -> None:
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "s1", study())
    body = (await client.get("ResearchStudy", params={name: "2"})).json()
    issues = _outcome(body)
    assert len(issues) == 1 and issues[0]["expression"] == [name] and issues[0]["code"] == "not-supported"
    assert name not in next(link["url"] for link in body["link"] if link["relation"] == "self")
    assert_outcome(await client.get("ResearchStudy", params={name: "2"}, headers=STRICT), 400, mentions=name)


@pytest.mark.parametrize(("name", "value", "why"), [
    ("sponsor:type", "Organization", "sponsor:Organization"),
    ("status:above", "active", "terminology server"),
    ("phase:below", "phase-1", "terminology server"),
])
async def test_modifiers_that_would_be_dropped_are_refused(client: httpx.AsyncClient, name: str, value: str,
                                                           why: str) -> None:
    body = assert_outcome(await client.get("ResearchStudy", params={name: value}), 400, "invalid", name)
    assert why in body["issue"][0]["diagnostics"]


async def test_typed_reference_modifier_still_works(client: httpx.AsyncClient, repo: Any) -> None:
    _chain(repo, 1)
    body = (await client.get("ResearchStudy", params={"sponsor:Organization": "o0"})).json()
    assert [e["resource"]["id"] for e in body["entry"]] == ["s1"]


async def test_codes_outside_a_closed_value_set_are_reported(client: httpx.AsyncClient, repo: Any) -> None:
    recruiting = {"extension": [{"url": "https://fhirtrial.org/fhir/StructureDefinition/overall-status",
                                 "valueCoding": {"system": "https://fhirtrial.org/fhir/CodeSystem/ctgov-status",
                                                 "code": "RECRUITING"}}],
                  "phase": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/research-study-phase",
                                        "code": "phase-2"}]}}
    with repo.unit_of_work() as uow:
        uow.update("ResearchStudy", "s1", study(**recruiting))
    for params, mentions in [({"recruitment": "RECRUITNG"}, "did you mean 'RECRUITING'"),
                             ({"phase": "phase2"}, "'phase2'"), ({"status": "actve"}, "'actve'")]:
        body = (await client.get("ResearchStudy", params=params)).json()
        assert body["total"] == 0
        issues = _outcome(body)
        assert len(issues) == 1 and issues[0]["severity"] == "warning" and issues[0]["code"] == "code-invalid"
        assert mentions in issues[0]["diagnostics"] and issues[0]["expression"] == list(params)
        assert_outcome(await client.get("ResearchStudy", params=params, headers=STRICT), 400, "code-invalid",
                       mentions)
    for params in ({"recruitment": "RECRUITING"}, {"phase": "phase-2"}, {"status": "active"}):
        body = (await client.get("ResearchStudy", params=params, headers=STRICT)).json()
        assert [e["resource"]["id"] for e in body["entry"]] == ["s1"], params
        assert _outcome(body) == []
