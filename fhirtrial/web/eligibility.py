"""The eligibility check: a short patient form (or a pasted FHIR Bundle) sent to ``ResearchStudy/$match`` and its
per-criterion report read back for the page (issue 14; https://hl7.org/fhir/R4/operations.html).

``match()`` is the one place that calls the operation and ``read_reports()`` the one place that reads its answer:
wire both to the operation's final definition when it lands. Until then the server answers ``$match`` with 404
not-supported, and the page says the check is not available yet. Nothing here judges a criterion.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from .client import Answer, FhirClient
from .records import ext_name, reference_key

OPERATION = "ResearchStudy/$match"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# (form field, label, LOINC code, LOINC display, UCUM unit, unit shown)
LABS = (("hemoglobin", "Hemoglobin", "718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", "g/dL"),
        ("platelets", "Platelets", "777-3", "Platelets [#/volume] in Blood", "10*3/uL", "×10³/µL"),
        ("anc", "Neutrophils (ANC)", "751-8", "Neutrophils [#/volume] in Blood", "10*3/uL", "×10³/µL"),
        ("creatinine", "Creatinine", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", "mg/dL"),
        ("alt", "ALT", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L",
         "U/L"),
        ("bilirubin", "Total bilirubin", "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", "mg/dL",
         "mg/dL"),
        ("hba1c", "HbA1c", "4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", "%"))
ECOG = ("89247-1", "ECOG Performance Status score")
VERDICTS = {"met": ("Met", "✓"), "not-met": ("Not met", "✗"), "unknown": ("Unknown: no data", "?"),
            "not-computable": ("Not computable: text only", "–")}
OVERALL = {"eligible": "Eligible", "possibly-eligible": "Possibly eligible", "ineligible": "Ineligible"}


class MatchUnavailable(Exception):
    """The server does not offer ``$match`` (yet)."""


class MatchRefused(Exception):
    """``$match`` answered with an error: its diagnostics, for the page."""


@dataclass
class Patient:
    """The short form, as typed, and what was wrong with it."""

    age: str = ""
    sex: str = ""
    conditions: str = ""
    labs: dict[str, str] = field(default_factory=dict)
    ecog: str = ""
    bundle_text: str = ""
    record_complete: bool = False
    problems: list[tuple[str, str]] = field(default_factory=list)

    def problem(self, name: str) -> str | None:
        return next((m for f, m in self.problems if f == name), None)


def read_patient(form: dict[str, str]) -> Patient:
    p = Patient(age=form.get("age", "").strip(), sex=form.get("sex", ""), conditions=form.get("conditions", ""),
                labs={k: form.get(k, "").strip() for k, *_ in LABS}, ecog=form.get("ecog", ""),
                bundle_text=form.get("bundle", "").strip(), record_complete=form.get("complete") == "yes")
    if p.bundle_text:
        try:
            parsed = orjson.loads(p.bundle_text)
        except orjson.JSONDecodeError as exc:
            p.problems.append(("bundle", f"The pasted text is not JSON ({exc})."))
        else:
            if not isinstance(parsed, dict) or parsed.get("resourceType") != "Bundle":
                p.problems.append(("bundle", "The pasted JSON is not a FHIR Bundle."))
        return p
    if not (p.age.isdigit() and int(p.age) <= 120):
        p.problems.append(("age", "Enter the age in whole years (0 to 120), or paste a FHIR Bundle."))
    if p.sex not in ("female", "male", "other", "unknown"):
        p.problems.append(("sex", "Choose the sex, or paste a FHIR Bundle."))
    for name, label, *_ in LABS:
        try:
            if p.labs[name] and float(p.labs[name]) < 0:
                raise ValueError
        except ValueError:
            p.problems.append((name, f"{label} must be a number of 0 or more, not {p.labs[name]!r}."))
    if p.ecog and p.ecog not in {"0", "1", "2", "3", "4", "5"}:
        p.problems.append(("ecog", "ECOG must be 0 to 5."))
    return p


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": resource}


def patient_bundle(p: Patient, today: date) -> dict[str, Any]:
    """The patient as FHIR: the pasted Bundle, or a Patient with its Conditions and Observations."""
    if p.bundle_text:
        return orjson.loads(p.bundle_text)
    age = int(p.age)
    try:
        born = today.replace(year=today.year - age)
    except ValueError:  # 29 February
        born = today.replace(year=today.year - age, day=28)
    patient = _entry({"resourceType": "Patient", "gender": p.sex, "birthDate": born.isoformat()})
    subject = {"reference": patient["fullUrl"]}
    entries = [patient]
    for text in (t.strip() for t in p.conditions.replace(";", "\n").splitlines()):
        if text:
            entries.append(_entry({"resourceType": "Condition", "subject": subject, "code": {"text": text},
                                   "clinicalStatus": {"coding": [{
                                       "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]}}))

    def observation(code: str, display: str, value: dict[str, Any]) -> dict[str, Any]:
        return _entry({"resourceType": "Observation", "status": "final", "subject": subject,
                       "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
                       "effectiveDateTime": today.isoformat(), **value})

    for name, _label, code, display, unit, shown in LABS:
        if p.labs.get(name):
            entries.append(observation(code, display, {"valueQuantity": {
                "value": float(p.labs[name]), "unit": shown, "system": UCUM, "code": unit}}))
    if p.ecog:
        entries.append(observation(ECOG[0], ECOG[1], {"valueInteger": int(p.ecog)}))
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def parameters(bundle: dict[str, Any], *, study: str | None = None, search: list[tuple[str, str]] = (),
               record_complete: bool = False) -> dict[str, Any]:
    """The ``$match`` input: the patient Bundle, the study (from its page; every study is reported, eligible or
    not) or the finder's filters (``condition``, ``phase``, ``recruitmentStatus``, ``near``)."""
    params: list[dict[str, Any]] = [{"name": "patient", "resource": bundle}]
    if study:
        params += [{"name": "study", "valueReference": {"reference": f"ResearchStudy/{study}"}},
                   {"name": "includeIneligible", "valueBoolean": True}]
    names = {"condition:text": "condition", "phase": "phase", "recruitment": "recruitmentStatus", "site.near": "near",
             "_count": "count"}
    for key, val in search:
        if key in names:
            params.append({"name": names[key], ("valueInteger" if key == "_count" else "valueString"):
                           int(val) if key == "_count" else val})
    if search:
        params.append({"name": "includeIneligible", "valueBoolean": True})
    if record_complete:
        params.append({"name": "recordComplete", "valueBoolean": True})
    return {"resourceType": "Parameters", "parameter": params}


