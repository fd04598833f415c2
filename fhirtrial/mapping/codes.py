"""CT.gov enum values as FHIR Codings/CodeableConcepts via the code tables, https://hl7.org/fhir/R4/datatypes.html#CodeableConcept."""
from __future__ import annotations

from typing import Any

from .record import Record
from .tables import CodeTable, Enum


def ctgov_coding(enum: Enum, value: str) -> dict[str, str] | None:
    """The CT.gov value as a Coding in its fhirtrial code system; None for a value the registry does not define."""
    label = enum.labels.get(value)
    if label is None:
        return None
    return {"system": enum.system, "code": value, "display": label}


def enum_coding(rec: Record, enum: Enum, value: str, path: str) -> dict[str, str] | None:
    coding = ctgov_coding(enum, value)
    if coding is None:
        rec.warn(path, f"unknown value {value[:60]!r} kept as text")
    return coding


def concept(rec: Record, enum: Enum, value: str, path: str, table: CodeTable | None = None,
            prefix: str = "") -> dict[str, Any]:
    """CodeableConcept: the FHIR code (if a table maps it), the CT.gov coding, and the label as text.

    Unknown values become text only, with a warning; they never raise.
    """
    codings: list[dict[str, str]] = []
    if table is not None and value in table.map:
        codings.append({"system": table.system, "code": table.map[value]})
    own = enum_coding(rec, enum, value, path)
    if own is not None:
        codings.append(own)
    text = own["display"] if own else value
    out: dict[str, Any] = {"coding": codings} if codings else {}
    out["text"] = f"{prefix}{text}"
    return out


def field_concept(rec: Record, obj: dict[str, Any] | None, key: str, path: str, table: CodeTable | None = None,
                  prefix: str = "") -> dict[str, Any] | None:
    """The concept for an enum field of ``obj`` (None when absent)."""
    if obj is None:
        return None
    value = rec.text(obj.get(key), path)
    if value is None:
        return None
    enum = rec.tables.enum_of(path)
    assert enum is not None, path
    return concept(rec, enum, value, path, table, prefix)
