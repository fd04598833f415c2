"""Walk a resource along the R4 element tree, https://hl7.org/fhir/R4/json.html.

Yields every complex element (resource, datatype or backbone element, contained resources) with its type and
FHIRPath expression, and reports the JSON rules no model enforces: no empty objects (ele-1), arrays or nulls.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..errors import Issue
from .tables import Tables


class Node(NamedTuple):
    """A complex element: its JSON object, type key in the tables, element path and FHIRPath expression."""

    data: dict[str, Any]
    type: str
    path: str
    expression: str


def _empty_element(expression: str) -> Issue:
    return Issue("error", "invariant", f"Constraint failed: ele-1: All FHIR elements must have a @value or "
                 f"children (the object at '{expression}' is empty)", (expression,))


class Walk:
    """One traversal: ``nodes`` in document order and ``issues`` about the JSON shape."""

    __slots__ = ("tables", "nodes", "issues")

    def __init__(self, tables: Tables, resource: dict[str, Any]) -> None:
        self.tables = tables
        self.nodes: list[Node] = []
        self.issues: list[Issue] = []
        rtype = resource.get("resourceType")
        if isinstance(rtype, str) and rtype in tables.types:
            self._complex(resource, rtype, rtype, rtype)

    def _complex(self, data: dict[str, Any], type_key: str, path: str, expression: str) -> None:
        if not any(k != "id" for k in data):
            self.issues.append(_empty_element(expression))
            return
        self.nodes.append(Node(data, type_key, path, expression))
        children = self.tables.types[type_key]
        for name, value in data.items():
            child = children.get(name[1:] if name[0] == "_" else name)
            if child is None:
                continue  # unknown elements are the structure check's business
            where = f"{expression}.{name}"
            if name[0] == "_":  # the id/extension half of a primitive: typed Element
                self._values(value, "Element", child.path, where, primitive_twin=True)
            else:
                self._values(value, child.type, child.path, where, primitive_twin=f"_{name}" in data)

    def _values(self, value: Any, type_key: str, path: str, expression: str, primitive_twin: bool) -> None:
        if value is None:
            self.issues.append(Issue("error", "structure", f"'{expression}' is null: absent elements are omitted "
                                     "in FHIR JSON", (expression,)))
        elif isinstance(value, list):
            if not value:
                self.issues.append(Issue("error", "structure", f"'{expression}' is an empty array: FHIR JSON "
                                         "omits empty arrays", (expression,)))
            for i, item in enumerate(value):
                # null items keep a primitive array aligned with its _name twin
                if item is None and primitive_twin:
                    continue
                self._one(item, type_key, path, f"{expression}[{i}]")
        else:
            self._one(value, type_key, path, expression)

    def _one(self, value: Any, type_key: str, path: str, expression: str) -> None:
        if value is None:
            self.issues.append(Issue("error", "structure", f"'{expression}' is null", (expression,)))
        elif isinstance(value, dict):
            if type_key == "Resource":
                rtype = value.get("resourceType")
                if isinstance(rtype, str) and rtype in self.tables.types:
                    self._complex(value, rtype, rtype, expression)
            elif type_key in self.tables.types:
                self._complex(value, type_key, path, expression)
