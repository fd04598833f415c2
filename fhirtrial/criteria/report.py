"""A study's match report as the ``match-report`` extension on ``Bundle.entry.search`` (R4, plain extensions).

Defined by definitions/StructureDefinition-match-report.json (served at /StructureDefinition/match-report);
verdict codes from the CodeSystems match-verdict and criterion-verdict. https://hl7.org/fhir/R4/extensibility.html
"""
from __future__ import annotations

from typing import Any

from ..canonical import CODESYSTEM_BASE, EXTENSION_BASE
from .judge import StudyMatch

REPORT = f"{EXTENSION_BASE}/match-report"
STUDY_VERDICT_SYSTEM = f"{CODESYSTEM_BASE}/match-verdict"
CRITERION_VERDICT_SYSTEM = f"{CODESYSTEM_BASE}/criterion-verdict"


def _reference(ref: str) -> dict[str, Any]:
    return {"reference": ref}


def report_extension(match: StudyMatch, *, eligibility: str | None = None, record_complete: bool = False,
                     site: dict[str, Any] | None = None, distance_mi: float | None = None) -> dict[str, Any]:
    """The ``match-report`` extension of one study: the overall verdict, then one ``criterion`` per judged
    characteristic (kind, Group.characteristic index, source sentence, verdict, reason, evidence, values)."""
    ext: list[dict[str, Any]] = [{"url": "verdict", "valueCode": match.verdict},
                                 {"url": "record-complete", "valueBoolean": record_complete}]
    if eligibility:
        ext.append({"url": "eligibility", "valueReference": _reference(eligibility)})
    if site is not None:
        ext.append({"url": "nearest-site", "valueReference": site})
        if distance_mi is not None:
            ext.append({"url": "distance", "valueDistance": {
                "value": round(distance_mi, 2), "unit": "mi", "system": "http://unitsofmeasure.org",
                "code": "[mi_i]"}})
    for c in match.criteria:
        sub: list[dict[str, Any]] = [{"url": "kind", "valueCode": c.kind}]
        if c.index >= 0:
            sub.append({"url": "characteristic", "valueInteger": c.index})
        if c.text:
            sub.append({"url": "text", "valueString": c.text})
        sub += [{"url": "verdict", "valueCode": c.verdict}, {"url": "reason", "valueString": c.reason or c.verdict}]
        sub += [{"url": "evidence", "valueReference": _reference(r)} for r in c.evidence]
        sub += [{"url": "value", "valueString": v} for v in c.values if v]
        ext.append({"url": "criterion", "extension": sub})
    return {"url": REPORT, "extension": ext}
