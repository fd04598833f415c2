"""Walk a resource along the R4 element tree, https://hl7.org/fhir/R4/json.html.

Yields every complex element (resource, datatype or backbone element, contained resources) with its type and
FHIRPath expression, and reports the JSON rules no model enforces: no empty objects (ele-1), arrays or nulls.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from ..errors import Issue
from .tables import Child, Tables


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
        if len(data) < 2 and (not data or "id" in data):  # only an id, or nothing
            self.issues.append(_empty_element(expression))
            return
        self.nodes.append(Node(data, type_key, path, expression))
        children = self.tables.types[type_key]
        for name, value in data.items():
            twin = name[:1] == "_"  # the id/extension half of a primitive: an Element
            child = children.get(name[1:] if twin else name)
            if child is None:
                continue  # unknown elements are the structure check's business
            if value is None:
                self._null(f"{expression}.{name}")
            elif isinstance(value, list):
                self._list(value, child, name, expression, data, twin)
            elif isinstance(value, dict) and (twin or child.complex):
                self._child(value, "Element" if twin else child.type, child.path, f"{expression}.{name}")

    def _list(self, value: list[Any], child: Child, name: str, expression: str, parent: dict[str, Any],
              twin: bool) -> None:
        if not value:
            where = f"{expression}.{name}"
            self.issues.append(Issue("error", "structure", f"'{where}' is an empty array: FHIR JSON omits empty "
                                     "arrays", (where,)))
            return
        # null items only keep a primitive array aligned with its _name twin
        aligned = twin or (not child.complex and f"_{name}" in parent)
        for i, item in enumerate(value):
            if item is None:
                if not aligned:
                    self._null(f"{expression}.{name}[{i}]")
            elif isinstance(item, dict) and (twin or child.complex):
                self._child(item, "Element" if twin else child.type, child.path, f"{expression}.{name}[{i}]")

    def _null(self, where: str) -> None:
        self.issues.append(Issue("error", "structure", f"'{where}' is null: absent elements are omitted in FHIR "
                                 "JSON", (where,)))

    def _child(self, value: dict[str, Any], type_key: str, path: str, expression: str) -> None:
        if type_key == "Resource":  # contained: walked as its own type when served
            rtype = value.get("resourceType")
            if isinstance(rtype, str) and rtype in self.tables.types:
                self._complex(value, rtype, rtype, expression)
        else:
            self._complex(value, type_key, path, expression)
