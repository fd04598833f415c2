"""Subsumption across the shipped vocabularies: MeSH tree numbers and pharmacological actions, the ICD-10-CM
hierarchy (simple-icd-10-cm) and the curated MeSH -> ICD-10-CM cross-map, https://hl7.org/fhir/R4/codesystem.html#hierarchy.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .vocabulary import ICD10CM, MESH, Concept, Vocabulary, mesh_ui, vocabulary_at, vocabulary_dir

_ICD_SHAPE = re.compile(r"[A-Z]\d[0-9A-Z][0-9A-Z]{0,4}")


def icd_code(code: str) -> str:
    """An ICD-10-CM code in its dotted form: "e119" -> "E11.9"."""
    code = code.strip().upper()
    if "." not in code and len(code) > 3 and _ICD_SHAPE.fullmatch(code):
        return f"{code[:3]}.{code[3:]}"
    return code


@lru_cache(maxsize=8192)
def icd_lineage(code: str) -> frozenset[str]:
    """The code and its ICD-10-CM ancestors (categories, blocks, chapter); empty for a code that does not exist."""
    import simple_icd_10_cm as icd  # loads the classification (about a second) on first use

    if not icd.is_valid_item(code):
        return frozenset()
    return frozenset([code, *icd.get_ancestors(code)])


def key_code(system: str, code: str) -> str:
    """A code in the form the vocabularies publish it (MeSH UIs unpadded, ICD-10-CM dotted)."""
    if system == MESH:
        return mesh_ui(code)
    if system == ICD10CM:
        return icd_code(code)
    return code


class Hierarchy:
    """Ancestor sets of every concept of a vocabulary, computed once."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._ancestors: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
        self._above: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
        self._icd_owners: dict[str, set[tuple[str, str]]] | None = None
        # ICD-10-CM codes of each concept and of every concept below it (for "a MeSH concept subsumes an ICD code")
        self.icd_below: dict[tuple[str, str], set[str]] = {}
        for concept in vocabulary.concepts:
            codes = {code for code, _ in concept.icd10cm}
            if codes:
                for ancestor in self.ancestors(concept) | {(concept.system, concept.code)}:
                    self.icd_below.setdefault(ancestor, set()).update(codes)

    def ancestors(self, concept: Concept) -> frozenset[tuple[str, str]]:
        """(system, code) of every concept above ``concept``: tree prefixes, broader concepts and their ancestors."""
        ident = (concept.system, concept.code)
        if ident in self._ancestors:
            return self._ancestors[ident]
        self._ancestors[ident] = frozenset()  # a cycle in the data ends here instead of recursing forever
        found: set[tuple[str, str]] = set()
        for tree in concept.trees:
            parts = tree.split(".")
            for i in range(1, len(parts)):
                above = self.vocabulary.by_tree.get(".".join(parts[:i]))
                if above is not None:
                    found.add((above.system, above.code))
        for system, code in concept.broader:
            above = self.vocabulary.by_code[(system, code)]
            found.add((system, code))
            found |= self.ancestors(above)
        for system, code in list(found):
            found |= self.ancestors(self.vocabulary.by_code[(system, code)])
        found.discard(ident)
        self._ancestors[ident] = frozenset(found)
        return self._ancestors[ident]

    def above(self, system: str, code: str) -> frozenset[tuple[str, str]]:
        """Every (system, code) that subsumes (system, code) — ``subsumes(a, d)`` is ``key(a) in above(d)`` with
        ``key`` = (system, code in its published form) —, computed once per code: the judge tests many criteria
        against one record."""
        ident = (system, code)
        found = self._above.get(ident)
        if found is not None:
            return found
        out: set[tuple[str, str]] = {(system, code), (system, key_code(system, code))}
        if system == ICD10CM:
            lineage = icd_lineage(icd_code(code))
            out |= {(ICD10CM, x) for x in lineage}
            if self._icd_owners is None:
                owners: dict[str, set[tuple[str, str]]] = {}
                for owner, codes in self.icd_below.items():
                    for x in codes:
                        owners.setdefault(x, set()).add(owner)
                self._icd_owners = owners
            for x in lineage:
                out |= self._icd_owners.get(x, set())
        else:
            concept = self.concept(system, code)
            if concept is not None:
                out.add((concept.system, concept.code))
                out |= self.ancestors(concept)
                codes = [c for c, _ in concept.icd10cm]
                if codes:
                    common = set(icd_lineage(codes[0]))
                    for c in codes[1:]:
                        common &= icd_lineage(c)
                    out |= {(ICD10CM, x) for x in common}
        self._above[ident] = frozenset(out)
        return self._above[ident]

    def concept(self, system: str, code: str) -> Concept | None:
        if system == MESH:
            code = mesh_ui(code)
        return self.vocabulary.by_code.get((system, code))

    def subsumes(self, a_system: str, a_code: str, d_system: str, d_code: str) -> bool:
        """True when (d_system, d_code) is (a_system, a_code) or a kind of it."""
        if a_system == ICD10CM and d_system == ICD10CM:
            return icd_code(a_code) in icd_lineage(icd_code(d_code))
        if d_system == ICD10CM:
            ancestor = self.concept(a_system, a_code)
            if ancestor is None:
                return False
            below = self.icd_below.get((ancestor.system, ancestor.code), set())
            return bool(below & icd_lineage(icd_code(d_code)))
        descendant = self.concept(d_system, d_code)
        if a_system == ICD10CM:
            # A concept is a kind of an ICD-10-CM code when every code it is cross-mapped to lies below that code.
            codes = [code for code, _ in descendant.icd10cm] if descendant else []
            target = icd_code(a_code)
            return bool(codes) and all(target in icd_lineage(code) for code in codes)
        ancestor = self.concept(a_system, a_code)
        if ancestor is None or descendant is None:
            return a_system == d_system and a_code == d_code
        return ancestor is descendant or (ancestor.system, ancestor.code) in self.ancestors(descendant)


@lru_cache(maxsize=4)
def _compiled(directory: str) -> Hierarchy:
    return Hierarchy(vocabulary_at(directory))


def get_hierarchy() -> Hierarchy:
    """The hierarchy of the configured vocabulary, computed once per process."""
    return _compiled(vocabulary_dir())
