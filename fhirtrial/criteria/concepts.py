"""Concept mentions in criterion text (open vocabularies: MeSH, ICD-10-CM, fhirtrial's own) with their context.

https://hl7.org/fhir/R4/terminologies-systems.html

This module is the contract between the criteria coder (mapping time), the `$match` judge and search. The
functions below are stand-ins that find nothing until the vocabulary lands; their signatures are fixed.
"""
from __future__ import annotations

from dataclasses import dataclass

MESH = "http://terminology.hl7.org/CodeSystem/MSH"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True, slots=True)
class Coding:
    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class Window:
    """A time window qualifying a mention: "within the past 6 months" -> Window(6, "mo")."""

    value: float
    unit: str  # UCUM: min, h, d, wk, mo, a


@dataclass(frozen=True, slots=True)
class Qualifiers:
    """Context of a span of criterion text (from a clinical ConText component, not ad-hoc regexes)."""

    negated: bool = False  # "no", "without", "free of", "absence of"
    historical: bool = False  # "history of", "prior", "previous"
    current: bool = False  # "active", "current", "ongoing", "uncontrolled"
    hypothetical: bool = False  # "if", "planned", "scheduled to"
    window: Window | None = None  # "within 6 months", "in the past 5 years"


@dataclass(frozen=True, slots=True)
class Mention:
    """One concept found in a text, with character offsets into that text."""

    start: int
    end: int
    text: str  # text[start:end]
    category: str  # condition | therapy | procedure | substance | finding
    codings: tuple[Coding, ...]  # MeSH first, then ICD-10-CM, then fhirtrial's own CodeSystem
    qualifiers: Qualifiers = Qualifiers()


def find_mentions(text: str) -> list[Mention]:
    """Concept mentions in ``text``: longest dictionary matches, non-overlapping, in text order, with context."""
    return []


def qualifiers(text: str, start: int, end: int) -> Qualifiers:
    """The context (negation, history, time window...) of ``text[start:end]`` within ``text``."""
    return Qualifiers()


def subsumes(ancestor: Coding, descendant: Coding) -> bool:
    """True when ``descendant`` is ``ancestor`` or below it (MeSH tree numbers, ICD-10-CM hierarchy)."""
    return ancestor.system == descendant.system and ancestor.code == descendant.code


def concepts_for_display(text: str) -> list[Coding]:
    """Codings of ours for a display text (patient data coded in SNOMED CT, which may not be shipped)."""
    return []


def synonyms(term: str) -> list[str]:
    """Entry terms of the concept(s) ``term`` names (condition search: "coronavirus" -> "COVID-19", ...)."""
    return []
