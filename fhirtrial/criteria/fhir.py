"""A coded criterion as an R4 Group.characteristic: the sentence in code.text, codings and value[x] beside it.

https://hl7.org/fhir/R4/group-definitions.html#Group.characteristic ; R5 elements R4 lacks through the official
cross-version extensions (http://hl7.org/fhir/5.0/StructureDefinition/extension-Group.characteristic.<element>).
"""
from __future__ import annotations

from typing import Any

from ..canonical import EXTENSION_BASE
from .concepts import UCUM, Window
from .model import CodedCriterion, Part

PART = f"{EXTENSION_BASE}/criterion-part"
CODING = f"{EXTENSION_BASE}/criterion-coding"
XVER = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Group.characteristic"
OFFSET = f"{XVER}.offset"  # R5 Group.characteristic.offset: reference point (upper/lower normal limit)
DURATION = f"{XVER}.duration"  # R5 Group.characteristic.duration[x]: the time window the characteristic is met in
OFFSET_SYSTEM = "http://hl7.org/fhir/characteristic-offset"
GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
_WINDOW_NAMES = {"min": "minutes", "h": "hours", "d": "days", "wk": "weeks", "mo": "months", "a": "years"}


def _num(value: float) -> int | float:
    """JSON numbers as the text wrote them: 18, not 18.0 (byte-stable output, readable values)."""
    return int(value) if float(value).is_integer() and abs(value) < 1e15 else value


def _quantity(value: float, unit: str | None, comparator: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": _num(value)}
    if comparator:
        q["comparator"] = comparator
    if unit:
        q.update({"unit": unit, "system": UCUM, "code": unit})
    return q


def _duration(w: Window) -> dict[str, Any]:
    return {"value": _num(w.value), "unit": _WINDOW_NAMES.get(w.unit, w.unit), "system": UCUM, "code": w.unit}


def _value(part: Part) -> tuple[str, Any] | None:
    """The value[x] of a part: a Quantity with comparator, a Range, a CodeableConcept (sex), or None."""
    if part.sex:
        return "valueCodeableConcept", {"coding": [{"system": GENDER_SYSTEM, "code": part.sex}], "text": part.sex}
    if part.uln is not None or part.lln is not None:
        return "valueQuantity", _quantity(part.uln if part.uln is not None else part.lln, None, part.comparator)
    if part.low is not None or part.high is not None:
        if part.value is not None and part.comparator:  # one-sided: "age >= 18" is also the range [18, ...)
            return "valueQuantity", _quantity(part.value, part.unit, part.comparator)
        rng: dict[str, Any] = {}
        if part.low is not None:
            rng["low"] = _quantity(part.low, part.unit)
        if part.high is not None:
            rng["high"] = _quantity(part.high, part.unit)
        return "valueRange", rng
    if part.value is not None:
        return "valueQuantity", _quantity(part.value, part.unit, part.comparator)
    return None


def _concept(part: Part, text: str) -> dict[str, Any]:
    codings = [{"system": c.system, "code": c.code, "display": c.display} for c in part.codings]
    return {"coding": codings, "text": text[part.start:part.end]}


def part_extension(part: Part, text: str) -> dict[str, Any]:
    """One ``criterion-part`` complex extension (see definitions/StructureDefinition-criterion-part.json)."""
    ext: list[dict[str, Any]] = [
        {"url": "category", "valueCode": part.category},
        {"url": "concept", "valueCodeableConcept": _concept(part, text)},
    ]
    value = _value(part)
    if value is not None:
        ext.append({"url": "value", value[0]: value[1]})
    if part.uln is not None:
        ext.append({"url": "uln-multiple", "valueDecimal": _num(part.uln)})
    if part.lln is not None:
        ext.append({"url": "lln-multiple", "valueDecimal": _num(part.lln)})
    if part.negated:
        ext.append({"url": "negated", "valueBoolean": True})
    if part.status:
        ext.append({"url": "status", "valueCode": part.status})
    if part.window is not None:
        ext.append({"url": "window", "valueDuration": _duration(part.window)})
    if part.operator:
        ext.append({"url": "operator", "valueCode": part.operator})
    ext += [{"url": "start", "valueInteger": part.start}, {"url": "end", "valueInteger": part.end}]
    return {"url": PART, "extension": ext}


def _promoted(coded: CodedCriterion) -> Part | None:
    """The part plain FHIR readers see in code.coding / value[x]: the first one that is asserted as it stands.

    A negated part ("no history of MI") cannot be: R4 has no negation on a characteristic other than ``exclude``,
    which keeps its meaning of "an exclusion criterion" here. It stays in its criterion-part extension.
    """
    for part in coded.parts:
        if not part.negated and part.status != "hypothetical" and part.category != "sex":
            return part
    return None


def characteristic(coded: CodedCriterion, exclude: bool, extensions: list[dict[str, Any]]) -> dict[str, Any]:
    """The Group.characteristic of a criterion; ``extensions`` are the caller's (cohort, unparsed) put first."""
    exts = list(extensions)
    exts.append({"url": CODING, "valueCode": coded.level})
    exts += [part_extension(p, coded.text) for p in coded.parts]
    code: dict[str, Any] = {"text": coded.text}
    value: tuple[str, Any] = ("valueBoolean", True)
    first = _promoted(coded)
    if first is not None:
        code = {"coding": _concept(first, coded.text)["coding"], "text": coded.text}
        value = _value(first) or value
        if first.uln is not None or first.lln is not None:
            exts.append({"url": OFFSET, "valueCodeableConcept": {"coding": [{
                "system": OFFSET_SYSTEM, "code": "UNL" if first.uln is not None else "LNL",
                "display": "Upper Normal Limit" if first.uln is not None else "Lower Normal Limit"}]}})
        if first.window is not None:
            exts.append({"url": DURATION, "valueDuration": _duration(first.window)})
    out: dict[str, Any] = {"extension": exts, "code": code, value[0]: value[1], "exclude": exclude}
    return out
