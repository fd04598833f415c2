"""Result parameters: _sort, _count, _total, _summary, _elements, _include, _revinclude, _type
(https://hl7.org/fhir/R4/search.html#return).

Each function raises ValueError with a reason; the parser reports it with the parameter's name and value.
"""
from __future__ import annotations

import re

from fhirtrial.resources import RESOURCE_TYPE_SET
from fhirtrial.search.distance import SORT_KEY as NEAR_SORT
from fhirtrial.search.registry import Registry
from fhirtrial.search.request import Include, SortKey

TOTALS = frozenset({"none", "estimate", "accurate"})
SUMMARIES = frozenset({"true", "text", "data", "count", "false"})
_ELEMENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$")


def parse_sort(value: str, resource_types: tuple[str, ...], registry: Registry) -> tuple[SortKey, ...]:
    keys = []
    for item in value.split(","):
        item = item.strip()
        descending = item.startswith("-")
        code = item[1:] if descending else item
        if code == "_score":
            keys.append(SortKey(code, "fulltext", descending))
            continue
        if code == NEAR_SORT:  # the distance of the search's near filter (search/distance.py)
            keys.append(SortKey(code, "near", descending))
            continue
        params = [p for t in resource_types if (p := registry.get(t, code)) is not None]
        if not params:
            raise ValueError(f"unknown sort parameter {code!r}")
        if not all(p.sortable for p in params):
            raise ValueError(f"parameter {code!r} cannot be sorted on")
        keys.append(SortKey(code, params[0].type, descending))
    return tuple(keys)


def parse_count(value: str, max_count: int) -> int:
    if not value.isdigit():
        raise ValueError("not a non-negative integer")
    return min(int(value), max_count)


def parse_choice(value: str, allowed: frozenset[str]) -> str:
    if value not in allowed:
        raise ValueError(f"expected one of {', '.join(sorted(allowed))}")
    return value


def parse_elements(value: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    if not names or not all(_ELEMENT.match(n) for n in names):
        raise ValueError("expected comma-separated element names")
    return names


def parse_types(value: str) -> tuple[str, ...]:
    types = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [t for t in types if t not in RESOURCE_TYPE_SET]
    if not types or unknown:
        raise ValueError(f"unknown resource type(s) {', '.join(unknown) or '(none)'}")
    return types


def parse_include(value: str, modifier: str | None, reverse: bool, resource_types: tuple[str, ...],
                  registry: Registry) -> Include:
    if modifier not in (None, "iterate", "recurse"):
        raise ValueError(f"unknown modifier :{modifier}")
    iterate = modifier is not None  # :recurse is the STU3 name of :iterate
    if value == "*":
        return Include("*", "*", None, reverse, iterate)
    parts = value.split(":")
    if len(parts) not in (2, 3):
        raise ValueError("expected Type:param[:target] or *")
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) == 3 else None
    if source not in RESOURCE_TYPE_SET:
        raise ValueError(f"unknown resource type {source!r}")
    if not reverse and not iterate and source not in resource_types:
        raise ValueError(f"{source} is not the type searched")
    if target is not None and target not in RESOURCE_TYPE_SET:
        raise ValueError(f"unknown target type {target!r}")
    if code != "*":
        param = registry.get(source, code)
        if param is None or param.type != "reference":
            raise ValueError(f"{source} has no reference parameter {code!r}")
        if target is not None and param.targets and target not in param.targets:
            raise ValueError(f"{source}:{code} cannot reference {target}")
    return Include(source, code, target, reverse, iterate)
