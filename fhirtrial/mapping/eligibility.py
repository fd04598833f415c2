"""Eligibility as a descriptive Group with one characteristic per criterion, https://hl7.org/fhir/R4/group.html."""
from __future__ import annotations

from typing import Any

from .ages import age_quantity
from .codes import concept
from ..criteria.coder import code_criterion
from ..criteria.fhir import characteristic
from ..criteria.split import parse_criteria
from .extensions import table_extensions
from .record import Record

ELIG = "protocolSection.eligibilityModule"
ENROLL = "protocolSection.designModule.enrollmentInfo"
SNOMED = "http://snomed.info/sct"
AGE = {"coding": [{"system": SNOMED, "code": "397669002", "display": "Age"}], "text": "Age"}
GENDER = {"coding": [{"system": SNOMED, "code": "263495000", "display": "Gender"}], "text": "Sex"}
# CT.gov defines 20,000 characters for the criteria; far beyond that is not a registry record.
MAX_CRITERIA = 200_000


def _own(rec: Record, code: str, display: str) -> dict[str, Any]:
    """A characteristic code in fhirtrial's CT.gov eligibility code system (no standard code exists)."""
    system = rec.tables.enums["Sex"].system.rsplit("/", 1)[0] + "/ctgov-eligibility"
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _age(rec: Record, module: dict[str, Any]) -> dict[str, Any] | None:
    low = age_quantity(rec, rec.text(module.get("minimumAge"), f"{ELIG}.minimumAge"), f"{ELIG}.minimumAge")
    high = age_quantity(rec, rec.text(module.get("maximumAge"), f"{ELIG}.maximumAge"), f"{ELIG}.maximumAge")
    if low is None and high is None:
        return None  # open at both ends: no restriction to state
    rng: dict[str, Any] = {}
    if low is not None:
        rng["low"] = low
    if high is not None:
        rng["high"] = high
    return {"code": AGE, "valueRange": rng, "exclude": False}


def _sex(rec: Record, module: dict[str, Any]) -> dict[str, Any] | None:
    value = rec.text(module.get("sex"), f"{ELIG}.sex")
    if value is None:
        return None
    table = rec.tables.codes["sex"]
    return {"code": GENDER, "valueCodeableConcept": concept(rec, table.enum, value, f"{ELIG}.sex", table),
            "exclude": False}


def _criteria(rec: Record, text: str) -> list[dict[str, Any]]:
    out = []
    unparsed_url, group_url = rec.tables.ext("criterion-unparsed"), rec.tables.ext("criterion-group")
    unparsed = False
    for crit in parse_criteria(text):
        exts = []
        if not crit.parsed:
            unparsed = True
            exts.append({"url": unparsed_url, "valueBoolean": True})
        if crit.group is not None:
            exts.append({"url": group_url, "valueString": crit.group})
        out.append(characteristic(code_criterion(crit.text), crit.exclude, exts))
    if unparsed:
        rec.warn(f"{ELIG}.eligibilityCriteria", "no inclusion/exclusion headings: kept as one unparsed criterion")
    return out


def eligibility_group(rec: Record, gid: str, title: str | None, meta: dict[str, Any]) -> dict[str, Any] | None:
    module = rec.obj(rec.node(ELIG), ELIG)
    enroll = rec.obj(rec.node(ENROLL), ENROLL)
    if module is None and enroll is None:
        return None
    res: dict[str, Any] = {"resourceType": "Group", "id": gid, **meta}
    exts = table_extensions(rec, "Group")
    if exts:
        res["extension"] = exts
    res.update({"active": True, "type": "person", "actual": False})
    if title is not None:
        res["name"] = f"Eligibility: {title}"
    if enroll is not None:
        count = rec.integer(enroll.get("count"), f"{ENROLL}.count")
        if count is not None:
            res["quantity"] = count
    chars: list[dict[str, Any]] = []
    if module is not None:
        for built in (_age(rec, module), _sex(rec, module)):
            if built is not None:
                chars.append(built)
        healthy = rec.boolean(module.get("healthyVolunteers"), f"{ELIG}.healthyVolunteers")
        if healthy is not None:
            # "Healthy volunteer: true", excluded when the study does not accept them (a false value would say
            # the same thing less directly, and some validators misread valueBoolean false as absent).
            chars.append({"code": _own(rec, "healthy-volunteer", "Healthy volunteer"),
                          "valueBoolean": True, "exclude": not healthy})
        enum = rec.tables.enums["StandardAge"]
        for std in rec.texts(module.get("stdAges"), f"{ELIG}.stdAges"):
            chars.append({"code": _own(rec, "std-age", "Standard age group"),
                          "valueCodeableConcept": concept(rec, enum, std, f"{ELIG}.stdAges"), "exclude": False})
        text = module.get("eligibilityCriteria")
        if isinstance(text, str) and len(text) > MAX_CRITERIA:
            raise rec.fail(f"{ELIG}.eligibilityCriteria", f"{len(text)} characters, more than {MAX_CRITERIA}")
        text = rec.text(text, f"{ELIG}.eligibilityCriteria")
        if text is not None:
            chars.extend(_criteria(rec, text))
    if chars:
        res["characteristic"] = chars
    return res

