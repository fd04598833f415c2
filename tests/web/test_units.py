"""The pieces behind the pages, without a browser: the form written as a FHIR search, the readable diff, the
JSON browser's links and escaping, the study view, and the eligibility adapter's input and report reading."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from fhirtrial.web import eligibility as check
from fhirtrial.web.browser import link_for, render
from fhirtrial.web.finder import fhir_search, form_pairs, read_form
from fhirtrial.web.records import paragraphs
from fhirtrial.web.study import eligibility
from fhirtrial.web.versions import changes, path_words

ROOT = Path(__file__).resolve().parents[2]


def test_the_form_is_the_fhir_search_it_stands_for() -> None:
    c = read_form([("q", "stem cells"), ("condition", "anemia, aplastic"), ("status", "RECRUITING"),
                   ("status", "NOT_YET_RECRUITING"), ("status", "BOGUS"), ("phase", "PHASE2"), ("type", "INTERVENTIONAL"),
                   ("age", "40"), ("sex", "female"), ("healthy", "yes"), ("location", "20892"), ("radius", "25"),
                   ("unit", "km"), ("sort", "distance")])
    assert c.problems == []
    assert fhir_search(c) == [
        ("_content", "stem cells"), ("condition:text", "anemia\\, aplastic"),
        ("recruitment", "RECRUITING,NOT_YET_RECRUITING"), ("phase", "PHASE2"), ("study-design", "INTERVENTIONAL"),
        ("eligible-age", "40"), ("eligible-sex", "female"), ("healthy-volunteers", "true"),
        ("site.near", "39.0024|-77.1034|25|km"), ("_sort", "near"), ("_count", "10"), ("_total", "accurate")]
    assert ("cursor", "abc") in form_pairs(c, cursor="abc")


def test_form_problems_are_messages_not_errors() -> None:
    c = read_form([("age", "forty"), ("radius", "-3"), ("location", "99999"), ("sort", "relevance")])
    fields = {p.field for p in c.problems}
    assert fields == {"age", "radius", "location", "sort"}
    assert "99999 is not a known US ZIP code" in c.problem("location")
    assert read_form([("sort", "distance")]).problem("sort").startswith("Sorting by distance needs a location")


def test_changes_between_versions_in_words() -> None:
    older = {"resourceType": "ResearchStudy", "meta": {"versionId": "1"}, "title": "Old",
             "site": [{"reference": "Location/a"}], "status": "active"}
    newer = {"resourceType": "ResearchStudy", "meta": {"versionId": "2"}, "title": "New",
             "site": [{"reference": "Location/a"}, {"reference": "Location/b"}]}
    assert changes(older, newer) == [
        {"kind": "added", "path": "site[1]", "from": "", "before": "", "after": '{"reference":"Location/b"}'},
        {"kind": "removed", "path": "status", "from": "", "before": "active", "after": ""},
        {"kind": "changed", "path": "title", "from": "", "before": "Old", "after": "New"}]
    assert path_words("/a~1b/0/c") == "a/b[0].c"


def test_the_json_browser_links_references_and_escapes_text() -> None:
    html = str(render({"subject": {"reference": "Group/g-1"}, "note": "<script>x</script>",
                       "other": {"reference": "urn:uuid:1"}, "n": 3, "ok": True, "<k>": None}))
    assert '<a href="/browse/Group/g-1">&#34;Group/g-1&#34;</a>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "urn:uuid:1" in html and 'href="urn' not in html
    assert "&lt;k&gt;" in html
    assert link_for("http://elsewhere.example/fhir/Patient/1") == "/browse/Patient/1"
    assert link_for("Unknown/1") is None and link_for("Group/../../x") is None


def test_eligibility_of_the_seed_study() -> None:
    bundle = json.loads((ROOT / "fhirtrial" / "examples" / "NCT01297972.expected.json").read_text())
    group = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Group")
    view = eligibility(group)
    assert (view["ages"], view["sexes"], view["healthy"], view["quantity"]) == ("18 years to 65 years", "All", False, 9)
    assert [i["text"] for i in view["inclusion"]][:1] == ["Diagnosis of Acquired Aplastic Anemia"]
    assert len(view["exclusion"]) == 9


def test_markdown_becomes_text_blocks() -> None:
    assert paragraphs("One\nline.\n\n* a\n* b \\<5\n\n1. c") == [
        {"bullets": [], "text": "One line."}, {"bullets": ["a", "b <5"], "text": ""}, {"bullets": ["c"], "text": ""}]


def test_the_patient_form_becomes_a_bundle_and_match_parameters() -> None:
    p = check.read_patient({"age": "40", "sex": "female", "conditions": "Aplastic anemia\n\nHypertension",
                            "hemoglobin": "8.5", "ecog": "1", "complete": "yes"})
    assert p.problems == []
    bundle = check.patient_bundle(p, date(2024, 2, 29))
    resources = [e["resource"] for e in bundle["entry"]]
    assert resources[0] == {"resourceType": "Patient", "gender": "female", "birthDate": "1984-02-29"}
    assert [r["code"]["text"] for r in resources if r["resourceType"] == "Condition"] == ["Aplastic anemia",
                                                                                         "Hypertension"]
    labs = {r["code"]["coding"][0]["code"]: r.get("valueQuantity", r.get("valueInteger"))
            for r in resources if r["resourceType"] == "Observation"}
    assert labs == {"718-7": {"value": 8.5, "unit": "g/dL", "system": "http://unitsofmeasure.org", "code": "g/dL"},
                    "89247-1": 1}
    params = check.parameters(bundle, study="NCT01297972", record_complete=True)
    assert [x["name"] for x in params["parameter"]] == ["patient", "study", "includeIneligible", "recordComplete"]
    search = check.parameters(bundle, search=[("condition:text", "anemia"), ("site.near", "1|2|3|mi"),
                                              ("_count", "10"), ("eligible-age", "4")])
    assert [(x["name"], x.get("valueString", x.get("valueInteger"))) for x in search["parameter"][1:4]] == [
        ("condition", "anemia"), ("near", "1|2|3|mi"), ("count", 10)]
    bad = check.read_patient({"age": "", "sex": "", "hemoglobin": "-1"})
    assert {f for f, _ in bad.problems} == {"age", "sex", "hemoglobin"}


def test_match_reports_are_read_criterion_by_criterion() -> None:
    ext = "https://fhirtrial.org/fhir/StructureDefinition/match-report"
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{
        "resource": {"resourceType": "ResearchStudy", "id": "S1", "title": "A study"},
        "search": {"mode": "match", "score": 0.5, "extension": [{"url": ext, "extension": [
            {"url": "verdict", "valueCode": "possibly-eligible"},
            {"url": "criterion", "extension": [{"url": "verdict", "valueCode": "not-met"},
                                               {"url": "kind", "valueCode": "inclusion"},
                                               {"url": "text", "valueString": "Hemoglobin >= 10 g/dL"},
                                               {"url": "reason", "valueString": "8.5 g/dL is below 10 g/dL"},
                                               {"url": "evidence", "valueReference": {"reference": "Observation/o1"}}]},
            {"url": "criterion", "extension": [{"url": "verdict", "valueCode": "unknown"}]}]}]}}]}
    [report] = check.read_reports(bundle)
    assert (report["id"], report["overall"], report["score"]) == ("S1", "Possibly eligible", 0.5)
    first, second = report["criteria"]
    assert (first["words"], first["mark"], first["evidence"]) == ("Not met", "✗", ["Observation/o1"])
    assert second["words"] == "Unknown: no data"
