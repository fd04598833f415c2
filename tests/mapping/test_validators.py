"""Every resource the mapping emits validates with fhir.resources (R4B) and both Node validators."""
from __future__ import annotations

import importlib
from typing import Any

import pytest

from fhirtrial.mapping import map_study
from tests.support.validators import node_available, validate_with_node

from tests.support.shared_data import ctgov_records

from .conftest import EXAMPLES, load


def all_resources() -> list[dict[str, Any]]:
    """The seed study, the real records of ../shared/data/ctgov (skips when absent) and two odd records."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    records = ctgov_records() + [load(EXAMPLES / "NCT01297972.json")]
    records.append({"protocolSection": {"identificationModule": {"nctId": "NCT00000002"}}})
    records.append({"protocolSection": {"identificationModule": {"nctId": "NCT00000003"},
                                        "statusModule": {"overallStatus": "PAUSED"},
                                        "designModule": {"phases": ["PHASE9"]},
                                        "eligibilityModule": {"eligibilityCriteria": "just text", "sex": "FEMALE",
                                                              "minimumAge": "6 Months"}}})
    for record in records:
        for res in map_study(record).resources:
            out[(res["resourceType"], res["id"])] = res
    return list(out.values())


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    return all_resources()


def test_fhir_resources_r4b_models(resources: list[dict[str, Any]]) -> None:
    for res in resources:
        module = importlib.import_module(f"fhir.resources.R4B.{res['resourceType'].lower()}")
        getattr(module, res["resourceType"]).model_validate(res)


@pytest.mark.skipif(not node_available(), reason="run `npm ci` to install the Node validators")
def test_node_validators(resources: list[dict[str, Any]]) -> None:
    verdicts = validate_with_node(resources)
    failures = [(r["resourceType"], r["id"], v.medplum, v.fhir) for r, v in zip(resources, verdicts) if not v.ok]
    assert failures == []
    assert len(verdicts) == len(resources) > 600
