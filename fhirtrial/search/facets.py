"""Facet counts for a study search (``ResearchStudy/$facets``): how many matching studies fall under each value
of the filters a trial finder offers, as the registry's own site shows "Recruiting (63)"
(https://hl7.org/fhir/R4/search.html, https://hl7.org/fhir/R4/operations.html). Storage-free: which search
parameter's index rows each facet counts, and the search value that selects one bucket.
"""
from __future__ import annotations

from dataclasses import dataclass

from fhirtrial.canonical import CODESYSTEM_BASE
from fhirtrial.search.escape import escape
from fhirtrial.search.trial import GENDER_SYSTEM, STD_AGE_SYSTEM


@dataclass(frozen=True, slots=True)
class Facet:
    name: str  # as reported (status, phase, ...)
    param: str  # the ResearchStudy search parameter whose token rows are counted, and that selects a bucket
    system: str | None  # rows of this system only; None: rows without a system (healthy-volunteers true/false)
    by_text: bool = False  # count the rows' text (CodeableConcept.text, e.g. a country) instead of their code


FACETS: tuple[Facet, ...] = (
    Facet("status", "recruitment", f"{CODESYSTEM_BASE}/ctgov-status"),
    Facet("phase", "phase", f"{CODESYSTEM_BASE}/ctgov-phase"),
    Facet("study-type", "study-design", f"{CODESYSTEM_BASE}/ctgov-study-type"),
    Facet("sex", "eligible-sex", GENDER_SYSTEM),
    Facet("age-group", "age-group", STD_AGE_SYSTEM),
    Facet("healthy-volunteers", "healthy-volunteers", None),
    Facet("country", "location", None, by_text=True),
)


@dataclass(frozen=True, slots=True)
class Bucket:
    value: str  # a code, or the text of a by_text facet (normalised: casefolded, accents stripped)
    count: int
    display: str | None = None


def bucket_search(facet: Facet, value: str) -> str:
    """The search parameter and value (``name=value``, unencoded) that selects the studies of one bucket."""
    if facet.by_text:
        return f"{facet.param}:text={escape(value)}"
    if facet.system is None:
        return f"{facet.param}={escape(value)}"
    return f"{facet.param}={escape(facet.system)}|{escape(value)}"


__all__ = ["Bucket", "FACETS", "Facet", "bucket_search"]
