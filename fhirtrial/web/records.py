"""Reading the mapped FHIR resources for people: displays of codes, the study's status and phases, extensions by
name, and the registry's markdown as paragraphs (https://hl7.org/fhir/R4/researchstudy.html, mappings/README.md).
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from ..canonical import CODESYSTEM_BASE, EXTENSION_BASE

CTGOV_STATUS = f"{CODESYSTEM_BASE}/ctgov-status"
CTGOV_PHASE = f"{CODESYSTEM_BASE}/ctgov-phase"
CTGOV_STUDY_TYPE = f"{CODESYSTEM_BASE}/ctgov-study-type"
_FHIR_STATUS = {"active": "Active", "administratively-completed": "Administratively completed",
                "approved": "Approved", "closed-to-accrual": "Closed to accrual",
                "closed-to-accrual-and-intervention": "Closed to accrual and intervention", "completed": "Completed",
                "disapproved": "Disapproved", "in-review": "In review",
                "temporarily-closed-to-accrual": "Temporarily closed to accrual",
                "temporarily-closed-to-accrual-and-intervention": "Temporarily closed to accrual and intervention",
                "withdrawn": "Withdrawn"}
SYSTEM_NAMES = {"http://terminology.hl7.org/CodeSystem/MSH": "MeSH", "http://snomed.info/sct": "SNOMED CT",
                "http://loinc.org": "LOINC", "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
                "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm", "http://unitsofmeasure.org": "UCUM"}


def ext_name(url: str) -> str:
    """``https://fhirtrial.org/fhir/StructureDefinition/site-status`` -> ``site-status``."""
    return url[len(EXTENSION_BASE) + 1:] if url.startswith(EXTENSION_BASE + "/") else url


def extensions(element: Any, name: str) -> Iterator[dict[str, Any]]:
    """The extensions of an element whose URL is ours and named ``name``."""
    if isinstance(element, dict):
        for ext in element.get("extension") or ():
            if isinstance(ext, dict) and ext_name(str(ext.get("url", ""))) == name:
                yield ext


def value(ext: dict[str, Any]) -> Any:
    return next((v for k, v in ext.items() if k.startswith("value")), None)


def first_value(element: Any, name: str) -> Any:
    return next((value(e) for e in extensions(element, name)), None)


def part(ext: dict[str, Any], url: str) -> Any:
    """The value of a sub-extension of a complex extension."""
    return next((value(p) for p in ext.get("extension") or () if p.get("url") == url), None)


def concept_text(concept: Any) -> str:
    """A CodeableConcept (or Coding) as words: its text, else the first display or code."""
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    codings = concept.get("coding") or [concept]
    for coding in codings:
        if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
            return str(coding.get("display") or coding.get("code"))
    return ""


def codes(concept: Any) -> list[str]:
    """"MeSH D000741" for each coding of a concept (what a coded criterion is marked with)."""
    out = []
    for coding in (concept or {}).get("coding") or ():
        if isinstance(coding, dict) and coding.get("code"):
            system = str(coding.get("system", ""))
            name = SYSTEM_NAMES.get(system) or system.rsplit("/", 1)[-1] or "code"
            out.append(f"{name} {coding['code']}" + (f" ({coding['display']})" if coding.get("display") else ""))
    return out


def status_text(study: dict[str, Any]) -> str:
    """The registry's overall status when mapped (``Recruiting``), else the FHIR status in words."""
    coding = first_value(study, "overall-status")
    if isinstance(coding, dict) and (coding.get("display") or coding.get("code")):
        return str(coding.get("display") or coding.get("code"))
    return _FHIR_STATUS.get(str(study.get("status", "")), str(study.get("status", "")))


def status_code(study: dict[str, Any]) -> str:
    coding = first_value(study, "overall-status")
    return str(coding.get("code", "")) if isinstance(coding, dict) else str(study.get("status", ""))


def phases(study: dict[str, Any]) -> list[str]:
    phase = study.get("phase") or {}
    names = [c.get("display") or c.get("code") for c in phase.get("coding") or () if c.get("system") == CTGOV_PHASE]
    return [str(n) for n in names if n] or ([str(phase["text"])] if phase.get("text") else [])


def study_type(study: dict[str, Any]) -> str:
    for cat in study.get("category") or ():
        for coding in cat.get("coding") or ():
            if coding.get("system") == CTGOV_STUDY_TYPE:
                return str(coding.get("display") or coding.get("code"))
    return ""


def reference_key(ref: Any) -> str | None:
    """``Type/id`` of a relative reference (with or without a base or version)."""
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return None
    parts = ref["reference"].split("/_history/")[0].split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def paragraphs(text: Any) -> list[dict[str, Any]]:
    """Registry markdown as blocks: ``bullets`` (a list's items) or ``text`` (a paragraph), the other empty.
    Text only: nothing of the markdown becomes markup (the template escapes every piece)."""
    if not isinstance(text, str):
        return []
    blocks: list[dict[str, Any]] = []
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        lines = [re.sub(r"\\([\\`*_{}\[\]()#+\-.!<>|])", r"\1", line).strip() for line in chunk.split("\n")]
        lines = [line for line in lines if line]
        if not lines:
            continue
        if all(re.match(r"^([*+-]|\d+[.)])\s+", line) for line in lines):
            blocks.append({"bullets": [re.sub(r"^([*+-]|\d+[.)])\s+", "", line) for line in lines], "text": ""})
        else:
            blocks.append({"bullets": [], "text": " ".join(lines)})
    return blocks


def human_date(value: Any) -> str:
    """FHIR dates as written (2014-08, 2014-08-05); instants to the day."""
    return str(value)[:10] if value else ""


__all__ = ["codes", "concept_text", "ext_name", "extensions", "first_value", "human_date", "paragraphs", "part",
           "phases", "reference_key", "status_code", "status_text", "study_type", "value"]
