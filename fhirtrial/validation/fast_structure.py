"""Structure, JSON datatype and cardinality checks without pydantic, compiled once from the shipped tables.

https://hl7.org/fhir/R4/json.html (representation: arrays, ``_name`` primitive twins, no nulls or empty
values, choice names, contained resources) and https://hl7.org/fhir/R4/datatypes.html (primitive JSON types,
regexes, ranges). Everything is derived from elements-r4.json and structure-r4.json (``python -m
fhirtrial.validation.generate``): element names and arity, min >= 1, primitive regex/JSON kind/limits.

``check_structure_fast`` reports issues in the same form as ``structure.check_structure``: code ``structure``
(unknown element, null, empty object or array), ``required`` (missing element) or ``value`` (wrong JSON type,
array vs single, value not matching its primitive type), with a FHIRPath-like expression such as
``ResearchStudy.arm[0].name``. Differences with fhir.resources are listed in
tests/validation/fast_structure_differences.py.
"""
from __future__ import annotations

import calendar
import re
from functools import lru_cache
from typing import Any, Callable

from ..errors import Issue
from .tables import _read

STRUCTURE_FILE = "structure-r4.json"
_XSD_SPACE = " \t\n\r"  # XML Schema \s, in which the FHIR regexes are written (datatypes.html)

Issues = list[Issue]
# A field check: (parent object, JSON name, value, parent expression, issues)
FieldCheck = Callable[[dict[str, Any], str, Any, str, Issues], None]
# A primitive check: value -> None when valid, else the reason
PrimitiveCheck = Callable[[Any], "str | None"]


# -- regexes ------------------------------------------------------------------------------------------------
def _class_escape(chars: str) -> str:
    return "".join({" ": " ", "\t": r"\t", "\n": r"\n", "\r": r"\r"}[c] for c in chars)


def translate_regex(pattern: str) -> str:
    r"""A FHIR (XML Schema) regex as a Python one: ``\s`` is exactly space, tab, CR and LF there (Python's
    would also match non-breaking and other Unicode spaces)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            out.append({"s": f"[{_class_escape(_XSD_SPACE)}]", "S": f"[^{_class_escape(_XSD_SPACE)}]"}.get(esc, c + esc))
            i += 2
        elif c == "[":
            end = i + 1
            negated = end < n and pattern[end] == "^"
            end += negated
            members: list[str] = []
            literal: set[str] = set()
            has_not_space = False
            while pattern[end] != "]":
                if pattern[end] == "\\":
                    esc = pattern[end + 1]
                    if esc == "s":
                        members.append(_class_escape(_XSD_SPACE))
                    elif esc == "S":
                        has_not_space = True
                    else:
                        members.append("\\" + esc)
                        literal.add({"t": "\t", "n": "\n", "r": "\r"}.get(esc, esc))
                    end += 2
                else:
                    members.append(pattern[end])
                    literal.add(pattern[end])
                    end += 1
            if has_not_space:  # [...\S] = everything but the XSD spaces not listed in the class
                if negated:
                    raise ValueError(f"unsupported regex class in {pattern!r}")
                rest = "".join(c for c in _XSD_SPACE if c not in literal)
                out.append(f"[^{_class_escape(rest)}]" if rest else r"[\s\S]")
            else:
                out.append("[" + ("^" if negated else "") + "".join(members) + "]")
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


# -- primitives ---------------------------------------------------------------------------------------------
_FULL_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def _real_date(value: str) -> bool:
    """datatypes.html#date: a full date SHALL be a valid calendar date (the regex allows 2021-02-30)."""
    m = _FULL_DATE.match(value)
    if m is None:
        return True
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    return day <= calendar.monthrange(year, month)[1]


def _primitive_check(name: str, spec: dict[str, Any]) -> PrimitiveCheck:
    kind = spec["json"]
    translated = translate_regex(spec["regex"]) if spec.get("regex") else None
    rx = re.compile(translated) if translated else None
    full = rx.fullmatch if rx is not None else None
    shown = spec.get("regex")
    if kind == "boolean":
        def check_boolean(v: Any) -> str | None:
            return None if v is True or v is False else "a boolean must be JSON true or false"
        return check_boolean
    if kind == "integer":
        lo, hi = spec.get("minValue"), spec.get("maxValue")

        def check_integer(v: Any) -> str | None:
            if type(v) is not int:
                return f"{name} must be a JSON integer"
            if (lo is not None and v < lo) or (hi is not None and v > hi):
                return f"{name} must be within {lo}..{hi}"
            if full is not None and full(str(v)) is None:
                return f"{name} must match {shown}"
            return None
        return check_integer
    if kind == "decimal":
        def check_decimal(v: Any) -> str | None:
            if type(v) is not int and type(v) is not float:
                return f"{name} must be a JSON number"
            if full is not None and full(repr(v)) is None:
                return f"{name} must be a finite number"
            return None
        return check_decimal
    max_length = spec.get("maxLength")
    any_text = translated in (r"[\s\S]+", None)  # string, markdown, xhtml: any non-empty text
    dated = name in ("date", "dateTime", "instant")

    def check_string(v: Any) -> str | None:
        if type(v) is not str:
            return f"{name} must be a JSON string"
        if not v:
            return "empty strings are not allowed in FHIR JSON"
        if max_length is not None and len(v) > max_length:
            return f"{name} is longer than {max_length} characters"
        if not any_text and full(v) is None:  # type: ignore[misc]
            return f"{name} must match {shown}"
        if dated and not _real_date(v):
            return f"{v!r} is not a calendar date"
        return None
    return check_string


