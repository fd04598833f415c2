"""Turn FHIRPath results into index entries, per parameter type (https://hl7.org/fhir/R4/search.html#ptypes).

Values arrive as plain JSON (dict, list, str, number, bool); complex types are recognised by shape, which is
what the search spec's type tables amount to for the types search expressions can select.
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, Callable

from fhirtrial.search.dates import MAX_DATETIME, MIN_DATETIME, DateFormatError, date_interval
from fhirtrial.search.index import (DateEntry, NumberEntry, PositionEntry, QuantityEntry, ReferenceEntry,
                                    ResourceIndex, StringEntry, TokenEntry, UriEntry)
from fhirtrial.search.normalize import normalize
from fhirtrial.search.numbers import NumberFormatError, number_range
from fhirtrial.search.references import parse_reference

CONTACT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
# UCUM time units to years, for age ranges searched in years (eligible-age).
YEARS_PER_UNIT = {"a": 1.0, "mo": 1 / 12, "wk": 7 / 365.25, "d": 1 / 365.25, "h": 1 / 8766, "min": 1 / 525960}
OF_TYPE = ":of-type"  # suffix of the token rows the :of-type modifier matches: code is "typecode|value"
IDENTIFIER = ":identifier"  # suffix of the token rows Reference.identifier feeds (:identifier modifier)


def _text(value: Any) -> str | None:
    return normalize(value) if isinstance(value, str) and value else None


def add_token(out: ResourceIndex, param: str, value: Any) -> None:
    tokens = out.tokens
    if type(value) is str:
        tokens.append(TokenEntry(param, None, value))
    elif type(value) is bool:
        tokens.append(TokenEntry(param, None, "true" if value else "false"))
    elif isinstance(value, (int, float, Decimal)):
        tokens.append(TokenEntry(param, None, str(value)))
    elif type(value) is dict:
        if "coding" in value or ("text" in value and "code" not in value and "value" not in value):
            for coding in value.get("coding", ()):
                tokens.append(TokenEntry(param, coding.get("system"), coding.get("code"), _text(coding.get("display"))))
            if value.get("text"):
                tokens.append(TokenEntry(param, None, None, _text(value["text"])))
        elif "value" in value:
            if type(value["value"]) is not str:
                return  # a Quantity (numeric value) is no token; Identifier and ContactPoint values are strings
            system = value.get("system")
            if system in CONTACT_SYSTEMS:  # ContactPoint: system is a code, not a URI
                tokens.append(TokenEntry(param, system, str(value["value"])))
                return
            id_type = value.get("type") or {}
            tokens.append(TokenEntry(param, system, str(value["value"]), _text(id_type.get("text"))))
            for coding in id_type.get("coding", ()):
                tokens.append(TokenEntry(param + OF_TYPE, coding.get("system"), f"{coding.get('code')}|{value['value']}"))
        elif "code" in value or "system" in value:
            tokens.append(TokenEntry(param, value.get("system"), value.get("code"), _text(value.get("display"))))


def add_string(out: ResourceIndex, param: str, value: Any) -> None:
    if type(value) is str:
        if value:
            out.strings.append(StringEntry(param, normalize(value), value))
    elif type(value) is dict:
        parts = NAME_PARTS if ("family" in value or "given" in value) else ADDRESS_PARTS
        for part in parts:
            sub = value.get(part)
            for s in (sub if isinstance(sub, list) else (sub,)):
                if isinstance(s, str) and s:
                    out.strings.append(StringEntry(param, normalize(s), s))


def _interval(text: Any, low: bool) -> Any:
    if not isinstance(text, str):
        return MIN_DATETIME if low else MAX_DATETIME
    return date_interval(text)[0 if low else 1]


def add_date(out: ResourceIndex, param: str, value: Any) -> None:
    try:
        if type(value) is str:
            low, high = date_interval(value)
        elif type(value) is dict and ("start" in value or "end" in value):
            low, high = _interval(value.get("start"), True), _interval(value.get("end"), False)
        elif type(value) is dict and ("event" in value or "repeat" in value):
            # Timing: only the outer limits matter (https://hl7.org/fhir/R4/search.html#date).
            bounds = [date_interval(e) for e in value.get("event", ())]
            period = (value.get("repeat") or {}).get("boundsPeriod")
            if period:
                bounds.append((_interval(period.get("start"), True), _interval(period.get("end"), False)))
            if not bounds:
                return
            low, high = min(b[0] for b in bounds), max(b[1] for b in bounds)
        else:
            return
    except DateFormatError:
        return  # an invalid date in stored data is unsearchable, not a reason to reject the write
    out.dates.append(DateEntry(param, low, high))


def _quantity_value(q: Any) -> float | None:
    v = q.get("value") if type(q) is dict else None
    return float(v) if isinstance(v, (int, float, Decimal)) and type(v) is not bool else None


def add_number(out: ResourceIndex, param: str, value: Any, *, in_years: bool = False) -> None:
    if isinstance(value, (int, float, Decimal)) and type(value) is not bool:
        out.numbers.append(NumberEntry(param, *number_range(value)))
    elif type(value) is dict and ("low" in value or "high" in value):
        lo, hi = value.get("low") or {}, value.get("high") or {}
        low, high = _quantity_value(lo), _quantity_value(hi)
        if in_years:
            low = low * YEARS_PER_UNIT.get(lo.get("code", "a"), 1.0) if low is not None else None
            high = high * YEARS_PER_UNIT.get(hi.get("code", "a"), 1.0) if high is not None else None
        if low is None and high is None:
            return
        out.numbers.append(NumberEntry(param, low if low is not None else high,  # type: ignore[arg-type]
                                       low if low is not None else -math.inf, high if high is not None else math.inf))
    elif type(value) is dict and (v := _quantity_value(value)) is not None:
        out.numbers.append(NumberEntry(param, *number_range(v)))


def add_quantity(out: ResourceIndex, param: str, value: Any) -> None:
    if type(value) is not dict:
        return
    if "low" in value or "high" in value:
        lo, hi = value.get("low") or {}, value.get("high") or {}
        low, high = _quantity_value(lo), _quantity_value(hi)
        if low is None and high is None:
            return
        unit = lo if low is not None else hi
        out.quantities.append(QuantityEntry(param, low if low is not None else high,  # type: ignore[arg-type]
                                            low if low is not None else -math.inf,
                                            high if high is not None else math.inf,
                                            unit.get("system"), unit.get("code"), unit.get("unit")))
    elif (raw := value.get("value")) is not None:
        try:
            v, low, high = number_range(raw)
        except NumberFormatError:
            return
        # A stored comparator makes the value an interval ("ANC >= 1500" is [1500, inf)), compared as a Range is.
        comparator = value.get("comparator")
        if comparator in (">", ">="):
            v, low, high = float(raw), float(raw), math.inf
        elif comparator in ("<", "<="):
            v, low, high = float(raw), -math.inf, float(raw)
        out.quantities.append(QuantityEntry(param, v, low, high, value.get("system"), value.get("code"),
                                            value.get("unit")))


def add_reference(out: ResourceIndex, param: str, value: Any, base_url: str | None = None) -> None:
    if type(value) is str:  # canonical or uri: versions (url|1.0) are not part of the match
        parsed = parse_reference(value.split("|", 1)[0], base_url)
    elif type(value) is dict:
        ident = value.get("identifier")
        if type(ident) is dict and ident.get("value") is not None:
            out.tokens.append(TokenEntry(param + IDENTIFIER, ident.get("system"), str(ident["value"])))
        ref = value.get("reference")
        parsed = parse_reference(ref, base_url) if isinstance(ref, str) else None
    else:
        return
    if parsed is not None:
        out.references.append(ReferenceEntry(param, parsed.target_type, parsed.target_id, parsed.url))


def add_uri(out: ResourceIndex, param: str, value: Any) -> None:
    if type(value) is str and value:
        out.uris.append(UriEntry(param, value))


def add_position(out: ResourceIndex, param: str, value: Any) -> None:
    if type(value) is dict:
        lat, lon = value.get("latitude"), value.get("longitude")
        if isinstance(lat, (int, float, Decimal)) and isinstance(lon, (int, float, Decimal)):
            out.positions.append(PositionEntry(param, float(lat), float(lon)))


Adder = Callable[[ResourceIndex, str, Any], None]
ADDERS: dict[str, Adder] = {
    "token": add_token, "string": add_string, "date": add_date, "number": add_number,
    "quantity": add_quantity, "reference": add_reference, "uri": add_uri, "special": add_position,
}
