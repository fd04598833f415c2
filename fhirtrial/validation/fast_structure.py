"""Structure, JSON datatype and cardinality checks without pydantic, compiled once from the shipped tables.

https://hl7.org/fhir/R4/json.html (representation: arrays, ``_name`` primitive twins, no nulls or empty
values, choice names, contained resources) and https://hl7.org/fhir/R4/datatypes.html (primitive JSON types,
regexes, ranges). Everything is derived from elements-r4.json and structure-r4.json (``python -m
fhirtrial.validation.generate``): element names and arity, min >= 1, primitive regex/JSON kind/limits.

``check_structure_fast`` reports issues with code ``structure`` (unknown element, null, empty array),
``invariant`` (ele-1: an object with no children, or only an id), ``required`` (missing element) or ``value``
(wrong JSON type, array vs single, value not matching its primitive type), with a FHIRPath-like expression such
as ``ResearchStudy.arm[0].name``. ``walk`` returns those issues and every complex element it checked (a
``Node``), which the binding, reference and invariant checks then read: one traversal per resource.
Differences with the fhir.resources models (the test oracle) are listed in
tests/validation/fast_structure_differences.py.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from ..errors import Issue
from .primitives import PrimitiveCheck, primitive_check
from .tables import read_table

STRUCTURE_FILE = "structure-r4.json"


# A complex element: (its JSON object, type key in the tables, element path, FHIRPath expression). A plain tuple:
# a NamedTuple would double the cost of the walk (one per element, ~200 per study).
Node = tuple[dict[str, Any], str, str, str]


class Issues(list[Issue]):
    """The issues of one traversal, and the elements it walked (``nodes``, in document order)."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[Node] = []


# A field check: (parent object, JSON name, value, parent expression, issues)
FieldCheck = Callable[[dict[str, Any], str, Any, str, Issues], None]
ItemCheck = Callable[[Any, str, Issues], None]


# -- issues -------------------------------------------------------------------------------------------------
def _value(expr: str, value: Any, reason: str) -> Issue:
    return Issue("error", "value", f"Invalid value {repr(value)[:200]} at '{expr}': {reason}", (expr,))


def _unknown(expr: str, why: str = "") -> Issue:
    return Issue("error", "structure", f"Unknown element '{expr}'{why}", (expr,))


def _null(expr: str) -> Issue:
    return Issue("error", "structure", f"'{expr}' is null: absent elements are omitted in FHIR JSON", (expr,))


def _empty(expr: str, what: str) -> Issue:
    return Issue("error", "structure", f"'{expr}' is an empty {what}: FHIR JSON has no empty elements", (expr,))


def _ele1(expr: str, data: dict[str, Any]) -> Issue:
    what = "has only an id" if data else "is empty"
    return Issue("error", "invariant", f"Constraint failed: ele-1: All FHIR elements must have a @value or children "
                 f"(the object at '{expr}' {what})", (expr,))


def _missing(expr: str) -> Issue:
    return Issue("error", "required", f"Missing required element '{expr}'", (expr,))


# -- plans --------------------------------------------------------------------------------------------------
def _single_object(item: ItemCheck) -> FieldCheck:
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
        elements = read_table("elements-r4.json")
        structure = read_table(STRUCTURE_FILE)
        self.served = frozenset(elements["resourceTypes"])
        self.all_resources = frozenset(structure["allResourceTypes"])
        not_r4 = frozenset(structure["notInR4"])
        self.primitives = {name: primitive_check(name, spec) for name, spec in structure["primitives"].items()}
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
                    plan.fields["_" + json_name] = self._twin_field(bool(many), path)
                elif type_key == "Resource":
                    plan.fields[json_name] = self._complex_field(self._contained, bool(many))
                else:
                    plan.fields[json_name] = self._complex_field(self._object_of(type_key, path), bool(many))
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
    def _object_of(self, key: str, path: str) -> ItemCheck:
        """An object of type ``key`` (datatype or backbone element) at the element ``path``."""
        plans = self.plans

        def check(value: Any, expr: str, issues: Issues) -> None:
            if type(value) is not dict:
                issues.append(_value(expr, value, f"{key} must be a JSON object"))
            else:
                self.check_object(value, plans[key], expr, issues, path)
        return check

    def _contained(self, value: Any, expr: str, issues: Issues) -> None:
        if type(value) is not dict:
            issues.append(_value(expr, value, "a contained resource must be a JSON object"))
            return
        rtype = value.get("resourceType")
        if rtype is None:
            issues.append(_missing(f"{expr}.resourceType"))
        elif rtype in self.served:
            self.check_object(value, self.plans[rtype], expr, issues, rtype)
        elif rtype in self.all_resources:
            issues.append(Issue("error", "structure", f"The contained {rtype} at '{expr}' is a resource type this "
                                "server does not serve: its content cannot be checked", (expr,)))
        else:
            issues.append(_value(f"{expr}.resourceType", rtype, "not an R4 resource type"))

    @staticmethod
    def _complex_field(item: ItemCheck, many: bool) -> FieldCheck:
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

    def _twin_field(self, many: bool, path: str) -> FieldCheck:
        """``_name``: the id and extensions of a primitive, an Element (json.html#primitive)."""
        element = self._object_of("Element", path)
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

    def check_object(self, data: dict[str, Any], plan: Plan, expr: str, issues: Issues, path: str) -> None:
        if len(data) < 2 and (not data or "id" in data):  # ele-1: nothing, or only an id
            issues.append(_ele1(expr, data))
        else:
            issues.nodes.append((data, plan.key, path, expr))
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


def walk(resource: Any) -> Issues:
    """The structural issues of a resource, with ``nodes``: every complex element (resource, datatype, backbone
    element, ``_name`` twin, served contained resource) that is not empty, in document order."""
    c = compiled()
    issues = Issues()
    if type(resource) is not dict:
        issues.append(Issue("error", "structure", "The resource must be a JSON object", ("resourceType",)))
        return issues
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in c.served:
        issues.append(Issue("error", "not-supported", f"Resource type {rtype!r} is not supported by this server",
                            ("resourceType",)))
        return issues
    c.check_object(resource, c.plans[rtype], rtype, issues, rtype)
    return issues


def check_structure_fast(resource: Any) -> list[Issue]:
    """All structural problems of a resource whose resourceType is served, as issues (empty when valid)."""
    return list(walk(resource))