# -- issues -------------------------------------------------------------------------------------------------
def _value(expr: str, value: Any, reason: str) -> Issue:
    return Issue("error", "value", f"Invalid value {repr(value)[:200]} at '{expr}': {reason}", (expr,))


def _unknown(expr: str, why: str = "") -> Issue:
    return Issue("error", "structure", f"Unknown element '{expr}'{why}", (expr,))


def _null(expr: str) -> Issue:
    return Issue("error", "structure", f"'{expr}' is null: absent elements are omitted in FHIR JSON", (expr,))


def _empty(expr: str, what: str) -> Issue:
    return Issue("error", "structure", f"'{expr}' is an empty {what}: FHIR JSON has no empty elements", (expr,))


def _missing(expr: str) -> Issue:
    return Issue("error", "required", f"Missing required element '{expr}'", (expr,))


# -- plans --------------------------------------------------------------------------------------------------
def _single_object(item: Callable[[Any, str, Issues], None]) -> FieldCheck:
    """A non-repeating object element (complex type, or the ``_name`` Element of a primitive)."""
    def one(data: dict[str, Any], name: str, value: Any, expr: str, issues: Issues) -> None:
        if value is None:
            issues.append(_null(f"{expr}.{name}"))
        elif type(value) is list:
            issues.append(_value(f"{expr}.{name}", value, "a single element must not be a JSON array"))
        else:
            item(value, f"{expr}.{name}", issues)
    return one


class Plan:
    """The compiled checks of one complex type (resource, datatype or backbone element)."""

    __slots__ = ("key", "resource", "fields", "required", "choices")

    def __init__(self, key: str, resource: bool) -> None:
        self.key = key
        self.resource = resource
        self.fields: dict[str, FieldCheck] = {}
        self.required: list[tuple[str, tuple[str, ...]]] = []  # (element name, JSON names incl. _twins)
        self.choices: dict[str, str] = {}  # JSON name of a choice variant -> its element name (value[x])


