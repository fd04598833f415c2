"""Every real registry record maps; facts computed from the source record are checked against the output."""
from __future__ import annotations

import re
from typing import Any

import orjson

from fhirtrial.canonical import EXTENSION_BASE
from fhirtrial.mapping import map_study
from fhirtrial.resources import ID_PATTERN

# The mapping this project documents in mappings/README.md, restated here as the specification under test.
EXPECTED_STATUS = {
    "COMPLETED": "completed", "WITHDRAWN": "withdrawn", "ACTIVE_NOT_RECRUITING": "closed-to-accrual",
    "NOT_YET_RECRUITING": "approved", "RECRUITING": "active", "TERMINATED": "administratively-completed",
}
UCUM = {"Years": "a", "Months": "mo", "Weeks": "wk", "Days": "d", "Hours": "h", "Minutes": "min"}


def ps(record: dict[str, Any], module: str) -> dict[str, Any]:
    return record["protocolSection"].get(module, {})


def by_type(resources: list[dict[str, Any]], rtype: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["resourceType"] == rtype]


def count_criteria(text: str) -> tuple[int, int]:
    """A deliberately simple, independent count: top-level list lines and standalone paragraphs per section."""
    counts = {None: 0, False: 0, True: 0}
    section: bool | None = None
    previous_blank = True
    for line in text.split("\n"):
        if not line.strip():
            previous_blank = True
            continue
        low = line.strip().lower()
        if re.fullmatch(r"(key )?(inclusion|exclusion|eligibility) criteria:", low):
            section = low.startswith("exclusion") or low.startswith("key exclusion")
            previous_blank = True
            continue
        top_item = re.match(r"^(\* |\d+\. )", line) is not None
        paragraph = previous_blank and not line.startswith(" ") and re.search(r"\w", line) and not low.endswith(":")
        note = "listed above" in low or "not all inclusion" in low  # registry boilerplate, not a criterion
        if top_item or (paragraph and not note and not re.match(r"^\s*(\*|\d+\.) ", line)):
            counts[section] += 1
        previous_blank = False
    return counts[False] + counts[None], counts[True]


def test_identity_status_and_phase(real_record: dict[str, Any]) -> None:
    mapped = map_study(real_record)
    rs = mapped.resources[0]
    nct = ps(real_record, "identificationModule")["nctId"]
    assert (rs["resourceType"], rs["id"], mapped.nct_id) == ("ResearchStudy", nct, nct)
    assert rs["identifier"][0] == {"use": "official", "system": "https://clinicaltrials.gov", "value": nct}
    ident = ps(real_record, "identificationModule")
    assert len(rs["identifier"]) == 1 + bool(ident.get("orgStudyIdInfo")) + len(ident.get("secondaryIdInfos", []))
    assert rs.get("title") == ident.get("briefTitle")
    status = ps(real_record, "statusModule")
    overall = status.get("overallStatus")
    if overall is None:
        assert rs["status"] == "active"  # the documented default
    elif overall == "UNKNOWN":
        assert rs["status"] == EXPECTED_STATUS.get(status.get("lastKnownStatus"), "active")
    else:
        assert rs["status"] == EXPECTED_STATUS[overall]
    phases = ps(real_record, "designModule").get("phases", [])
    if phases:
        codes = [c["code"] for c in rs["phase"]["coding"] if "ctgov-phase" in c["system"]]
        assert codes == phases
        hl7 = [c["code"] for c in rs["phase"]["coding"] if c["system"].endswith("research-study-phase")]
        assert len(hl7) == 1
    else:
        assert "phase" not in rs
    for r in mapped.resources:
        assert ID_PATTERN.match(r["id"]), r["id"]


