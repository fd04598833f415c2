"""The shipped tables derived from the R4 definitions (see generate.py), loaded once.

https://hl7.org/fhir/R4/elementdefinition.html
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"


@dataclass(frozen=True)
class Child:
    """One JSON property of a type: its element path, type (datatype, backbone path or primitive) and arity."""

    name: str
    path: str
    type: str
    many: bool
    complex: bool  # has children to walk (datatype, backbone element, or a contained Resource)


@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity, so per-table caches work
class Tables:
    """Element tree, required bindings (expanded) and invariants of the served types."""

    resource_types: frozenset[str]
    types: dict[str, dict[str, Child]]
    bindings: dict[str, str]  # element path -> value set URL
    value_sets: dict[str, dict[str, frozenset[str]]]  # value set URL -> system -> codes
    skipped_bindings: dict[str, dict[str, str]]
    invariants: dict[str, list[dict[str, str]]]  # owner (type or element path) -> constraints
    skipped_invariants: list[dict[str, str]]

    def is_complex(self, type_key: str) -> bool:
        return type_key in self.types

    def codes(self, value_set: str) -> frozenset[str]:
        """Every code of the value set, whatever the system (for ``code`` elements, the system is implied)."""
        return _all_codes(self, value_set)


@lru_cache(maxsize=None)
def _all_codes(tables: Tables, value_set: str) -> frozenset[str]:
    return frozenset().union(*tables.value_sets[value_set].values())


def read_table(name: str) -> Any:
    return orjson.loads((DEFINITIONS_DIR / name).read_bytes())


@lru_cache(maxsize=1)
def load_tables() -> Tables:
    """Parse the definitions directory once per process."""
    elements = read_table("elements-r4.json")
    bindings = read_table("required-bindings-r4.json")
    invariants = read_table("invariants-r4.json")
    known = elements["types"].keys() | {"Resource"}
    types = {key: {name: Child(name, spec[0], spec[1], bool(spec[2]), spec[1] in known)
                   for name, spec in children.items()}
             for key, children in elements["types"].items()}
    value_sets = {url: {system: frozenset(codes) for system, codes in systems.items()}
                  for url, systems in bindings["valueSets"].items()}
    return Tables(frozenset(elements["resourceTypes"]), types, bindings["bindings"], value_sets,
                  bindings["skipped"], invariants["invariants"], invariants["skipped"])
