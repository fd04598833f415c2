"""Reference semantics of every filter kind over one resource's index, in memory (https://hl7.org/fhir/R4/search.html).

The SQL translation must select exactly the resources for which ``matches`` is true; tests can use this as the
oracle. Chains, _has, :in/:not-in (value-set expansion) and _text/_content (database full-text engines) are the
store's business and not covered here; so is the place part of a site composite (``site-status-near``), which
lives on the referenced Location.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from fhirtrial.search.convert import IDENTIFIER, OF_TYPE
from fhirtrial.search.geo import haversine_km
from fhirtrial.search.index import ROWS_BY_TYPE, ResourceIndex
from fhirtrial.search.request import (CompositeValue, DateValue, Filter, MissingValue, NearValue, NumberValue,
                                      OfTypeValue, QuantityValue, ReferenceValue, TextValue, TokenValue, UriValue, Value)



def compare_ranges(prefix: str, low: Any, high: Any, sl: Any, sh: Any, ap_margin: Any) -> bool:
    """R4 prefix semantics for a target range [low, high] and a search range [sl, sh]
    (https://hl7.org/fhir/R4/search.html#prefix)."""
    contained = sl <= low and high <= sh
    if prefix == "eq":
        return contained
    if prefix == "ne":
        return not contained
    if prefix == "gt":
        return high > sh
    if prefix == "lt":
        return low < sl
    if prefix == "ge":
        return high > sh or contained
    if prefix == "le":
        return low < sl or contained
    if prefix == "sa":
        return low > sh
    if prefix == "eb":
        return high < sl
    if prefix == "ap":  # overlap with the search range widened by the margin
        return low <= sh + ap_margin and high >= sl - ap_margin
    raise ValueError(prefix)


def _date(entry: Any, v: DateValue) -> bool:
    # ap: 10% of the distance between the search value and now, as the spec suggests.
    margin = abs(datetime.now(timezone.utc) - v.low) * 0.1
    return compare_ranges(v.prefix, entry.low, entry.high, v.low, v.high, margin)


def _number_like(entry: Any, v: NumberValue | QuantityValue, range_contains: bool) -> bool:
    if range_contains:  # eligible-age: the age asked for lies within the indexed range (open ends unbounded)
        return entry.low <= v.value <= entry.high
    if not entry.low < entry.value < entry.high:
        # A Range (value == its low): interval rules against the search value's precision range.
        return compare_ranges(v.prefix, entry.low, entry.high, v.low, v.high, abs(v.value) * 0.1)
    # A stored number counts at its own value ("100" matches 99.5 <= x < 100.5).
    x, s = entry.value, v.value
    return {"eq": v.low <= x < v.high, "ne": not v.low <= x < v.high, "gt": x > s, "lt": x < s, "ge": x >= s,
            "le": x <= s, "sa": x > s, "eb": x < s, "ap": abs(x - s) <= abs(s) * 0.1}[v.prefix]


def _quantity(entry: Any, v: QuantityValue) -> bool:
    if v.system is not None and entry.system != v.system:
        return False
    if v.code is not None and v.code not in ((entry.code,) if v.system else (entry.code, entry.unit)):
        return False
    return _number_like(entry, v, False)


def _token(entry: Any, v: TokenValue) -> bool:
    if v.code is not None and entry.code != v.code:
        return False
    if v.match_system and v.system is None:
        return entry.system is None and entry.code is not None
    return v.system is None or entry.system == v.system


def _text(text: str | None, v: TextValue) -> bool:
    # :text on tokens: the phrase starts the display/text or one of its words (SQL: LIKE 'q%' OR LIKE '% q%').
    return text is not None and (text.startswith(v.normalized) or f" {v.normalized}" in text)


def _reference(entry: Any, v: ReferenceValue, type_modifier: str | None) -> bool:
    if type_modifier is not None and entry.target_type != type_modifier:
        return False
    if v.target_id is not None:
        return entry.target_id == v.target_id and (v.target_type is None or entry.target_type == v.target_type)
    return entry.url == v.url


def _one(f: Filter, rows: list[Any], v: Value, index: ResourceIndex) -> bool:
    mod = f.modifier
    if isinstance(v, TokenValue) and mod == "identifier":
        return any(_token(e, v) for e in index.tokens if e.param == f.param + IDENTIFIER)
    if isinstance(v, OfTypeValue):
        return any(e.system == v.system and e.code == f"{v.type_code}|{v.value}"
                   for e in index.tokens if e.param == f.param + OF_TYPE)
    if isinstance(v, TokenValue):
        return any(_token(e, v) for e in rows)
    if isinstance(v, TextValue) and f.type == "token":
        return any(_text(e.text, v) for e in rows)
    if isinstance(v, TextValue):
        if mod == "exact":
            return any(e.exact == v.text for e in rows)
        if mod == "contains":
            return any(v.normalized in e.normalized for e in rows)
        return any(e.normalized.startswith(v.normalized) for e in rows)
    if isinstance(v, DateValue):
        return any(_date(e, v) for e in rows)
    if isinstance(v, QuantityValue):
        return any(_quantity(e, v) for e in rows)
    if isinstance(v, NumberValue):
        return any(_number_like(e, v, f.range_contains) for e in rows)
    if isinstance(v, ReferenceValue):
        return any(_reference(e, v, mod if mod and mod[0].isupper() else None) for e in rows)
    if isinstance(v, UriValue) and f.type == "reference":  # canonical :below / :above
        return any(e.url and _uri(e.url, v, mod) for e in rows)
    if isinstance(v, UriValue):
        return any(_uri(e.uri, v, mod) for e in rows)
    if isinstance(v, NearValue):
        return any(v.box.contains(e.latitude, e.longitude)
                   and haversine_km(v.latitude, v.longitude, e.latitude, e.longitude) <= v.distance_km for e in rows)
    if isinstance(v, CompositeValue) and f.type == "site":
        raise NotImplementedError("site composites need the referenced Location's position (the store's business)")
    if isinstance(v, CompositeValue):
        return any(_composite(f, e, v, index) for e in rows)
    raise NotImplementedError(f"{type(v).__name__} with :{mod}")


def _uri(uri: str, v: UriValue, mod: str | None) -> bool:
    if mod == "below":
        return uri.startswith(v.uri)
    if mod == "above":
        return v.uri.startswith(uri)
    return uri == v.uri


def _composite(f: Filter, entry: Any, v: CompositeValue, index: ResourceIndex) -> bool:
    for part, value in zip(entry.components, v.components):
        sub = Filter(f.name, f.resource_type, part.param, _kind(value), None, (value,), ())
        if not _one(sub, [part], value, index):
            return False
    return True


def _kind(value: Value) -> str:
    return {TokenValue: "token", TextValue: "string", DateValue: "date", NumberValue: "number",
            QuantityValue: "quantity", ReferenceValue: "reference", UriValue: "uri"}.get(type(value), "token")


def matches(f: Filter, index: ResourceIndex) -> bool:
    """Whether a resource with this index satisfies one filter (its values ORed) on its own type."""
    rows = [e for e in getattr(index, ROWS_BY_TYPE.get(f.type, "tokens")) if e.param == f.param]
    if f.values and isinstance(f.values[0], MissingValue):
        present = bool(rows) or any(e.param.startswith(f.param + ":") for e in index.tokens)
        return any(v.missing != present for v in f.values if isinstance(v, MissingValue))
    if f.modifier == "not":  # :not matches resources without any matching value, including those with none
        return not any(_one(f, rows, v, index) for v in f.values)
    return any(_one(f, rows, v, index) for v in f.values)


Matcher = Callable[[Filter, ResourceIndex], bool]