def test_conditions_keywords_sponsor(real_record: dict[str, Any]) -> None:
    rs = map_study(real_record).resources[0]
    conditions = ps(real_record, "conditionsModule").get("conditions", [])
    assert [c["text"] for c in rs.get("condition", [])][: len(conditions)] == conditions
    meshes = real_record.get("derivedSection", {}).get("conditionBrowseModule", {}).get("meshes", [])
    coded = [c["code"] for cc in rs.get("condition", []) for c in cc.get("coding", [])]
    assert coded == [m["id"] for m in meshes] or sorted(coded) == sorted(m["id"] for m in meshes)
    assert [k["text"] for k in rs.get("keyword", [])] == ps(real_record, "conditionsModule").get("keywords", [])
    lead = ps(real_record, "sponsorCollaboratorsModule").get("leadSponsor")
    assert rs.get("sponsor", {}).get("display") == (lead or {}).get("name")
    collaborators = ps(real_record, "sponsorCollaboratorsModule").get("collaborators", [])
    assert sum(e["url"] == f"{EXTENSION_BASE}/collaborator" for e in rs.get("extension", [])) == len(collaborators)


def test_locations(real_record: dict[str, Any]) -> None:
    mapped = map_study(real_record)
    rs = mapped.resources[0]
    sites = ps(real_record, "contactsLocationsModule").get("locations", [])
    assert len(rs.get("site", [])) == len(sites)
    locations = {r["id"]: r for r in by_type(mapped.resources, "Location")}
    assert {s["reference"].split("/")[1] for s in rs.get("site", [])} == set(locations)
    for site, ref in zip(sites, rs.get("site", [])):
        loc = locations[ref["reference"].split("/")[1]]
        assert loc.get("name") == site.get("facility")
        assert loc["address"]["country"] == site["country"]
        if "geoPoint" in site:
            assert loc["position"] == {"longitude": site["geoPoint"]["lon"], "latitude": site["geoPoint"]["lat"]}
    countries = list(dict.fromkeys(s["country"] for s in sites))
    assert [c["text"] for c in rs.get("location", [])] == countries
    # each site's status and contacts sit on the study's reference to that site, in record order
    for site, ref in zip(sites, rs.get("site", [])):
        exts = ref.get("extension", [])
        status = [e["valueCodeableConcept"]["coding"][0]["code"] for e in exts
                  if e["url"] == f"{EXTENSION_BASE}/site-status"]
        assert status == ([site["status"]] if "status" in site else [])
        contacts = [e["valueContactDetail"]["name"] for e in exts if e["url"] == f"{EXTENSION_BASE}/site-contact"]
        assert contacts == [c["name"] for c in site.get("contacts", []) if c.get("name")]
    assert not any(e["url"] == f"{EXTENSION_BASE}/site" for e in rs.get("extension", []))


def test_arms_and_interventions(real_record: dict[str, Any]) -> None:
    mapped = map_study(real_record)
    rs = mapped.resources[0]
    module = ps(real_record, "armsInterventionsModule")
    arms = module.get("armGroups", [])
    interventions = module.get("interventions", [])
    assert [a["name"] for a in rs.get("arm", [])] == [a["label"] for a in arms]
    assert [a.get("type", {}).get("coding", [{}])[0].get("code") for a in rs.get("arm", [])] == \
        [a.get("type") for a in arms]
    plans = by_type(mapped.resources, "PlanDefinition")
    if not module:
        assert not plans
        return
    plan = plans[0]
    assert plan["id"] == f"{rs['id']}-protocol"
    actions = {a["title"]: a for a in plan.get("action", [])}
    for arm in arms:
        nested = [n["title"] for n in actions[arm["label"]].get("action", [])]
        expected = [i["name"] for i in interventions if arm["label"] in i.get("armGroupLabels", [])]
        assert nested == expected
    unassigned = [i["name"] for i in interventions
                  if not any(a["label"] in i.get("armGroupLabels", []) for a in arms)]
    assert [t for t in actions if t not in {a["label"] for a in arms}] == unassigned
    assert [f["text"] for f in rs.get("focus", [])][: len(interventions)] == \
        list(dict.fromkeys(i["name"] for i in interventions))


