"""FHIR R4 type knowledge for the FHIRPath compiler, from fhirpathpy's model (https://hl7.org/fhir/R4/datatypes.html)."""
from __future__ import annotations

import re
from typing import Any

from fhirpathpy.models import models

_MODEL = models["r4"]
_PATH_TYPE: dict[str, str] = _MODEL["path2Type"]
_CHOICES: dict[str, list[str]] = _MODEL["choiceTypePaths"]
_ELSEWHERE: dict[str, str] = _MODEL["pathsDefinedElsewhere"]
_PARENT: dict[str, str] = _MODEL["type2Parent"]
_BACKBONES = frozenset(p.rsplit(".", 1)[0] for p in _PATH_TYPE)
PRIMITIVES = frozenset({"boolean", "integer", "string", "decimal", "uri", "url", "canonical", "base64Binary",
                        "instant", "date", "dateTime", "time", "code", "oid", "id", "markdown", "unsignedInt",
                        "positiveInt", "uuid"})
_PRIMITIVE_BY_LOWER = {p.lower(): p for p in PRIMITIVES}
_REFERENCE_TYPE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^/]+)?$")


def fhir_type(name: str) -> str:
    """FHIR spelling of a type name: choice suffixes and FHIR.x/System.x qualifiers normalised."""
    name = name.rsplit(".", 1)[-1]
    return _PRIMITIVE_BY_LOWER.get(name.lower(), name)


def is_resource_type(name: str | None) -> bool:
    while name is not None:
        if name in ("Resource", "DomainResource"):
            return True
        name = _PARENT.get(name)
    return False


def is_subtype(actual: str, wanted: str) -> bool:
    name: str | None = actual
    while name is not None:
        if name == wanted:
            return True
        name = _PARENT.get(name)
    return False


def reference_type(reference: Any) -> str | None:
    """The resource type a Reference points at, from its literal reference or explicit type."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    if isinstance(text, str) and (m := _REFERENCE_TYPE.search(text)):
        return m[1]
    explicit = reference.get("type")
    return explicit if isinstance(explicit, str) else None


def element_type(path: str | None, name: str) -> tuple[str | None, tuple[str, ...] | None]:
    """(static type, choice types) of ``path.name``."""
    if path is None:
        return None, None
    candidates = [f"{path}.{name}"]
    if is_resource_type(path):
        candidates += [f"DomainResource.{name}", f"Resource.{name}"]
    for full in candidates:
        if full in _CHOICES:
            return None, tuple(_CHOICES[full])
        if full in _ELSEWHERE:
            return _ELSEWHERE[full], None
        if full in _PATH_TYPE:
            return fhir_type(_PATH_TYPE[full]), None
        if full in _BACKBONES:
            return full, None
    for parent in (_PARENT.get(path), "Element"):
        if parent and parent != path and not is_resource_type(path):
            found = element_type(parent, name)
            if found != (None, None):
                return found
    return None, None


def choice_key(name: str, type_name: str) -> str:
    return name + type_name[0].upper() + type_name[1:]
