"""The seed study NCT01297972: the hand-checked expected Bundle, compared exactly."""
from __future__ import annotations

import orjson

from fhirtrial.mapping import map_study

from .conftest import EXAMPLES, load


def test_seed_bundle_matches_expected_exactly() -> None:
    mapped = map_study(load(EXAMPLES / "NCT01297972.json"))
    expected = (EXAMPLES / "NCT01297972.expected.json").read_bytes()
    assert orjson.dumps(mapped.bundle(), option=orjson.OPT_INDENT_2) + b"\n" == expected
    assert mapped.warnings == []


def test_seed_facts_from_the_registry_page() -> None:
    """Facts read off ../shared/seed/NCT01297972.txt by hand, independently of the expected file."""
    mapped = map_study(load(EXAMPLES / "NCT01297972.json"))
    rs, plan, group, org = mapped.resources
    assert rs["status"] == "completed"
    assert rs["phase"]["coding"][0]["code"] == "phase-1-phase-2"
    assert rs["primaryPurposeType"]["coding"][0]["code"] == "treatment"
    assert [i["value"] for i in rs["identifier"]] == ["NCT01297972", "CONEP 16119"]
    assert rs["condition"] == [{"text": "Aplastic Anemia"}]
    assert org["name"] == "University of Sao Paulo"
    assert group["quantity"] == 9
    age = group["characteristic"][0]["valueRange"]
    assert (age["low"]["value"], age["high"]["value"], age["low"]["code"]) == (18, 65, "a")
    criteria = [c for c in group["characteristic"]
                if any(e["url"].endswith("/criterion-coding") for e in c.get("extension", []))]
    assert sum(not c["exclude"] for c in criteria) == 3
    assert sum(c["exclude"] for c in criteria) == 9
    assert plan["action"][0]["title"] == "Intravenous bone marrow mesenchymal stem cells infusion"
    assert {c["text"] for c in rs["category"]} == {
        "Study type: Interventional", "Allocation: N/A", "Intervention model: Single Group Assignment",
        "Masking: None (Open Label)"}
