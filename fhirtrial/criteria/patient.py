"""A patient's record read for judging: demographics, coded facts and measurements from FHIR R4 resources.

https://hl7.org/fhir/R4/patient.html, condition.html, observation.html, medicationstatement.html, procedure.html,
allergyintolerance.html. Codings we cannot ship (SNOMED CT, RxNorm) are read through their display text
(``concepts_for_display``), so "Hypertension" coded in SNOMED CT still meets a MeSH-coded criterion.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable

from ..canonical import CODESYSTEM_BASE
from .concepts import UCUM, Coding, concepts_for_display
from .units import to_ucum

COMPLETENESS_SYSTEM = f"{CODESYSTEM_BASE}/record-completeness"
COMPLETE = "complete"
PATIENT_TYPES = ("Condition", "Observation", "MedicationStatement", "MedicationRequest", "Procedure",
                 "AllergyIntolerance")
_ASIDE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_UNCERTAIN = re.compile(r"\b(?:vs\.?|versus|differential|rule out|r/o|suspected|suspicion of|possible|probable|"
                        r"questionable)\b|\?", re.IGNORECASE)
_INACTIVE = {"inactive", "resolved", "remission"}
_MED_INACTIVE = {"completed", "stopped", "entered-in-error", "cancelled", "not-taken", "draft", "unknown"}


@dataclass(frozen=True, slots=True)
class Fact:
    """A Condition, medication, Procedure or AllergyIntolerance: what it names and when."""

    kind: str  # condition | medication | procedure | allergy
    ref: str  # Type/id (or the entry's fullUrl) for evidence
    text: str
    codings: tuple[Coding, ...]  # the resource's own codings, then ours found from its display text
    active: bool | None  # None: not said
    refuted: bool  # Condition.verificationStatus refuted: the record says it is absent
    planned: bool  # a Procedure in preparation, an intended MedicationRequest: not done yet
    when: date | None  # onset / performed / effective / recorded


@dataclass(frozen=True, slots=True)
class Measurement:
    """An Observation with its value; ``unit`` is a UCUM code (None when the unit is not UCUM)."""

    ref: str
    codes: frozenset[tuple[str, str]]
    text: str
    value: float | None
    unit: str | None
    unit_text: str | None
    when: datetime | None
    low: tuple[float, str | None] | None  # referenceRange.low (value, UCUM unit)
    high: tuple[float, str | None] | None  # referenceRange.high
    concept_text: str | None  # valueCodeableConcept / valueString


@dataclass
class PatientRecord:
    """Everything the judge reads about one patient."""

    ref: str
    birth_date: date | None
    gender: str | None
    complete: bool  # meta.tag record-completeness|complete
    facts: list[Fact] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    consent: bool = False  # the caller states the patient will consent and comply (assumeConsent)
    named: dict[str, tuple[str, str]] | None = field(default=None, repr=False, compare=False)  # statements.py


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        if len(value) == 4:
            return date(int(value), 1, 1)
        if len(value) == 7:
            return date(int(value[:4]), int(value[5:7]), 1)
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _instant(value: Any) -> datetime | None:
    day = _date(value)
    if day is None:
        return None
    if isinstance(value, str) and len(value) > 10:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)


def _first_date(resource: dict[str, Any], *names: str) -> date | None:
    for name in names:
        value = resource.get(name)
        if isinstance(value, dict):  # Period: its start
            value = value.get("start")
        if (found := _date(value)) is not None:
            return found
    return None


def _concept_codings(concept: Any) -> tuple[str, tuple[Coding, ...]]:
    """(text, codings) of a CodeableConcept: its codings, then ours for its text and each coding's display."""
    if not isinstance(concept, dict):
        return "", ()
    out: list[Coding] = []
    texts: list[str] = []
    for c in concept.get("coding") or ():
        if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str):
            out.append(Coding(c["system"], c["code"], str(c.get("display") or "")))
            if isinstance(c.get("display"), str):
                texts.append(c["display"])
    text = concept.get("text") if isinstance(concept.get("text"), str) else ""
    for words in ([text] if text else []) + texts:
        out += [c for c in _display_codings(words) if c not in out]
    return text or (texts[0] if texts else ""), tuple(out)


def _display_codings(text: str) -> tuple[Coding, ...]:
    """Ours for a display text; its asides ("Diabetes mellitus (denied)", "(worsening)") are left out first, as the
    resource's status, not its name, says whether the patient has it."""
    text = _UNCERTAIN.split(text[:500], 1)[0]  # "… vesicular mole vs fibroid": a differential is not a diagnosis
    bare = _ASIDE.sub(" ", text).strip()
    return tuple((bare and concepts_for_display(bare)) or (text.strip() and concepts_for_display(text)) or ())


def _status(resource: dict[str, Any], element: str) -> str | None:
    concept = resource.get(element)
    if isinstance(concept, dict):
        for c in concept.get("coding") or ():
            if isinstance(c, dict) and isinstance(c.get("code"), str):
                return c["code"]
    return None


def _ref(resource: dict[str, Any], full_url: str | None) -> str:
    if resource.get("id"):
        return f"{resource['resourceType']}/{resource['id']}"
    return full_url or resource["resourceType"]


