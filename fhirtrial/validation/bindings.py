"""Required terminology bindings, https://hl7.org/fhir/R4/terminologies.html#required.

The value sets come expanded from the official definitions (definitions/required-bindings-r4.json).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable

from ..errors import Issue
from .tables import Child, Tables

_SHOWN = 25  # list the allowed codes in the message when the value set is this small


# (child, value set URL, every code of the value set)
Bound = tuple[tuple[Child, str, frozenset[str]], ...]


@lru_cache(maxsize=None)
def bound_children(tables: Tables, type_key: str) -> Bound:
    """The children of a type that carry a required binding, with their value set (computed once per type)."""
    return tuple((child, tables.bindings[child.path], tables.codes(tables.bindings[child.path]))
                 for child in tables.types.get(type_key, {}).values() if child.path in tables.bindings)


def _allowed(tables: Tables, value_set: str) -> str:
    codes = sorted(tables.codes(value_set))
    return f"; allowed: {', '.join(codes)}" if len(codes) <= _SHOWN else ""


def _items(value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, list):
        return ((f"[{i}]", v) for i, v in enumerate(value))
    return (("", value),)


def _coding_in(tables: Tables, value_set: str, coding: Any) -> bool:
    if not isinstance(coding, dict):
        return True  # wrong shape: reported by the structure check
    system, code = coding.get("system"), coding.get("code")
    return isinstance(system, str) and code in tables.value_sets[value_set].get(system, ())


def _check_code(tables: Tables, value_set: str, value: Any, where: str) -> Issue | None:
    if not isinstance(value, str) or value in tables.codes(value_set):
        return None  # non-strings are the structure check's business
    return Issue("error", "code-invalid", f"The code '{value}' at '{where}' is not in the required value set "
                 f"{value_set}{_allowed(tables, value_set)}", (where,))


def _check_coding(tables: Tables, value_set: str, value: Any, where: str) -> Issue | None:
    if not isinstance(value, dict) or "code" not in value or _coding_in(tables, value_set, value):
        return None
    return Issue("error", "code-invalid", f"The coding {value.get('system')}#{value.get('code')} at '{where}' is "
                 f"not in the required value set {value_set}{_allowed(tables, value_set)}", (where,))


def _check_concept(tables: Tables, value_set: str, value: Any, where: str) -> Issue | None:
    # Required: at least one coding must come from the value set; text-only concepts are left to the
    # structure rules (the R4 validators differ on them).
    codings = value.get("coding") if isinstance(value, dict) else None
    if not isinstance(codings, list) or not codings:
        return None
    if any(_coding_in(tables, value_set, c) for c in codings):
        return None
    shown = ", ".join(f"{c.get('system')}#{c.get('code')}" for c in codings if isinstance(c, dict))
    return Issue("error", "code-invalid", f"None of the codings ({shown}) at '{where}' is in the required value "
                 f"set {value_set}{_allowed(tables, value_set)}", (where,))


_CHECKS = {"Coding": _check_coding, "CodeableConcept": _check_concept}


def check_element(tables: Tables, bound: Bound, data: dict[str, Any], expression: str, issues: list[Issue]) -> None:
    """Append one issue per value of the element's ``bound`` children outside its required value set."""
    for child, value_set, codes in bound:
        value = data.get(child.name)
        if value is None or (type(value) is str and value in codes):  # absent, or the common case: a valid code
            continue
        check = _CHECKS.get(child.type, _check_code)
        for suffix, item in _items(value):
            issue = check(tables, value_set, item, f"{expression}.{child.name}{suffix}")
            if issue is not None:
                issues.append(issue)
