"""Closed value sets of token search parameters, and the warning a code outside them earns.

https://hl7.org/fhir/R4/search.html#token, https://hl7.org/fhir/R4/terminologies.html#required. A parameter is
closed when every part of its expression yields codes from known, complete lists: an element with a required
binding (validation/definitions/required-bindings-r4.json), an element the mapping fills from CT.gov enums
(mappings/fields.yaml -> ctgov-model.yaml enums and codes.yaml tables), or one of our extensions whose field is
an enum (mappings/extensions.yaml). ``recruitment=RECRUITNG`` then gets a warning instead of a silent empty page.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import Issue
from ..mapping.tables import Tables, get_tables
from ..search.fhirpath_syntax import split_union
from ..search.registry import Registry, default_registry
from ..search.request import SearchRequest, TokenValue

_PATH = re.compile(r"^[A-Z][A-Za-z]+(\.[a-z][A-Za-z]*)+$")
_EXTENSION_VALUE = re.compile(r"^[A-Z][A-Za-z]+\.extension\('([^']+)'\)\.value$")
Systems = dict[str, frozenset[str]]  # system -> codes


@dataclass(frozen=True)
class ClosedSet:
    systems: Systems

    @property
    def codes(self) -> frozenset[str]:
        return frozenset().union(*self.systems.values())


def _merge(parts: list[Systems]) -> Systems:
    out: dict[str, set[str]] = {}
    for part in parts:
        for system, codes in part.items():
            out.setdefault(system, set()).update(codes)
    return {s: frozenset(c) for s, c in out.items()}


class ClosedSets:
    """(resource type, parameter code) -> its closed set, or None when the parameter is open."""

    def __init__(self, registry: Registry, tables: Tables) -> None:
        from ..validation.tables import load_tables

        self._registry = registry
        self._tables = tables
        self._bindings = load_tables()
        self._cache: dict[tuple[str, str], ClosedSet | None] = {}

    def _enum_systems(self, field: str, tables: bool = True) -> Systems | None:
        """The CT.gov enum's codes, and (``tables``) the FHIR codes the code tables map that field to."""
        enum = self._tables.enum_of(field)
        if enum is None:
            return None
        out: list[Systems] = [{enum.system: frozenset(enum.labels)}]
        for table in self._tables.codes.values():
            if tables and table.field == field:
                out.append({table.system: frozenset(table.map.values()) | (
                    frozenset({table.default}) if table.default else frozenset())})
        return _merge(out)

    def _element(self, path: str) -> Systems | None:
        value_set = self._bindings.bindings.get(path)
        if value_set is not None:
            return self._bindings.value_sets[value_set]
        fields = [row["field"] for row in self._tables.rows if row.get("element") == path]
        found = [self._enum_systems(f) for f in fields]
        if not found or any(f is None for f in found):
            return None
        return _merge([f for f in found if f is not None])

    def _part(self, part: str) -> Systems | None:
        if _PATH.match(part):
            return self._element(part)
        if m := _EXTENSION_VALUE.match(part):
            for specs in self._tables.extensions.values():
                for spec in specs:
                    if spec.url == m[1] and spec.field and not spec.python:
                        return self._enum_systems(spec.field, tables=False)  # the CT.gov coding only
        return None

    def of(self, resource_type: str, code: str) -> ClosedSet | None:
        key = (resource_type, code)
        if key not in self._cache:
            param = self._registry.get(resource_type, code)
            found: ClosedSet | None = None
            if param is not None and param.type == "token" and param.expression:
                parts = [self._part(p) for p in split_union(param.expression)]
                if parts and all(p is not None for p in parts):
                    found = ClosedSet(_merge([p for p in parts if p is not None]))
            self._cache[key] = found
        return self._cache[key]

    def check(self, request: SearchRequest) -> list[Issue]:
        """One warning per token value that cannot match: a code (or system) outside the parameter's closed set."""
        issues = []
        for f in request.filters:
            if f.type != "token" or f.modifier is not None:
                continue
            closed = self.of(f.resource_type, f.param)
            if closed is None:
                continue
            for value in f.values:
                if isinstance(value, TokenValue) and (why := _outside(closed, value)) is not None:
                    issues.append(Issue("warning", "code-invalid", f"Search parameter {f.name!r}: {why}",
                                        (f.name,)))
        return issues


def _suggest(code: str, codes: frozenset[str]) -> str:
    same_case = [c for c in codes if c.casefold() == code.casefold()]
    close = same_case or difflib.get_close_matches(code, sorted(codes), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _outside(closed: ClosedSet, value: TokenValue) -> str | None:
    if value.system is not None:
        if value.system not in closed.systems:
            return (f"the system {value.system!r} is not one this parameter holds, so it matches nothing "
                    f"(it holds {', '.join(sorted(closed.systems))})")
        codes = closed.systems[value.system]
    else:
        codes = closed.codes
    if value.code is None or value.code in codes:
        return None
    listed = f"; its codes: {', '.join(sorted(codes))}" if len(codes) <= 15 else ""
    return (f"the code {value.code!r} is not in its closed value set, so it matches nothing"
            f"{_suggest(value.code, codes)}{listed}")


@lru_cache(maxsize=1)
def closed_sets() -> ClosedSets:
    """Over the default registry and mapping tables, built once per process."""
    return ClosedSets(default_registry(), get_tables())


__all__ = ["ClosedSet", "ClosedSets", "closed_sets"]
