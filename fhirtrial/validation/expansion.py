"""Offline expansion of ValueSets from the package's CodeSystems, https://hl7.org/fhir/R4/valueset.html#expansion.

Only what is certain without a terminology server is expanded: explicit concept lists, whole code systems whose
content is ``complete`` in the package, other value sets, and ``exclude`` of explicit concepts. Filters and
external systems (UCUM, BCP-47, MIME types, ISO 4217, ...) raise ``Unexpandable`` with the reason.
"""
from __future__ import annotations

from typing import Any, Iterator

from .sources import Definitions, strip_version


class Unexpandable(Exception):
    """The value set cannot be expanded from the package alone; the message says why."""


def _all_codes(concepts: list[dict[str, Any]]) -> Iterator[str]:
    # Code systems are hierarchical: every nested concept is a code of the system too.
    for concept in concepts:
        yield concept["code"]
        yield from _all_codes(concept.get("concept", []))


def _whole_system(defs: Definitions, system: str) -> set[str]:
    cs = defs.code_systems.get(system)
    if cs is None:
        raise Unexpandable(f"code system {system} is external (not in the package)")
    if cs.get("content") != "complete":
        raise Unexpandable(f"code system {system} is not complete in the package (content={cs.get('content')})")
    return set(_all_codes(cs.get("concept", [])))


def _merge(into: dict[str, set[str]], other: dict[str, set[str]]) -> None:
    for system, codes in other.items():
        into.setdefault(system, set()).update(codes)


def _include(defs: Definitions, part: dict[str, Any], seen: frozenset[str]) -> dict[str, set[str]]:
    if part.get("filter"):
        ops = ", ".join(f"{f.get('property')} {f.get('op')} {f.get('value')}" for f in part["filter"])
        raise Unexpandable(f"filter ({ops}) on {part.get('system')}")
    system = part.get("system")
    if part.get("valueSet"):
        if system:
            raise Unexpandable("include of a system intersected with value sets")
        out: dict[str, set[str]] = {}
        for url in part["valueSet"]:
            _merge(out, _expand(defs, strip_version(url), seen))
        return out
    if not system:
        raise Unexpandable("include without system")
    if part.get("concept"):
        return {system: {c["code"] for c in part["concept"]}}
    return {system: _whole_system(defs, system)}


def _expand(defs: Definitions, url: str, seen: frozenset[str]) -> dict[str, set[str]]:
    if url in seen:
        raise Unexpandable(f"value set {url} includes itself")
    vs = defs.value_sets.get(url)
    if vs is None:
        raise Unexpandable(f"value set {url} is not in the package")
    compose = vs.get("compose") or {}
    if not compose.get("include"):
        raise Unexpandable(f"value set {url} has no compose.include")
    out: dict[str, set[str]] = {}
    for part in compose["include"]:
        _merge(out, _include(defs, part, seen | {url}))
    for part in compose.get("exclude", []):
        if part.get("filter") or part.get("valueSet") or not part.get("concept"):
            raise Unexpandable(f"value set {url} excludes by filter or value set")
        out.get(part.get("system", ""), set()).difference_update(c["code"] for c in part["concept"])
    return out


def expand(defs: Definitions, url: str) -> dict[str, list[str]]:
    """system -> sorted codes of the value set at ``url``; raises Unexpandable."""
    return {system: sorted(codes) for system, codes in sorted(_expand(defs, strip_version(url), frozenset()).items())}
