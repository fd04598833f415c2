"""Bad input: a MappingError naming the study and the field, or valid output with warnings; never a crash."""
from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from fhirtrial.errors import UnprocessableEntity
from fhirtrial.mapping import MappingError, map_study

from .conftest import EXAMPLES, load

SEED = load(EXAMPLES / "NCT01297972.json")


def seed(**changes: Any) -> dict[str, Any]:
    """The seed record with ``module.field`` paths replaced."""
    record = copy.deepcopy(SEED)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = record["protocolSection"]
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return record


@pytest.mark.parametrize(("record", "field"), [
    ([1, 2], "(root)"),
    ("a string", "(root)"),
    ({"studies": []}, "protocolSection"),
    ({"protocolSection": []}, "protocolSection"),
    ({"protocolSection": {"statusModule": {}}}, "protocolSection.identificationModule"),
    ({"protocolSection": {"identificationModule": {"briefTitle": "x"}}}, "protocolSection.identificationModule.nctId"),
    ({"protocolSection": {"identificationModule": {"nctId": "12345"}}}, "protocolSection.identificationModule.nctId"),
])
def test_not_a_study(record: Any, field: str) -> None:
    with pytest.raises(MappingError) as info:
        map_study(record)
    assert info.value.field == field
    assert field in str(info.value)
    assert isinstance(info.value, UnprocessableEntity) and info.value.status == 422
    assert info.value.outcome()["issue"][0]["expression"] == [field]


@pytest.mark.parametrize(("change", "field"), [
    ({"identificationModule__briefTitle": 42}, "protocolSection.identificationModule.briefTitle"),
    ({"statusModule": "COMPLETED"}, "protocolSection.statusModule"),
    ({"designModule__phases": "PHASE1"}, "protocolSection.designModule.phases"),
    ({"designModule__enrollmentInfo__count": "nine"}, "protocolSection.designModule.enrollmentInfo.count"),
    ({"designModule__enrollmentInfo__count": True}, "protocolSection.designModule.enrollmentInfo.count"),
    ({"eligibilityModule__healthyVolunteers": "no"}, "protocolSection.eligibilityModule.healthyVolunteers"),
    ({"armsInterventionsModule__interventions": [["x"]]}, "protocolSection.armsInterventionsModule.interventions"),
    ({"conditionsModule__conditions": [1]}, "protocolSection.conditionsModule.conditions"),
    ({"eligibilityModule__eligibilityCriteria": "Inclusion Criteria:\n* x\n" * 40000},
     "protocolSection.eligibilityModule.eligibilityCriteria"),
])
def test_wrong_types_name_study_and_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(MappingError) as info:
        map_study(seed(**change))
    assert info.value.nct_id == "NCT01297972"
    assert "NCT01297972" in str(info.value) and field in str(info.value)


def test_unknown_enum_values_are_text_with_warnings() -> None:
    mapped = map_study(seed(statusModule__overallStatus="PAUSED", designModule__phases=["PHASE9"],
                            designModule__studyType="REGISTRY", eligibilityModule__sex="EVERYONE",
                            armsInterventionsModule__interventions=[{"type": "MAGIC", "name": "Wand"}]))
    rs, plan = mapped.resources[0], mapped.resources[1]
    assert rs["status"] == "active"
    assert rs["phase"] == {"text": "PHASE9"}
    assert {"text": "Study type: REGISTRY"} in rs["category"]
    assert plan["action"][0]["code"] == [{"text": "MAGIC"}]
    assert len(mapped.warnings) >= 5 and all(w.startswith("NCT01297972: protocolSection.") for w in mapped.warnings)
    assert any("overallStatus" in w and "PAUSED" in w for w in mapped.warnings)


def test_partial_record_identification_only() -> None:
    mapped = map_study({"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "T"}}})
    assert [r["resourceType"] for r in mapped.resources] == ["ResearchStudy"]
    assert mapped.resources[0]["status"] == "active"
    assert mapped.resources[0]["title"] == "T"


def test_odd_unicode_and_controls() -> None:
    mapped = map_study(seed(identificationModule__briefTitle="Caf\u0065\u0301 \x00trial \ud800 \u202e\U0001F600",
                            conditionsModule__conditions=["  ", "Ané\u200bmia"]))
    rs = mapped.resources[0]
    assert rs["title"] == "Caf\u00e9  trial \ufffd \u202e\U0001F600"  # NFC; NUL and lone surrogate replaced
    assert [c["text"] for c in rs["condition"]] == ["Ané\u200bmia"]  # blank entries dropped
    assert any("control characters" in w for w in mapped.warnings)
    orjson.dumps(mapped.bundle())  # encodable


def test_unreadable_dates_and_ages_warn() -> None:
    mapped = map_study(seed(statusModule__startDateStruct={"date": "March 2011", "type": "ACTUAL"},
                            eligibilityModule__minimumAge="eighteen", eligibilityModule__maximumAge="6 Fortnights"))
    rs, group = mapped.resources[0], mapped.resources[2]
    assert "period" not in rs
    assert group["characteristic"][0]["code"]["text"] == "Sex"  # no age characteristic: both limits unreadable
    assert sum("not understood" in w for w in mapped.warnings) == 2
    assert any("startDateStruct.date" in w for w in mapped.warnings)


def test_unknown_fields_are_warned_not_fatal() -> None:
    mapped = map_study(seed(designModule__newField=1))
    assert mapped.warnings == ["NCT01297972: protocolSection.designModule.newField: unknown field ignored"]


def test_status_unknown_uses_last_known_status() -> None:
    mapped = map_study(seed(statusModule={"overallStatus": "UNKNOWN", "lastKnownStatus": "ACTIVE_NOT_RECRUITING"}))
    assert mapped.resources[0]["status"] == "closed-to-accrual"
