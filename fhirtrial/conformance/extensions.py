"""StructureDefinitions of our extensions, generated from mappings/extensions.yaml, https://hl7.org/fhir/R4/extensibility.html.

A ``field`` entry has the value type its CT.gov field's type gives (ctgov-model.yaml: string -> string, markup ->
markdown, enum -> Coding in the CT.gov CodeSystem, ...); ``parts`` make a complex extension with one typed
sub-extension per part. Entries the mapping code builds (``python: true``) are described by their note: their
value type is left open, their context is any element.
"""
from __future__ import annotations

from typing import Any, Iterator

from ..mapping.tables import ExtensionSpec, Tables, get_tables

EXTENSION = "http://hl7.org/fhir/StructureDefinition/Extension"
VALUE_TYPES = {"string": "string", "strings": "string", "markup": "markdown", "boolean": "boolean",
               "integer": "integer", "number": "decimal", "date": "date", "enum": "Coding", "enums": "Coding"}


def _name(slug: str) -> str:
    return "".join(part.capitalize() for part in slug.split("-"))


def _value_type(tables: Tables, path: str) -> str:
    kind = tables.fields[path].split(":", 1)[0]
    if kind not in VALUE_TYPES:
        raise ValueError(f"extensions.yaml: field {path} of type {kind} has no extension value type")
    return VALUE_TYPES[kind]


def _value(element_id: str, value_type: str | None, binding_system: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": f"{element_id}.value[x]", "path": "Extension.value[x]", "min": 1}
    if value_type:
        out["type"] = [{"code": value_type}]
    if binding_system:
        out["short"] = f"A code of {binding_system}"
    return out


def _simple(tables: Tables, spec: ExtensionSpec) -> list[dict[str, Any]]:
    assert spec.field is not None
    enum = tables.enum_of(spec.field)
    return [{"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": spec.url},
            _value("Extension", _value_type(tables, spec.field), enum.system if enum else None)]


def _complex(tables: Tables, spec: ExtensionSpec) -> list[dict[str, Any]]:
    elements: list[dict[str, Any]] = [{"id": "Extension.extension", "path": "Extension.extension", "slicing": {
        "discriminator": [{"type": "value", "path": "url"}], "rules": "closed"}}]
    for part, path in spec.parts:
        enum = tables.enum_of(path)
        sid = f"Extension.extension:{part}"
        repeats = tables.fields[path].split(":", 1)[0] in ("strings", "enums")
        elements += [{"id": sid, "path": "Extension.extension", "sliceName": part, "min": 0,
                      "max": "*" if repeats else "1"},
                     {"id": f"{sid}.extension", "path": "Extension.extension.extension", "max": "0"},
                     {"id": f"{sid}.url", "path": "Extension.extension.url", "fixedUri": part},
                     {**_value(sid, _value_type(tables, path), enum.system if enum else None),
                      "path": "Extension.extension.value[x]"}]
    elements += [{"id": "Extension.url", "path": "Extension.url", "fixedUri": spec.url},
                 {"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"}]
    return elements


def extension_definition(tables: Tables, resource_type: str, spec: ExtensionSpec, note: str = "") -> dict[str, Any]:
    slug = spec.url.rsplit("/", 1)[1]
    source = spec.field or ", ".join(path for _, path in spec.parts)
    description = f"ClinicalTrials.gov field {source}" + (f": {note}" if note else "")
    root = {"id": "Extension", "path": "Extension", "short": _name(slug), "definition": description}
    if spec.python:
        body = [root, {"id": "Extension.url", "path": "Extension.url", "fixedUri": spec.url}]
    else:
        body = [root] + (_complex(tables, spec) if spec.parts else _simple(tables, spec))
    return {
        "resourceType": "StructureDefinition", "id": slug, "url": spec.url, "version": "1", "name": _name(slug),
        "title": f"fhirtrial extension {slug}", "status": "active", "experimental": False, "publisher": "fhirtrial",
        "description": description, "fhirVersion": "4.0.1", "kind": "complex-type", "abstract": False,
        "context": [{"type": "element", "expression": "Element" if spec.python else resource_type}],
        "type": "Extension", "baseDefinition": EXTENSION, "derivation": "constraint",
        "differential": {"element": body},
    }


def extension_definitions() -> Iterator[dict[str, Any]]:
    import yaml

    tables = get_tables()
    from ..config import get_settings

    raw = yaml.safe_load((get_settings().mappings_dir / "extensions.yaml").read_text(encoding="utf-8"))
    notes = {e["name"]: str(e.get("note", "")) for entries in raw.values() for e in entries}
    for resource_type, specs in tables.extensions.items():
        for spec in specs:
            yield extension_definition(tables, resource_type, spec, notes.get(spec.name, ""))
