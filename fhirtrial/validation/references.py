"""Format of ``Reference.reference``, https://hl7.org/fhir/R4/references.html#literal.

Accepted: ``Type/id``, ``Type/id/_history/vid``, absolute URLs, ``urn:uuid:``, ``urn:oid:`` and ``#id``
(contained: ref-1, checked here, requires that id among the root resource's ``contained``). The Type must
be a FHIR R4 resource type.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..errors import Issue
from .tables import Tables

RESOURCE_TYPES_VS = "http://hl7.org/fhir/ValueSet/resource-types"

_RELATIVE = re.compile(r"^([A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/([A-Za-z0-9\-.]{1,64}))?$")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#]+[^\s]*$")
_UUID = re.compile(r"^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_OID = re.compile(r"^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$")
_CONTAINED = re.compile(r"^#([A-Za-z0-9\-.]{1,64})?$")


@lru_cache(maxsize=None)
def _resource_types(tables: Tables) -> frozenset[str]:
    return tables.codes(RESOURCE_TYPES_VS) - {"Resource", "DomainResource"}


@lru_cache(maxsize=8192)  # the same targets (sponsor, sites) recur across a study's resources
def reference_problem(tables: Tables, reference: str) -> str | None:
    """Why ``reference`` is not a valid literal reference, or None when it is."""
    match = _RELATIVE.match(reference)
    if match is not None:
        if match.group(1) not in _resource_types(tables):
            return f"'{match.group(1)}' is not a FHIR R4 resource type"
        return None
    if _CONTAINED.match(reference) or _UUID.match(reference) or _OID.match(reference):
        return None
    if reference.startswith("urn:"):
        return "urn references must be urn:uuid:<uuid> or urn:oid:<oid>"
    if _ABSOLUTE.match(reference):
        return None
    return "expected Type/id, Type/id/_history/version, an absolute URL, urn:uuid:, urn:oid: or #contained-id"


def _contained_ids(resource: dict[str, Any]) -> set[str]:
    contained = resource.get("contained")
    if not isinstance(contained, list):
        return set()
    return {c["id"] for c in contained if isinstance(c, dict) and isinstance(c.get("id"), str)}


def _ref1(where: str, value: str) -> Issue:
    return Issue("error", "invariant", f"Constraint failed: ref-1: SHALL have a contained resource if a local "
                 f"reference is provided (no contained resource has id '{value[1:]}')", (where,))


def check_reference(tables: Tables, data: dict[str, Any], expression: str, resource: dict[str, Any],
                    issues: list[Issue]) -> None:
    """Append an issue when the Reference ``data`` has a malformed ``reference`` or names a missing contained one."""
    value = data.get("reference")
    if not isinstance(value, str):
        return
    where = f"{expression}.reference"
    if len(value) > 1 and value[0] == "#":
        if value[1:] not in _contained_ids(resource):
            issues.append(_ref1(where, value))
        return
    problem = reference_problem(tables, value)
    if problem is not None:
        issues.append(Issue("error", "value", f"Invalid reference '{value}' at '{where}': {problem}", (where,)))
