"""The inputs of ``ResearchStudy/$match`` read and checked: each bad one is a 400/422 OperationOutcome naming it.

Parameters as in the OperationDefinition ResearchStudy-match (conformance/definitions/): CodeX's ``zipCode``,
``travelRadius``, ``phase``, ``recruitmentStatus``, the patient as a Bundle (``patient``, or CodeX's
``trialMatchClinicalData``) or a stored ``subject``; ours ``near``, ``condition``, ``date``, ``count``,
``includeIneligible``, ``recordComplete``, ``assumeConsent``. https://hl7.org/fhir/R4/operations.html#request
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable

from ..errors import InvalidRequest, Issue, UnprocessableEntity
from ..places import resolve_zip
from ..search.values import parse_near
from ..validation import validate

MILE_KM = 1.609344
BUNDLE_TYPES = ("collection", "transaction", "searchset", "batch")
PATIENT_TYPES = ("Condition", "Observation", "MedicationStatement", "MedicationRequest", "Procedure",
                 "AllergyIntolerance")
KNOWN = frozenset({"study", "patient", "trialMatchClinicalData", "subject", "zipCode", "travelRadius", "phase",
                   "recruitmentStatus", "near", "condition", "date", "count", "includeIneligible", "recordComplete",
                   "assumeConsent",
                   "_format", "_pretty"})
DEFAULT_COUNT, MAX_COUNT = 20, 1000
_SUBJECT = re.compile(r"(?:.*/)?Patient/([A-Za-z0-9\-.]{1,64})")
_STUDY = re.compile(r"(?:.*/)?(?:ResearchStudy/)?([A-Za-z0-9\-.]{1,64})")


@dataclass
class MatchInputs:
    bundle: dict[str, Any] | None = None
    subject: str | None = None  # Patient id on this server
    centre: tuple[float, float] | None = None  # lat, lon
    radius_km: float | None = None  # None: no distance filter (distances still reported)
    phases: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)  # ResearchStudy ids: judge only these
    at: date = field(default_factory=lambda: datetime.now(timezone.utc).date())
    count: int = DEFAULT_COUNT
    include_ineligible: bool = False
    record_complete: bool = False
    assume_consent: bool = False  # the caller states the patient will consent and comply with the protocol
    ignored: list[str] = field(default_factory=list)


def _primitive(param: dict[str, Any]) -> Any:
    for key, value in param.items():
        if key.startswith("value"):
            if isinstance(value, dict) and "reference" in value:
                return value["reference"]
            if isinstance(value, dict) and "code" in value:  # valueCoding
                return value["code"]
            return value
    return None


def pairs_of_parameters(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(name, value) of a Parameters resource: resources as dicts, everything else as given."""
    if body.get("resourceType") != "Parameters":
        raise InvalidRequest(f"The body must be a Parameters resource, not {body.get('resourceType')!r}")
    out: list[tuple[str, Any]] = []
    for i, param in enumerate(body.get("parameter") or ()):
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            raise InvalidRequest(f"Parameters.parameter[{i}] has no name", expression=f"Parameters.parameter[{i}]")
        value = param["resource"] if "resource" in param else _primitive(param)
        out.append((param["name"], value))
    return out


def _one(pairs: list[tuple[str, Any]], name: str) -> Any:
    values = [v for k, v in pairs if k == name]
    if len(values) > 1:
        raise InvalidRequest(f"{name} may be given once", expression=name)
    return values[0] if values else None


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidRequest(f"{name} must be a string", expression=name)
    return str(value).strip()


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value, name).lower()
    if text not in ("true", "false"):
        raise InvalidRequest(f"{name} must be true or false, not {text!r}", expression=name)
    return text == "true"


def _list(pairs: list[tuple[str, Any]], name: str) -> list[str]:
    out: list[str] = []
    for k, v in pairs:
        if k == name:
            out += [p.strip() for p in _text(v, name).split(",") if p.strip()]
    return out


def _radius(value: Any) -> float:
    try:
        miles = float(_text(value, "travelRadius"))
    except ValueError:
        raise InvalidRequest(f"travelRadius must be a number of miles, not {value!r}", expression="travelRadius") \
            from None
    if not miles >= 0 or miles == float("inf"):
        raise InvalidRequest(f"travelRadius must be a number of miles of 0 or more, not {value!r}",
                             expression="travelRadius")
    return miles