class Compiled:
    """Every plan, built once from the shipped tables."""

    def __init__(self) -> None:
        elements = _read("elements-r4.json")
        structure = _read(STRUCTURE_FILE)
        self.served = frozenset(elements["resourceTypes"])
        self.all_resources = frozenset(structure["allResourceTypes"])
        not_r4 = frozenset(structure["notInR4"])
        self.primitives = {name: _primitive_check(name, spec) for name, spec in structure["primitives"].items()}
        system_types = structure["systemTypes"]
        types = elements["types"]
        self.plans = {key: Plan(key, key in self.served) for key in types}
        for key, children in types.items():
            plan = self.plans[key]
            by_element: dict[str, list[str]] = {}
            for json_name, (path, type_key, many) in children.items():
                if path in not_r4:
                    continue
                by_element.setdefault(path.rsplit(".", 1)[1], []).append(json_name)
                if type_key.startswith("System."):
                    type_key = system_types[path]
                if type_key in self.primitives:
                    plan.fields[json_name] = self._primitive_field(self.primitives[type_key], bool(many))
                    plan.fields["_" + json_name] = self._twin_field(bool(many))
                elif type_key == "Resource":
                    plan.fields[json_name] = self._complex_field(self._contained, bool(many))
                else:
                    plan.fields[json_name] = self._complex_field(self._object_of(type_key), bool(many))
            for element, names in by_element.items():
                if len(names) > 1:
                    for json_name in names:
                        plan.choices[json_name] = element
            for element, names in structure["required"].get(key, {}).items():
                kept = [n for n in names if n in plan.fields]
                if kept:
                    twins = [f"_{n}" for n in kept if f"_{n}" in plan.fields]
                    plan.required.append((element, tuple(kept + twins)))

    # item checks: (value, expression, issues)
    def _object_of(self, key: str) -> Callable[[Any, str, Issues], None]:
        plans = self.plans

        def check(value: Any, expr: str, issues: Issues) -> None:
            if type(value) is not dict:
                issues.append(_value(expr, value, f"{key} must be a JSON object"))
            else:
                self.check_object(value, plans[key], expr, issues)
        return check

    def _contained(self, value: Any, expr: str, issues: Issues) -> None:
        if type(value) is not dict:
            issues.append(_value(expr, value, "a contained resource must be a JSON object"))
            return
        rtype = value.get("resourceType")
        if rtype is None:
            issues.append(_missing(f"{expr}.resourceType"))
        elif rtype in self.served:
            self.check_object(value, self.plans[rtype], expr, issues)
        elif rtype in self.all_resources:
            issues.append(Issue("error", "structure", f"The contained {rtype} at '{expr}' is a resource type this "
                                "server does not serve: its content cannot be checked", (expr,)))
        else:
            issues.append(_value(f"{expr}.resourceType", rtype, "not an R4 resource type"))

    @staticmethod
    def _complex_field(item: Callable[[Any, str, Issues], None], many: bool) -> FieldCheck:
        if many:
            def many_complex(data: dict[str, Any], name: str, value: Any, expr: str, issues: Issues) -> None:
                where = f"{expr}.{name}"
                if type(value) is not list:
                    if value is None:
                        issues.append(_null(where))
                    else:
                        issues.append(_value(where, value, "a repeating element must be a JSON array"))
                elif not value:
                    issues.append(_empty(where, "array"))
                else:
                    for i, v in enumerate(value):
                        if v is None:
                            issues.append(_null(f"{where}[{i}]"))
                        else:
                            item(v, f"{where}[{i}]", issues)
            return many_complex

        return _single_object(item)

    @staticmethod
    def _primitive_field(check: PrimitiveCheck, many: bool) -> FieldCheck:
        if many:
            def many_primitive(data: dict[str, Any], name: str, value: Any, expr: str, issues: Issues) -> None:
                if type(value) is not list:
                    where = f"{expr}.{name}"
                    issues.append(_null(where) if value is None else
                                  _value(where, value, "a repeating element must be a JSON array"))
                    return
                if not value:
                    issues.append(_empty(f"{expr}.{name}", "array"))
                    return
                twin = None
                for i, v in enumerate(value):
                    if v is None:  # allowed only when the _name twin carries this item
                        if twin is None:
                            twin = data.get("_" + name)
                            twin = twin if type(twin) is list else []
                        if i >= len(twin) or twin[i] is None:
                            issues.append(_null(f"{expr}.{name}[{i}]"))
                        continue
                    reason = check(v)
                    if reason is not None:
                        issues.append(_value(f"{expr}.{name}[{i}]", v, reason))
            return many_primitive

        def one_primitive(data: dict[str, Any], name: str, value: Any, expr: str, issues: Issues) -> None:
            reason = check(value)
            if reason is not None:
                where = f"{expr}.{name}"
                if value is None:
                    issues.append(_null(where))
                elif type(value) is list:
                    issues.append(_value(where, value, "a single element must not be a JSON array"))
                else:
                    issues.append(_value(where, value, reason))
        return one_primitive

    def _twin_field(self, many: bool) -> FieldCheck:
        """``_name``: the id and extensions of a primitive, an Element (json.html#primitive)."""
        element = self._object_of("Element")
        if not many:
            return _single_object(element)

        def many_twin(data: dict[str, Any], name: str, value: Any, expr: str, issues: Issues) -> None:
            where = f"{expr}.{name}"
            if type(value) is not list:
                issues.append(_null(where) if value is None else
                              _value(where, value, "a repeating element must be a JSON array"))
                return
            if not value:
                issues.append(_empty(where, "array"))
                return
            values = data.get(name[1:])
            if type(values) is list and len(values) != len(value):
                issues.append(_value(where, value, f"'{where}' must have as many items as '{expr}.{name[1:]}'"))
                values = None
            for i, v in enumerate(value):
                if v is None:
                    if type(values) is not list or values[i] is None:
                        issues.append(_null(f"{where}[{i}]"))
                else:
                    element(v, f"{where}[{i}]", issues)
        return many_twin

    def check_object(self, data: dict[str, Any], plan: Plan, expr: str, issues: Issues) -> None:
        if not data:
            issues.append(_empty(expr, "object"))
        fields = plan.fields
        choices = plan.choices
        seen: dict[str, str] | None = None
        for name, value in data.items():
            check = fields.get(name)
            if check is None:
                if name == "resourceType" and plan.resource:
                    if value != plan.key:
                        issues.append(_value(f"{expr}.resourceType", value, f"expected '{plan.key}'"))
                else:
                    issues.append(_unknown(f"{expr}.{name}"))
                continue
            check(data, name, value, expr, issues)
            if choices and name in choices:
                element = choices[name]
                if seen is None:
                    seen = {}
                if element in seen:
                    issues.append(Issue("error", "value", f"'{expr}' has both {seen[element]} and {name}: a choice "
                                        f"element ({element}) takes one type", (expr,)))
                else:
                    seen[element] = name
        for element, names in plan.required:
            for n in names:
                if n in data:
                    break
            else:
                issues.append(_missing(f"{expr}.{element}"))


@lru_cache(maxsize=1)
def compiled() -> Compiled:
    return Compiled()


def check_structure_fast(resource: dict[str, Any]) -> list[Issue]:
    """All structural problems of a resource whose resourceType is served, as issues (empty when valid)."""
    c = compiled()
    if type(resource) is not dict:
        return [Issue("error", "structure", "The resource must be a JSON object", ("resourceType",))]
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in c.served:
        return [Issue("error", "not-supported", f"Resource type {rtype!r} is not supported by this server",
                      ("resourceType",))]
    issues: list[Issue] = []
    c.check_object(resource, c.plans[rtype], rtype, issues)
    return issues