def test_outcomes_and_references(real_record: dict[str, Any]) -> None:
    rs = map_study(real_record).resources[0]
    outcomes = ps(real_record, "outcomesModule")
    expected = [("primary", o["measure"]) for o in outcomes.get("primaryOutcomes", [])] + \
        [("secondary", o["measure"]) for o in outcomes.get("secondaryOutcomes", [])] + \
        [("exploratory", o["measure"]) for o in outcomes.get("otherOutcomes", [])]
    assert [(o["type"]["coding"][0]["code"], o["name"]) for o in rs.get("objective", [])] == expected
    refs = ps(real_record, "referencesModule")
    citations = [a for a in rs.get("relatedArtifact", []) if a["type"] == "citation"]
    assert len(citations) == len(refs.get("references", []))
    assert [a.get("label") for a in citations] == [f"PMID:{r['pmid']}" if "pmid" in r else None
                                                   for r in refs.get("references", [])]


def test_eligibility(real_record: dict[str, Any]) -> None:
    mapped = map_study(real_record)
    module = ps(real_record, "eligibilityModule")
    groups = by_type(mapped.resources, "Group")
    if not module:
        assert not groups
        return
    group = groups[0]
    assert (group["type"], group["actual"]) == ("person", False)
    assert group.get("quantity") == ps(real_record, "designModule").get("enrollmentInfo", {}).get("count")
    chars = group["characteristic"]
    age = [c for c in chars if c["code"].get("coding", [{}])[0].get("code") == "397669002"]
    for bound, key in (("low", "minimumAge"), ("high", "maximumAge")):
        if key in module and module[key] != "N/A":
            number, unit = module[key].split()
            assert age[0]["valueRange"][bound]["value"] == int(number)
            assert age[0]["valueRange"][bound]["code"] == UCUM[unit]
        elif age:
            assert bound not in age[0]["valueRange"]
    sex = [c for c in chars if c["code"].get("coding", [{}])[0].get("code") == "263495000"]
    assert sex[0]["valueCodeableConcept"]["coding"][-1]["code"] == module["sex"]
    healthy = [c for c in chars if c["code"].get("coding", [{}])[0].get("code") == "healthy-volunteer"]
    assert healthy[0]["exclude"] is (not module["healthyVolunteers"])
    std = [c["valueCodeableConcept"]["coding"][0]["code"] for c in chars
           if c["code"].get("coding", [{}])[0].get("code") == "std-age"]
    assert std == module.get("stdAges", [])
    criteria = [c for c in chars if any(e["url"].endswith("/criterion-coding") for e in c.get("extension", []))]
    inclusion, exclusion = count_criteria(module["eligibilityCriteria"])
    assert sum(not c["exclude"] for c in criteria) == inclusion
    assert sum(c["exclude"] for c in criteria) == exclusion
    kept = [e["valueMarkdown"] for e in group["extension"] if e["url"].endswith("/eligibility-criteria")]
    assert kept == [module["eligibilityCriteria"].strip()]


def test_idempotent_byte_identical(real_record: dict[str, Any]) -> None:
    first = orjson.dumps(map_study(real_record).bundle())
    second = orjson.dumps(map_study(orjson.loads(orjson.dumps(real_record))).bundle())
    assert first == second
    bundle = orjson.loads(first)
    assert bundle["type"] == "transaction"
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    for entry in bundle["entry"]:
        res = entry["resource"]
        assert entry["request"] == {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"}


def test_shared_resources_have_content_ids() -> None:
    from tests.support.shared_data import ctgov_records

    seen: dict[tuple[str, str], bytes] = {}
    for record in ctgov_records():  # skips when ../shared/data/ctgov is absent
        for res in map_study(record).resources:
            if res["resourceType"] in ("Organization", "Location", "Practitioner"):
                key = (res["resourceType"], res["id"])
                body = orjson.dumps(res)
                assert seen.setdefault(key, body) == body  # one id, one content, across studies


def test_full_url_is_rfc4122_uuid5() -> None:
    import uuid

    from fhirtrial.canonical import CANONICAL_BASE
    from fhirtrial.mapping.ids import full_url

    namespace = uuid.uuid5(uuid.NAMESPACE_URL, CANONICAL_BASE)
    for name in ("ResearchStudy/NCT01297972", "Location/loc-0123", "Organization/org-é"):
        rtype, rid = name.split("/")
        assert full_url(rtype, rid) == f"urn:uuid:{uuid.uuid5(namespace, name)}"
