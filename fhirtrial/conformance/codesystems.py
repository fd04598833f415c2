"""Our CodeSystems, generated from the CT.gov enums of mappings/ctgov-model.yaml, https://hl7.org/fhir/R4/codesystem.html.

One CodeSystem per system slug (``https://fhirtrial.org/fhir/CodeSystem/ctgov-…``); enums that share a slug
(Status, RecruitmentStatus…) give the union of their values. Codes are the registry's own enum values, displays
its labels.
"""
from __future__ import annotations

from typing import Any, Iterator

from ..canonical import CODESYSTEM_BASE
from ..mapping.tables import get_tables

PUBLISHER = "fhirtrial"


def _name(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.replace("ctgov", "CtGov").split("-")).replace("Ctgov", "CtGov")


def code_system(slug: str, concepts: dict[str, str], title: str) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem", "id": slug, "url": f"{CODESYSTEM_BASE}/{slug}", "version": "1",
        "name": _name(slug), "title": title, "status": "active", "experimental": False, "publisher": PUBLISHER,
        "description": f"{title}: the values ClinicalTrials.gov (API v2) uses, kept beside the FHIR codes they map "
                       "to (https://clinicaltrials.gov/data-api/about-api/study-data-structure).",
        "caseSensitive": True, "content": "complete", "count": len(concepts),
        "concept": [{"code": code, "display": display} for code, display in concepts.items()],
    }


def code_systems() -> Iterator[dict[str, Any]]:
    systems: dict[str, tuple[dict[str, str], list[str]]] = {}
    for enum in get_tables().enums.values():
        slug = enum.system.removeprefix(CODESYSTEM_BASE + "/")
        concepts, names = systems.setdefault(slug, ({}, []))
        for code, display in enum.labels.items():
            concepts.setdefault(code, display)
        names.append(enum.name)
    for slug in sorted(systems):
        concepts, names = systems[slug]
        yield code_system(slug, concepts, f"ClinicalTrials.gov {' / '.join(names)}")