def _fact(resource: dict[str, Any], ref: str) -> Fact | None:
    rtype = resource["resourceType"]
    if rtype == "Condition":
        text, codings = _concept_codings(resource.get("code"))
        clinical = _status(resource, "clinicalStatus")
        return Fact("condition", ref, text, codings, None if clinical is None else clinical not in _INACTIVE,
                    _status(resource, "verificationStatus") in ("refuted", "entered-in-error"), False,
                    _first_date(resource, "onsetDateTime", "onsetPeriod", "recordedDate"))
    if rtype in ("MedicationStatement", "MedicationRequest"):
        text, codings = _concept_codings(resource.get("medicationCodeableConcept"))
        status = resource.get("status")
        planned = rtype == "MedicationRequest" and resource.get("intent") in ("proposal", "plan")
        return Fact("medication", ref, text, codings, None if not status else status not in _MED_INACTIVE,
                    status in ("not-taken", "entered-in-error"), planned,
                    _first_date(resource, "effectiveDateTime", "effectivePeriod", "authoredOn", "dateAsserted"))
    if rtype == "Procedure":
        text, codings = _concept_codings(resource.get("code"))
        status = resource.get("status")
        return Fact("procedure", ref, text, codings, status == "in-progress",
                    status in ("not-done", "entered-in-error"), status == "preparation",
                    _first_date(resource, "performedDateTime", "performedPeriod"))
    if rtype == "AllergyIntolerance":
        text, codings = _concept_codings(resource.get("code"))
        clinical = _status(resource, "clinicalStatus")
        return Fact("allergy", ref, text, codings, None if clinical is None else clinical == "active",
                    _status(resource, "verificationStatus") == "refuted", False,
                    _first_date(resource, "onsetDateTime", "recordedDate"))
    return None


def _quantity(q: Any) -> tuple[float, str | None, str | None] | None:
    """(value, UCUM code or None, unit as written) of a Quantity."""
    if not isinstance(q, dict) or not isinstance(q.get("value"), (int, float)) or isinstance(q.get("value"), bool):
        return None
    written = q.get("unit") if isinstance(q.get("unit"), str) else q.get("code")
    code = q.get("code") if q.get("system") == UCUM and isinstance(q.get("code"), str) else None
    if code is None and isinstance(written, str):
        code = to_ucum(written)
    return float(q["value"]), code, written if isinstance(written, str) else None


def _measurement(resource: dict[str, Any], ref: str) -> Measurement:
    concept = resource.get("code") or {}
    codes = frozenset((c["system"], c["code"]) for c in concept.get("coding") or ()
                      if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str))
    value: float | None = None
    unit = unit_text = concept_text = None
    if (q := _quantity(resource.get("valueQuantity"))) is not None:
        value, unit, unit_text = q
    elif isinstance(resource.get("valueInteger"), int):
        value = float(resource["valueInteger"])
    elif isinstance(resource.get("valueString"), str):
        concept_text = resource["valueString"]
    elif isinstance(resource.get("valueCodeableConcept"), dict):
        concept_text, _ = _concept_codings(resource["valueCodeableConcept"])
    low = high = None
    for rng in resource.get("referenceRange") or ():
        if isinstance(rng, dict):
            if (h := _quantity(rng.get("high"))) is not None and high is None:
                high = (h[0], h[1])
            if (lo := _quantity(rng.get("low"))) is not None and low is None:
                low = (lo[0], lo[1])
    when = _instant(resource.get("effectiveDateTime") or (resource.get("effectivePeriod") or {}).get("start")
                    or resource.get("issued"))
    return Measurement(ref, codes, str(concept.get("text") or ""), value, unit, unit_text, when, low, high,
                       concept_text)


def _finding(m: Measurement) -> Fact | None:
    """A coded or worded Observation value ("Smoker", "Pregnant") read as a finding the patient has."""
    if not m.concept_text:
        return None
    codings = _display_codings(m.concept_text)
    if not codings:
        return None
    return Fact("condition", m.ref, m.concept_text, codings, True, False, False, m.when.date() if m.when else None)


def read_record(patient: dict[str, Any], others: Iterable[tuple[dict[str, Any], str | None]], *,
                complete: bool = False, consent: bool = False) -> PatientRecord:
    """The record of ``patient`` from its resources (each with its Bundle fullUrl or None); ``consent``: the caller
    states that the patient will consent and comply with the protocol."""
    tags = (patient.get("meta") or {}).get("tag") or ()
    tagged = any(isinstance(t, dict) and t.get("system") == COMPLETENESS_SYSTEM and t.get("code") == COMPLETE
                 for t in tags)
    gender = patient.get("gender") if isinstance(patient.get("gender"), str) else None
    record = PatientRecord(_ref(patient, None), _date(patient.get("birthDate")), gender, complete or tagged,
                           consent=consent)
    for resource, full_url in others:
        rtype = resource.get("resourceType")
        if rtype not in PATIENT_TYPES or _status(resource, "verificationStatus") == "entered-in-error":
            continue
        ref = _ref(resource, full_url)
        if rtype == "Observation":
            if resource.get("status") not in ("entered-in-error", "cancelled"):
                record.measurements.append(measured := _measurement(resource, ref))
                if (fact := _finding(measured)) is not None:  # "Tobacco smoking status: Smoker": a finding
                    record.facts.append(fact)
        elif (fact := _fact(resource, ref)) is not None:
            record.facts.append(fact)
    return record
