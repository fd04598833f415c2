"""Table-driven extensions for CT.gov fields FHIR R4 has no element for, https://hl7.org/fhir/R4/extensibility.html."""
from __future__ import annotations

from typing import Any

from .codes import enum_coding
from .dates import fhir_date
from .record import Record
from .tables import ExtensionSpec


def _values(rec: Record, path: str) -> list[tuple[str, Any]]:
    """(value[x] name, value) pairs for one field, following its ctgov-model.yaml type."""
    kind = rec.tables.fields[path]
    raw = rec.typed(rec.node(path), path, kind)
    if raw is None or raw == []:
        return []
    if kind.startswith("enum"):
        enum = rec.tables.enum_of(path)
        assert enum is not None
        out: list[tuple[str, Any]] = []
        for item in raw if isinstance(raw, list) else [raw]:
            coding = enum_coding(rec, enum, item, path)
            out.append(("valueCoding", coding) if coding else ("valueString", item))
        return out
    if kind == "strings":
        return [("valueString", v) for v in raw]
    if kind == "date":
        day = fhir_date(rec, raw, path)
        return [("valueDate", day)] if day else []
    name = {"string": "valueString", "markup": "valueMarkdown", "boolean": "valueBoolean",
            "integer": "valueInteger", "number": "valueDecimal"}[kind]
    return [(name, raw)]


def table_extensions(rec: Record, rtype: str) -> list[dict[str, Any]]:
    """Every table-driven extension of one resource type that the record has data for, in table order."""
    out: list[dict[str, Any]] = []
    for spec in rec.tables.extensions.get(rtype, ()):
        if spec.python:
            continue
        out.extend(_one(rec, spec))
    return out


def _one(rec: Record, spec: ExtensionSpec) -> list[dict[str, Any]]:
    if spec.field:
        return [{"url": spec.url, key: value} for key, value in _values(rec, spec.field)]
    parts = [{"url": name, key: value} for name, path in spec.parts for key, value in _values(rec, path)]
    return [{"url": spec.url, "extension": parts}] if parts else []
