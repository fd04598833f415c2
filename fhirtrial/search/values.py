"""Parsing one search value by parameter type (https://hl7.org/fhir/R4/search.html#ptypes).

Raises ValueError with a short reason; the parser turns it into an InvalidRequest naming parameter and value.
"""
from __future__ import annotations

import re
from typing import get_args

from fhirtrial.resources import ID_PATTERN
from fhirtrial.search.dates import DateFormatError, date_interval
from fhirtrial.search.escape import split_escaped, unescape
from fhirtrial.search.geo import UNITS_KM, bounding_box
from fhirtrial.search.normalize import normalize
from fhirtrial.search.numbers import NumberFormatError, number_range
from fhirtrial.search.references import parse_reference
from fhirtrial.search import textquery
from fhirtrial.search.request import (DateValue, NearValue, NumberValue, OfTypeValue, Prefix, QuantityValue,
                                      ReferenceValue, TextQueryValue, TextValue, TokenValue, UriValue)

PREFIXES = frozenset(get_args(Prefix))
_LEADING_LETTERS = re.compile(r"^([a-z]+)")
DEFAULT_NEAR_KM = 10.0  # the spec leaves "near" without a distance to the server


def split_prefix(text: str, allowed: tuple[str, ...] = tuple(PREFIXES)) -> tuple[Prefix, str]:
    m = _LEADING_LETTERS.match(text)
    if m is None:
        return "eq", text
    candidate = m[1][:2]
    if candidate not in PREFIXES or len(m[1]) > 2 and not text[2:3].isdigit():
        raise ValueError(f"unknown prefix {m[1]!r}" if len(m[1]) == 2 else "not a valid value")
    if candidate not in allowed:
        raise ValueError(f"prefix {candidate!r} not supported by this parameter")
    return candidate, text[2:]  # type: ignore[return-value]


def parse_token(text: str) -> TokenValue:
    parts = split_escaped(text, "|", 1)
    if len(parts) == 1:
        if not parts[0]:
            raise ValueError("empty token")
        return TokenValue(None, unescape(parts[0]), False)
    system, code = unescape(parts[0]) or None, unescape(parts[1]) or None
    if system is None and code is None:
        raise ValueError("empty token")
    return TokenValue(system, code, True)


def parse_of_type(text: str) -> OfTypeValue:
    parts = split_escaped(text, "|", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ValueError("expected type-system|type-code|value")
    return OfTypeValue(unescape(parts[0]) or None, unescape(parts[1]), unescape(parts[2]))


def parse_text(text: str) -> TextValue:
    value = unescape(text)
    if not value:
        raise ValueError("empty string")
    return TextValue(value, normalize(value))


def parse_text_query(text: str) -> TextQueryValue:
    """_text / _content: the boolean syntax of https://hl7.org/fhir/R4/search.html#text (textquery.py)."""
    value = unescape(text)
    return TextQueryValue(value, textquery.parse_text_query(value))


def parse_date(text: str, allowed: tuple[str, ...]) -> DateValue:
    prefix, rest = split_prefix(text, allowed)
    try:
        low, high = date_interval(rest)
    except DateFormatError:
        raise ValueError("not a valid date") from None
    return DateValue(prefix, low, high)


def parse_number(text: str, allowed: tuple[str, ...]) -> NumberValue:
    prefix, rest = split_prefix(text, allowed)
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", rest):
        raise ValueError("not a number")
    try:
        value, low, high = number_range(rest)
    except NumberFormatError:
        raise ValueError("not a number") from None
    return NumberValue(prefix, value, low, high)


def parse_quantity(text: str, allowed: tuple[str, ...]) -> QuantityValue:
    parts = split_escaped(text, "|", 2)
    number = parse_number(unescape(parts[0]), allowed)
    system = unescape(parts[1]) or None if len(parts) > 1 else None
    code = unescape(parts[2]) or None if len(parts) > 2 else None
    return QuantityValue(number.prefix, number.value, number.low, number.high, system, code)


def parse_reference_value(text: str, targets: tuple[str, ...], type_modifier: str | None,
                          base_url: str | None) -> ReferenceValue:
    value = unescape(text)
    if not value:
        raise ValueError("empty reference")
    if ID_PATTERN.match(value):
        # A bare id: the type comes from the :Type modifier, or the only possible target.
        only = type_modifier or (targets[0] if len(targets) == 1 else None)
        return ReferenceValue(only, value, None)
    parsed = parse_reference(value, base_url)
    if parsed is None:
        raise ValueError("contained references cannot be searched")
    if type_modifier and parsed.target_id is not None and parsed.target_type != type_modifier:
        raise ValueError(f"reference type does not match :{type_modifier}")
    return ReferenceValue(parsed.target_type, parsed.target_id, parsed.url)


def parse_uri(text: str) -> UriValue:
    value = unescape(text)
    if not value or any(c.isspace() for c in value):
        raise ValueError("not a URI")
    return UriValue(value)


def parse_near(text: str) -> NearValue:
    parts = [unescape(p) for p in split_escaped(text, "|")]
    if len(parts) < 2 or len(parts) > 4:
        raise ValueError("expected latitude|longitude[|distance[|units]]")
    try:
        lat, lon = float(parts[0]), float(parts[1])
        distance = float(parts[2]) if len(parts) > 2 and parts[2] else DEFAULT_NEAR_KM
    except ValueError:
        raise ValueError("latitude, longitude and distance must be numbers") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or distance < 0 or distance != distance:
        raise ValueError("coordinates or distance out of range")
    unit = parts[3] if len(parts) > 3 and parts[3] else "km"
    if unit not in UNITS_KM:
        raise ValueError(f"unknown distance unit {unit!r}")
    km = distance * UNITS_KM[unit] if len(parts) > 2 and parts[2] else DEFAULT_NEAR_KM
    return NearValue(lat, lon, km, bounding_box(lat, lon, km))
