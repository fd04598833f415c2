"""The checks beyond structure, on the elements one walk found: required bindings
(https://hl7.org/fhir/R4/terminologies.html#required), reference formats (https://hl7.org/fhir/R4/references.html)
and invariants (https://hl7.org/fhir/R4/conformance-rules.html#constraints).

Which of them can apply to an element depends only on its type and element path, so they are looked up once per
(type, path) and most elements (Coding, Extension, Narrative...) cost one dictionary lookup: this is what keeps
the full validation of an import close to the cost of its structure check.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from ..errors import Issue
from . import bindings, invariants, references
from .fast_structure import Node
from .tables import Tables


class ElementChecks(NamedTuple):
    """What applies to one (type, element path): bound children, invariants, whether it is a Reference."""

    bound: bindings.Bound
    invariants: tuple[invariants.Invariant, ...]
    type_name: str  # as fhirpathpy's model knows it
    reference: bool


@lru_cache(maxsize=None)
def _cache(tables: Tables) -> dict[tuple[str, str], ElementChecks | None]:
    return {}


def _checks(tables: Tables, type_key: str, path: str) -> ElementChecks | None:
    found = ElementChecks(bindings.bound_children(tables, type_key), invariants.invariants_for(tables, type_key, path),
                          invariants.model_path(type_key), type_key == "Reference")
    return found if found.bound or found.invariants or found.reference else None


def check_content(tables: Tables, nodes: list[Node], resource: dict[str, Any]) -> list[Issue]:
    """Every binding, reference and invariant issue of the walked elements, in document order per check."""
    cache = _cache(tables)
    issues: list[Issue] = []
    variables: dict[str, Any] | None = None
    for data, type_key, path, expression in nodes:
        key = (type_key, path)
        checks = cache.get(key, False)
        if checks is False:
            checks = cache[key] = _checks(tables, type_key, path)
        if checks is None:
            continue
        if checks.bound:
            bindings.check_element(tables, checks.bound, data, expression, issues)
        if checks.reference:
            references.check_reference(tables, data, expression, resource, issues)
        if checks.invariants:
            if variables is None:
                variables = {"resource": resource, "rootResource": resource}
            invariants.check_element(checks.invariants, data, checks.type_name, expression, variables, issues)
    return issues