def read_inputs(pairs: list[tuple[str, Any]]) -> MatchInputs:
    """Every parameter checked; the patient Bundle is checked later (check_bundle)."""
    out = MatchInputs()
    out.ignored = sorted({k for k, _ in pairs if k not in KNOWN})
    bundle = _one(pairs, "patient")
    other = _one(pairs, "trialMatchClinicalData")
    if bundle is not None and other is not None:
        raise InvalidRequest("Give the patient once: patient or trialMatchClinicalData", expression="patient")
    bundle = bundle if bundle is not None else other
    subject = _one(pairs, "subject")
    if bundle is not None and subject is not None:
        raise InvalidRequest("Give either a patient Bundle or a subject, not both", expression="subject")
    if bundle is not None:
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise InvalidRequest("patient must be a Bundle resource", expression="patient")
        out.bundle = bundle
    elif subject is not None:
        m = _SUBJECT.fullmatch(_text(subject, "subject"))
        if m is None:
            raise InvalidRequest(f"subject must be a reference to a Patient (Patient/id), not {subject!r}",
                                 expression="subject")
        out.subject = m.group(1)
    else:
        raise InvalidRequest("Give the patient: a Bundle in patient, or subject=Patient/id", expression="patient")
    zip_code, near, radius = _one(pairs, "zipCode"), _one(pairs, "near"), _one(pairs, "travelRadius")
    if zip_code is not None and near is not None:
        raise InvalidRequest("Give either zipCode or near, not both", expression="near")
    miles = _radius(radius) if radius is not None else None
    if zip_code is not None:
        place = resolve_zip(_text(zip_code, "zipCode"), "zipCode")
        out.centre = (place.latitude, place.longitude)
        out.radius_km = miles * MILE_KM if miles is not None else None
    elif near is not None:
        try:
            value = parse_near(_text(near, "near"))
        except ValueError as exc:
            raise InvalidRequest(f"near: {exc}", expression="near") from None
        out.centre, out.radius_km = (value.latitude, value.longitude), value.distance_km
        if miles is not None:
            raise InvalidRequest("travelRadius goes with zipCode; near carries its own distance",
                                 expression="travelRadius")
    elif miles is not None:
        raise InvalidRequest("travelRadius needs zipCode", expression="travelRadius")
    for ref in _list(pairs, "study"):
        m = _STUDY.fullmatch(ref)
        if m is None:
            raise InvalidRequest(f"study must be a ResearchStudy reference or id, not {ref!r}", expression="study")
        out.studies.append(m.group(1))
    out.phases = _list(pairs, "phase")
    out.statuses = _list(pairs, "recruitmentStatus")
    out.conditions = [_text(v, "condition") for k, v in pairs if k == "condition" and _text(v, "condition")]
    if (day := _one(pairs, "date")) is not None:
        try:
            out.at = date.fromisoformat(_text(day, "date"))
        except ValueError:
            raise InvalidRequest(f"date must be a day (YYYY-MM-DD), not {day!r}", expression="date") from None
    if (count := _one(pairs, "count")) is not None:
        text = _text(count, "count")
        if not text.isdigit():
            raise InvalidRequest(f"count must be a whole number of 0 or more, not {count!r}", expression="count")
        out.count = min(int(text), MAX_COUNT)
    if (flag := _one(pairs, "includeIneligible")) is not None:
        out.include_ineligible = _bool(flag, "includeIneligible")
    if (flag := _one(pairs, "recordComplete")) is not None:
        out.record_complete = _bool(flag, "recordComplete")
    if (flag := _one(pairs, "assumeConsent")) is not None:
        out.assume_consent = _bool(flag, "assumeConsent")
    return out


def check_bundle(bundle: dict[str, Any], at: date, name: str = "patient"
                 ) -> tuple[dict[str, Any], list[tuple[dict[str, Any], str | None]]]:
    """(the Patient, [(resource, fullUrl)] of the others) of a posted Bundle, each resource validated by the
    project's validator; 422 naming ``name`` for no Patient or two, invalid resources, a birthDate after ``at``."""
    kind = bundle.get("type")
    if kind not in BUNDLE_TYPES:
        raise UnprocessableEntity(f"{name}: a Bundle of type collection, transaction or searchset, not {kind!r}",
                                  expression=name)
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise UnprocessableEntity(f"{name}: Bundle.entry must be a list", expression=name)
    issues: list[Issue] = []
    resources: list[tuple[dict[str, Any], str | None]] = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            issues.append(Issue("error", "structure", f"{name}: entry[{i}] has no resource", (f"Bundle.entry[{i}]",)))
            continue
        for issue in validate(resource):
            if issue.severity in ("error", "fatal"):
                where = f"{resource.get('resourceType')}/{resource.get('id', '?')}"
                issues.append(Issue("error", issue.code, f"{name}: entry[{i}] {where}: {issue.diagnostics}",
                                    (f"Bundle.entry[{i}].resource", *issue.expression)))
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        resources.append((resource, full_url))
    if issues:
        raise UnprocessableEntity(issues[0].diagnostics, issues=issues)
    return split_patient(resources, at, name)


def split_patient(resources: Iterable[tuple[dict[str, Any], str | None]], at: date, name: str
                  ) -> tuple[dict[str, Any], list[tuple[dict[str, Any], str | None]]]:
    patients = [r for r, _ in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise UnprocessableEntity(f"{name}: the Bundle must hold exactly one Patient, not {len(patients)}",
                                  expression=name)
    patient = patients[0]
    born = patient.get("birthDate")
    if isinstance(born, str) and born[:10] > at.isoformat()[:len(born[:10])]:
        raise UnprocessableEntity(f"{name}: Patient.birthDate {born} is after the day judged ({at.isoformat()})",
                                  expression=(name, "Patient.birthDate"))
    others = [(r, u) for r, u in resources if r.get("resourceType") in PATIENT_TYPES]
    return patient, others
