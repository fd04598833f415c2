"""Concept mentions in criterion text (open vocabularies: MeSH, ICD-10-CM, fhirtrial's own) with their context.

https://hl7.org/fhir/R4/terminologies-systems.html

This module is the contract between the criteria coder (mapping time), the `$match` judge and search; the work is
done by vocabulary.py (the shipped data), matcher.py (dictionary matching), context.py (medspaCy ConText) and
hierarchy.py (subsumption).
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .context import Context, get_engine, parse_window
from .hierarchy import get_hierarchy
from .matcher import get_matcher
from .normalize import key, raw_key
from .vocabulary import ICD10CM, MESH, OWN, Concept, mesh_ui

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

__all__ = ["ICD10CM", "LOINC", "MESH", "OWN", "UCUM", "Coding", "Mention", "Qualifiers", "Window",
           "concepts_for_display", "concepts_in", "find_mentions", "mesh_ui", "qualifiers", "read", "subsumes",
           "synonyms"]


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
    # How the time since the event compares with value: "<=" within the window ("within 6 months"), ">=" at least
    # that long ago ("at least 4 weeks before", "more than 3 months ago").
    comparator: str = "<="


@dataclass(frozen=True, slots=True)
class Qualifiers:
    """Context of a span of criterion text (from a clinical ConText component, not ad-hoc regexes)."""

    negated: bool = False  # "no", "without", "free of", "absence of"
    historical: bool = False  # "history of", "prior", "previous"
    current: bool = False  # "active", "current", "ongoing", "uncontrolled"
    hypothetical: bool = False  # "if", "planned", "scheduled to"
    window: Window | None = None  # "within 6 months", "in the past 5 years"
    family: bool = False  # "family history of", "first-degree relative with": not the patient's own


@dataclass(frozen=True, slots=True)
class Mention:
    """One concept found in a text, with character offsets into that text."""

    start: int
    end: int
    text: str  # text[start:end]
    category: str  # condition | therapy | procedure | substance | finding
    codings: tuple[Coding, ...]  # MeSH first, then ICD-10-CM, then fhirtrial's own CodeSystem
    qualifiers: Qualifiers = Qualifiers()


@lru_cache(maxsize=4096)
def codings_of(concept: Concept) -> tuple[Coding, ...]:
    """The codings a mention of ``concept`` carries: MeSH (its own, or the broader descriptors of one of ours),
    its ICD-10-CM code when the cross-map names exactly one, then fhirtrial's own code.

    The codings of one CodeableConcept are translations of the same concept. A descriptor cross-mapped to several
    ICD-10-CM codes (Pneumonia: J12, J13, J15, J16, J18) is their union, which no single coding says, so it keeps
    MeSH alone; matching still reaches every cross-mapped code through the hierarchy (hierarchy.subsumes)."""
    vocabulary = get_hierarchy().vocabulary
    out = []
    if concept.system == MESH:
        out.append(Coding(MESH, concept.code, concept.display))
    else:
        out += [Coding(MESH, code, vocabulary.by_code[(MESH, code)].display)
                for system, code in concept.broader if system == MESH]
    if len(concept.icd10cm) == 1:
        out += [Coding(ICD10CM, code, display) for code, display in concept.icd10cm]
    if concept.system == OWN:
        out.append(Coding(OWN, concept.code, concept.display))
    return tuple(out)


def _qualifiers(context: Context) -> Qualifiers:
    window = None
    for words in context.windows:  # nearest first
        if parsed := parse_window(words):
            window = Window(*parsed)
            break
    flags = context.flags
    return Qualifiers("negated" in flags, "historical" in flags, "current" in flags, "hypothetical" in flags, window,
                      "family" in flags)


def find_mentions(text: str) -> list[Mention]:
    """Concept mentions in ``text``: longest dictionary matches, non-overlapping, in text order, with context."""
    return read(text)[0]


def _spanned(text: str, start: int, end: int) -> bool:
    return 0 <= start < end <= len(text) and bool(text[start:end].strip())


def read(text: str, spans: Sequence[tuple[int, int]] = ()) -> tuple[list[Mention], list[Qualifiers]]:
    """The concept mentions of ``text`` (as ``find_mentions``) and the qualifiers of other ``spans`` of it (as
    ``qualifiers``), from one ConText pass over the text.

    One pass gives each span what a pass of its own would: the context of a target does not depend on the other
    targets, as no rule limits its number of targets and modifiers are not pruned on target overlap (context.py)."""
    if not text or not text.strip():
        return [], [Qualifiers() for _ in spans]
    matches = get_matcher().find(text)
    wanted = [(start, end) for start, end in spans if _spanned(text, start, end)]
    if not matches and not wanted:
        return [], [Qualifiers() for _ in spans]  # ConText runs only on texts with something to qualify
    contexts = get_engine().spans(text, [(m.start, m.end) for m in matches] + wanted)
    mentions = [Mention(m.start, m.end, text[m.start:m.end], m.concept.category, codings_of(m.concept),
                        _qualifiers(c)) for m, c in zip(matches, contexts)]
    found = iter(contexts[len(matches):])
    return mentions, [_qualifiers(next(found)) if _spanned(text, start, end) else Qualifiers() for start, end in spans]


def concepts_in(text: str) -> list[tuple[int, int, str, tuple[Coding, ...]]]:
    """(start, end, category, codings) of the concept mentions of ``text``, without their context (no ConText)."""
    if not text or not text.strip():
        return []
    return [(m.start, m.end, m.concept.category, codings_of(m.concept)) for m in get_matcher().find(text)]


def qualifiers(text: str, start: int, end: int) -> Qualifiers:
    """The context (negation, history, time window...) of ``text[start:end]`` within ``text``."""
    if not _spanned(text, start, end):
        return Qualifiers()
    return _qualifiers(get_engine().spans(text, [(start, end)])[0])


def subsumes(ancestor: Coding, descendant: Coding) -> bool:
    """True when ``descendant`` is ``ancestor`` or below it (MeSH tree numbers, ICD-10-CM hierarchy)."""
    if ancestor.system == descendant.system and ancestor.code == descendant.code:
        return True
    return get_hierarchy().subsumes(ancestor.system, ancestor.code, descendant.system, descendant.code)


_ASIDE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|[;:].*$")


def _named(term: str) -> list[Concept]:
    """Concepts ``term`` names exactly (after normalisation; acronyms case-sensitively)."""
    root = get_matcher().root
    out: list[Concept] = []
    for path in (key(term), tuple("\x00" + t for t in raw_key(term))):
        node: dict | None = root
        for part in path:
            node = node.get(part)
            if node is None:
                break
        entry = node.get("") if path and node is not None else None
        if entry and entry[0] is not None and entry[0] not in out:
            out.append(entry[0])
    return out


def concepts_for_display(text: str) -> list[Coding]:
    """Codings of ours for a display text (patient data coded in SNOMED CT, which may not be shipped).

    An exact (normalised) match of the whole text first, then of the text without its asides ("Hypertension
    (worsening)"), then the mentions in it that are not negated, hypothetical or about family."""
    if not text or not text.strip():
        return []
    concepts = _named(text) or _named(_ASIDE.sub(" ", text))
    mentions = find_mentions(text)
    denied = {m.codings for m in mentions if m.qualifiers.negated or m.qualifiers.family or m.qualifiers.hypothetical}
    out: list[Coding] = []
    for codings in [codings_of(c) for c in concepts] or [m.codings for m in mentions]:
        if codings in denied:
            continue
        out += [c for c in codings if c not in out]
    return out


def synonyms(term: str, *, narrower: bool = True) -> list[str]:
    """Entry terms of the concept(s) ``term`` names (condition search: "coronavirus" -> "COVID-19", ...).

    With ``narrower`` the terms of the concepts below them follow ("coronavirus" names Coronavirus Infections,
    COVID-19 is one)."""
    if not term or not term.strip():
        return []
    named = _named(term) or [c for c in [get_hierarchy().concept(MESH, term.strip())] if c is not None]
    if not named:
        return []
    hierarchy = get_hierarchy()
    chosen = list(named)
    if narrower:
        idents = {(c.system, c.code) for c in named}
        chosen += [c for c in hierarchy.vocabulary.concepts
                   if c.match and c not in named and idents & hierarchy.ancestors(c)]
    out: list[str] = []
    seen: set[str] = set()
    for concept in chosen:
        for word in (concept.display, *concept.terms, *concept.acronyms):
            if word.casefold() not in seen:
                seen.add(word.casefold())
                out.append(word)
    return out