async def match(client: FhirClient, params: dict[str, Any]) -> Answer:
    """POST the Parameters to ``$match``: the one call of the operation."""
    answer = await client.post(OPERATION, params)
    if answer.status in (404, 405, 501):
        raise MatchUnavailable(answer.problem())
    if not answer.ok:
        raise MatchRefused(answer.problem())
    return answer


def _value(ext: dict[str, Any]) -> Any:
    return next((v for k, v in ext.items() if k.startswith("value")), None)


def _parts(ext: dict[str, Any], name: str) -> list[Any]:
    return [_value(p) for p in ext.get("extension") or () if ext_name(str(p.get("url", ""))) == name]


def read_reports(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Per matched study: id, title, score, overall verdict, nearest site and each criterion's verdict, source
    sentence, reason and evidence. Reads a ``match-report`` extension on ``entry.search``, one sub-extension
    ``criterion`` per criterion (``verdict``, ``text``, ``kind``, ``reason``, ``evidence``)."""
    out = []
    for entry in bundle.get("entry") or ():
        study, search = entry.get("resource") or {}, entry.get("search") or {}
        if study.get("resourceType") != "ResearchStudy":
            continue
        report = next((e for e in search.get("extension") or () if ext_name(str(e.get("url", ""))) == "match-report"),
                      {})
        criteria = []
        for crit in (e for e in report.get("extension") or () if e.get("url") == "criterion"):
            verdict = str((_parts(crit, "verdict") or [""])[0])
            words, mark = VERDICTS.get(verdict, (verdict or "Unknown", "?"))
            criteria.append({"verdict": verdict, "words": words, "mark": mark,
                             "kind": str((_parts(crit, "kind") or [""])[0]),
                             "text": str((_parts(crit, "text") or [""])[0]),
                             "reason": str((_parts(crit, "reason") or [""])[0]),
                             # a reference without a reference or display (a typed-in patient's) says nothing
                             "evidence": [e for e in (reference_key(r) or (r or {}).get("display", "")
                                                      for r in _parts(crit, "evidence")) if e]})
        overall = str((_parts(report, "verdict") or [""])[0])
        site = (_parts(report, "nearest-site") or [None])[0]
        out.append({"id": study.get("id", ""), "title": study.get("title", ""), "score": search.get("score"),
                    "overall": OVERALL.get(overall, overall), "site": (site or {}).get("display", ""),
                    "criteria": criteria})
    return out


__all__ = ["ECOG", "LABS", "MatchRefused", "MatchUnavailable", "OPERATION", "Patient", "match", "parameters",
           "patient_bundle", "read_patient", "read_reports"]
