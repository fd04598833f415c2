"""Status, phase, purpose and design of a study as ResearchStudy codes, https://hl7.org/fhir/R4/researchstudy.html."""
from __future__ import annotations

from typing import Any

from .codes import concept, enum_coding, field_concept
from .record import Record

STATUS = "protocolSection.statusModule"
DESIGN = "protocolSection.designModule"
INFO = f"{DESIGN}.designInfo"


def status(rec: Record) -> str:
    """The required R4 status code: overallStatus mapped, UNKNOWN via lastKnownStatus, else the table default."""
    table = rec.tables.codes["overallStatus"]
    module = rec.obj(rec.node(STATUS), STATUS)
    if module is None:
        return table.default or "active"
    value = rec.text(module.get("overallStatus"), f"{STATUS}.overallStatus")
    if value == "UNKNOWN":
        last = rec.text(module.get("lastKnownStatus"), f"{STATUS}.lastKnownStatus")
        if last in table.map and last != "UNKNOWN":
            return table.map[last]
    if value is None:
        return table.default or "active"
    if value not in table.map:
        rec.warn(f"{STATUS}.overallStatus", f"unknown value {value[:60]!r}; status set to {table.default!r}")
        return table.default or "active"
    return table.map[value]


def protocol_status(rec: Record) -> str:
    table = rec.tables.codes["protocolStatus"]
    value = rec.text(rec.node(f"{STATUS}.overallStatus"), f"{STATUS}.overallStatus")
    return table.map.get(value or "", table.default or "unknown")


def phase(rec: Record) -> dict[str, Any] | None:
    """One CodeableConcept: the HL7 phase code for the record's phase(s) plus one CT.gov coding per phase."""
    path = f"{DESIGN}.phases"
    values = rec.texts(rec.node(path), path)
    if not values:
        return None
    table = rec.tables.codes["phases"]
    enum = table.enum
    codings: list[dict[str, str]] = []
    code = table.map.get("+".join(values))
    if code is None:
        rec.warn(path, f"phase combination {values} has no R4 code; kept as CT.gov codings and text")
    else:
        codings.append({"system": table.system, "code": code})
    labels = []
    for value in values:
        own = enum_coding(rec, enum, value, path)
        if own is not None:
            codings.append(own)
        labels.append(own["display"] if own else value)
    out: dict[str, Any] = {"coding": codings} if codings else {}
    out["text"] = "/".join(labels)
    return out


def primary_purpose(rec: Record) -> dict[str, Any] | None:
    info = rec.obj(rec.node(INFO), INFO)
    return field_concept(rec, info, "primaryPurpose", f"{INFO}.primaryPurpose", rec.tables.codes["primaryPurpose"])


# (object path, key, label prefix) of every design enum that becomes a ResearchStudy.category, in display order.
_CATEGORIES = (
    (DESIGN, "studyType", "Study type: "),
    (INFO, "allocation", "Allocation: "),
    (INFO, "interventionModel", "Intervention model: "),
    (INFO, "observationalModel", "Observational model: "),
    (INFO, "timePerspective", "Time perspective: "),
    (f"{INFO}.maskingInfo", "masking", "Masking: "),
)


def categories(rec: Record) -> list[dict[str, Any]]:
    out = []
    for path, key, prefix in _CATEGORIES:
        found = field_concept(rec, rec.obj(rec.node(path), path), key, f"{path}.{key}", prefix=prefix)
        if found is not None:
            out.append(found)
    path = f"{INFO}.maskingInfo.whoMasked"
    enum = rec.tables.enum_of(path)
    assert enum is not None
    for who in rec.texts(rec.node(path), path):
        out.append(concept(rec, enum, who, path, prefix="Masked: "))
    return out
