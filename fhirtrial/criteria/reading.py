"""A stored eligibility Group read back for judging: each characteristic's kind, sentence and coded parts.

The inverse of fhir.py (https://hl7.org/fhir/R4/group-definitions.html#Group.characteristic): criterion-part
extensions become Part objects again; the structured age, sex and healthy-volunteer characteristics of the
mapping (mappings/README.md) are recognised by their codes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..canonical import CODESYSTEM_BASE
from .concepts import Coding, Window
from .fhir import CODING, PART
from .model import TEXT_ONLY, Part

SNOMED = "http://snomed.info/sct"
AGE_CODE, SEX_CODE = "397669002", "263495000"
ELIGIBILITY_SYSTEM = f"{CODESYSTEM_BASE}/ctgov-eligibility"


@dataclass(frozen=True, slots=True)
class Characteristic:
    index: int  # position in Group.characteristic
    kind: str  # age | sex | healthy-volunteers | inclusion | exclusion
    text: str
    exclude: bool
    level: str  # full | partial | text-only (criteria); full for the structured ones
    parts: tuple[Part, ...]
    value: dict[str, Any]  # the characteristic's value[x] as {"valueRange": ...}


def _quantity(q: Any) -> tuple[float | None, str | None, str | None]:
    if not isinstance(q, dict):
        return None, None, None
    value = q.get("value")
    return (float(value) if isinstance(value, (int, float)) else None), q.get("code"), q.get("comparator")


def _window(d: Any) -> Window | None:
    value, unit, comparator = _quantity(d)
    if value is None or not unit:
        return None
    return Window(value, unit, comparator if comparator in ("<=", ">=") else "<=")


def _codings(concept: Any) -> tuple[Coding, ...]:
    if not isinstance(concept, dict):
        return ()
    return tuple(Coding(c["system"], c["code"], str(c.get("display") or "")) for c in concept.get("coding") or ()
                 if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str))


def part_of(ext: dict[str, Any]) -> Part | None:
    """A Part from one criterion-part extension; None when it lacks a category."""
    fields: dict[str, Any] = {}
    for sub in ext.get("extension") or ():
        if isinstance(sub, dict):
            fields[sub.get("url")] = sub
    category = (fields.get("category") or {}).get("valueCode")
    if not isinstance(category, str):
        return None
    concept = (fields.get("concept") or {}).get("valueCodeableConcept") or {}
    kw: dict[str, Any] = {}
    value = fields.get("value") or {}
    if "valueQuantity" in value:
        v, unit, comparator = _quantity(value["valueQuantity"])
        kw.update(value=v, unit=unit, comparator=comparator)
        if comparator in (">", ">="):
            kw["low"] = v
        elif comparator in ("<", "<="):
            kw["high"] = v
    elif "valueRange" in value:
        low, unit_low, _ = _quantity(value["valueRange"].get("low"))
        high, unit_high, _ = _quantity(value["valueRange"].get("high"))
        kw.update(low=low, high=high, unit=unit_low or unit_high)
    elif "valueCodeableConcept" in value and category == "sex":
        codes = _codings(value["valueCodeableConcept"])
        kw["sex"] = codes[0].code if codes else None
    if "uln-multiple" in fields:
        kw.update(uln=float(fields["uln-multiple"]["valueDecimal"]), value=None, unit=None, low=None, high=None)
    if "lln-multiple" in fields:
        kw.update(lln=float(fields["lln-multiple"]["valueDecimal"]), value=None, unit=None, low=None, high=None)
    start = (fields.get("start") or {}).get("valueInteger", 0)
    end = (fields.get("end") or {}).get("valueInteger", 0)
    return Part(category, str(concept.get("text") or category), _codings(concept), start, end,
                negated=bool((fields.get("negated") or {}).get("valueBoolean")),
                status=(fields.get("status") or {}).get("valueCode"),
                window=_window((fields.get("window") or {}).get("valueDuration")),
                operator=(fields.get("operator") or {}).get("valueCode"), **kw)


def _value(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c.items() if k.startswith("value")}


_READ: dict[tuple[str, str], tuple[Characteristic, ...]] = {}  # (Group id, versionId): read once (bounded)


def characteristics(group: dict[str, Any]) -> tuple[Characteristic, ...]:
    """The judgeable characteristics of an eligibility Group, in order (standard age groups are left out:
    they restate the age range). A stored Group (id and versionId) is read once."""
    version = (group.get("meta") or {}).get("versionId")
    key = (str(group.get("id")), str(version)) if group.get("id") and version else None
    if key is not None and key in _READ:
        return _READ[key]
    found = tuple(_read(group))
    if key is not None:
        if len(_READ) > 50_000:
            _READ.clear()
        _READ[key] = found
    return found


def _read(group: dict[str, Any]) -> list[Characteristic]:
    out: list[Characteristic] = []
    for i, c in enumerate(group.get("characteristic") or ()):
        if not isinstance(c, dict):
            continue
        code = c.get("code") or {}
        codes = {(x.system, x.code) for x in _codings(code)}
        text = str(code.get("text") or "")
        exclude = bool(c.get("exclude"))
        if (SNOMED, AGE_CODE) in codes:
            out.append(Characteristic(i, "age", text or "Age", False, "full", (), _value(c)))
        elif (SNOMED, SEX_CODE) in codes:
            out.append(Characteristic(i, "sex", text or "Sex", False, "full", (), _value(c)))
        elif (ELIGIBILITY_SYSTEM, "healthy-volunteer") in codes:
            out.append(Characteristic(i, "healthy-volunteers", text or "Healthy volunteer", exclude, "full", (),
                                      _value(c)))
        elif (ELIGIBILITY_SYSTEM, "std-age") in codes:
            continue
        else:
            exts = [e for e in c.get("extension") or () if isinstance(e, dict)]
            level = next((e.get("valueCode") for e in exts if e.get("url") == CODING), TEXT_ONLY)
            parts = tuple(p for p in (part_of(e) for e in exts if e.get("url") == PART) if p is not None)
            out.append(Characteristic(i, "exclusion" if exclude else "inclusion", text, exclude, level, parts,
                                      _value(c)))
    return out
