"""The registry of definitional resources: generators plus definition files, validated once at load.

https://hl7.org/fhir/R4/conformance-module.html. To publish a new definition, drop a JSON file (one resource, an
array, or a Bundle) into ``definitions/``, or add a generator to ``GENERATORS`` (a function returning resources).
Every resource must be of a DEFINITIONAL_TYPES type, have an id, a canonical ``url`` equal to
``CANONICAL_BASE/<type>/<id>``, a name and a status, parse as its FHIR model and be unique by id and url.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable

from ..canonical import CANONICAL_BASE
from ..resources import DEFINITIONAL_TYPES, ID_PATTERN
DEFINITIONS_DIR = Path(__file__).with_name("definitions")
_NAME = re.compile(r"^[A-Z]([A-Za-z0-9_]){0,254}$")  # inv-0 / cnl-0: usable as an identifier

Generator = Callable[[], Iterable[dict[str, Any]]]


class DefinitionError(ValueError):
    """A definition that cannot be served (names its source)."""


def _generators() -> list[tuple[str, Generator]]:
    from ..criteria.definitions import definitions as criteria_definitions
    from .codesystems import code_systems
    from .extensions import extension_definitions
    from .search_parameters import search_parameters

    return [("mappings/ (code systems)", code_systems), ("mappings/extensions.yaml", extension_definitions),
            ("search/definitions/trial-search-parameters.json", search_parameters),
            ("criteria/definitions/", criteria_definitions)]


def _from_file(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DefinitionError(f"{path.name}: not readable JSON: {exc}") from None
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        return [e.get("resource") for e in data.get("entry", [])]
    return data if isinstance(data, list) else [data]


def _model_errors(resource: dict[str, Any]) -> str | None:
    """The FHIR model's verdict (fhir.resources R4B models: these four types are unchanged from R4)."""
    import importlib

    from pydantic import ValidationError

    module = importlib.import_module(f"fhir.resources.R4B.{resource['resourceType'].lower()}")
    try:
        getattr(module, resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
    return None


def check(resource: Any, source: str) -> None:
    """Raise DefinitionError unless ``resource`` can be served."""
    if not isinstance(resource, dict):
        raise DefinitionError(f"{source}: a definition must be a JSON object")
    rtype, rid = resource.get("resourceType"), resource.get("id")
    where = f"{source}: {rtype}/{rid}"
    if rtype not in DEFINITIONAL_TYPES:
        raise DefinitionError(f"{where}: only {', '.join(DEFINITIONAL_TYPES)} are served as definitions")
    if not isinstance(rid, str) or not ID_PATTERN.match(rid):
        raise DefinitionError(f"{where}: needs a valid id")
    if resource.get("url") != f"{CANONICAL_BASE}/{rtype}/{rid}":
        raise DefinitionError(f"{where}: url must be {CANONICAL_BASE}/{rtype}/{rid}")
    if not isinstance(resource.get("name"), str) or not resource.get("status"):
        raise DefinitionError(f"{where}: needs a name and a status")
    if rtype != "SearchParameter" and not _NAME.match(resource["name"]):
        raise DefinitionError(f"{where}: name {resource['name']!r} is not usable as an identifier")
    if (errors := _model_errors(resource)) is not None:
        raise DefinitionError(f"{where}: not a valid {rtype}: {errors}")


class Definitions:
    """Every served definition by type and id, and by canonical URL."""

    def __init__(self, sources: Iterable[tuple[str, Iterable[dict[str, Any]]]]) -> None:
        self._by_type: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in DEFINITIONAL_TYPES}
        self._by_url: dict[str, dict[str, Any]] = {}
        for source, resources in sources:
            for resource in resources:
                self.add(resource, source)

    def add(self, resource: dict[str, Any], source: str) -> None:
        check(resource, source)
        rtype, rid = resource["resourceType"], resource["id"]
        if rid in self._by_type[rtype] or resource["url"] in self._by_url:
            raise DefinitionError(f"{source}: {rtype}/{rid} is defined twice")
        self._by_type[rtype][rid] = resource
        self._by_url[resource["url"]] = resource

    def read(self, resource_type: str, resource_id: str) -> dict[str, Any] | None:
        return self._by_type.get(resource_type, {}).get(resource_id)

    def of_type(self, resource_type: str) -> list[dict[str, Any]]:
        """The definitions of a type, in id order."""
        found = self._by_type.get(resource_type, {})
        return [found[i] for i in sorted(found)]

    def by_url(self, url: str) -> dict[str, Any] | None:
        return self._by_url.get(url)

    def profiles_of(self, resource_type: str) -> list[str]:
        """Canonical URLs of the profiles (constraints) on a resource type."""
        return [sd["url"] for sd in self.of_type("StructureDefinition")
                if sd.get("type") == resource_type and sd.get("derivation") == "constraint"]

    def extensions_on(self, resource_type: str) -> list[str]:
        """Canonical URLs of the extensions whose context is the resource type or one of its elements."""
        return [sd["url"] for sd in self.of_type("StructureDefinition") if sd.get("type") == "Extension"
                and any(c.get("expression", "").split(".")[0] == resource_type for c in sd.get("context", []))]


def load_definitions(directory: Path = DEFINITIONS_DIR,
                     generators: Iterable[tuple[str, Generator]] | None = None) -> Definitions:
    """Generators first, then every ``*.json`` in ``directory`` (sorted); raises DefinitionError."""
    sources: list[tuple[str, Iterable[dict[str, Any]]]] = [
        (name, list(make())) for name, make in (_generators() if generators is None else generators)]
    sources += [(f"definitions/{p.name}", _from_file(p)) for p in sorted(Path(directory).glob("*.json"))]
    return Definitions(sources)


@lru_cache(maxsize=1)
def default_definitions() -> Definitions:
    """The package's definitions, loaded once per process."""
    return load_definitions()
