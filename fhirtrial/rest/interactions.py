"""Write interactions independent of HTTP: create, update, patch, delete and their conditional forms.

https://hl7.org/fhir/R4/http.html#create , #update , #patch , #delete , #cond-update
"""
from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import jsonpatch

from ..errors import (Conflict, InvalidRequest, MultipleMatches, NotFound, PreconditionFailed, UnprocessableEntity,
                      Warnings)
from ..store.repository import UnitOfWork, WriteResult
from ..validation import validate_resource


def parse_criteria(criteria: str) -> dict[str, list[str]]:
    """Search criteria of a conditional interaction (``a=b&c=d``, optionally prefixed by ``Type?``)."""
    query = criteria.split("?", 1)[1] if "?" in criteria else criteria
    parsed = parse_qs(query, keep_blank_values=True)
    if not parsed:
        raise InvalidRequest(f"Conditional criteria {criteria!r} contain no search parameter")
    return parsed


def parse_if_match(value: str | None) -> int | None:
    """``W/"3"`` -> 3."""
    if value is None:
        return None
    raw = value.strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    if not raw.isdigit():
        raise InvalidRequest(f"If-Match {value!r} is not a version ETag such as W/\"1\"", expression="If-Match")
    return int(raw)


@dataclass
class Checks:
    """How a write is validated (``Settings.validation``: error | warning) and where its warnings are kept so the
    response can carry them (https://hl7.org/fhir/R4/validation.html)."""

    strictness: str | None = None
    warnings: Warnings = field(default_factory=Warnings)


def _validate(resource: Any, checks: Checks | None, **expect: Any) -> None:
    validate_resource(resource, strictness=checks.strictness if checks else None,
                      warnings=checks.warnings if checks else None, **expect)


def single_match(uow: UnitOfWork, resource_type: str, criteria: str) -> str | None:
    ids = uow.find_ids(resource_type, parse_criteria(criteria))
    if len(ids) > 1:
        raise MultipleMatches(f"The criteria {criteria!r} match {len(ids)} {resource_type} resources")
    return ids[0] if ids else None


_CLAIM_ATTEMPTS = 5


def match_or_claim(uow: UnitOfWork, resource_type: str, criteria: str, new_id: str) -> str | None:
    """The single current match of ``criteria``; or None once the creation of ``new_id`` for them is reserved,
    so that a racing conditional create cannot create a second one (store/claims.py). Each failed claim means
    another writer got there first: searching again finds its resource."""
    holder: str | None = None
    for _ in range(_CLAIM_ATTEMPTS):
        match = single_match(uow, resource_type, criteria)
        if match is not None:
            return match
        holder = uow.claim(resource_type, parse_criteria(criteria), new_id, replacing=holder)
        if holder is None:
            return None
    raise Conflict(f"Concurrent conditional creates of {resource_type}?{criteria} kept colliding; retry")


def create(uow: UnitOfWork, resource_type: str, resource: Any, *, if_none_exist: str | None = None,
           resource_id: str | None = None, checks: Checks | None = None) -> WriteResult:
    """POST: the server assigns the id (any id in the body is ignored, as the spec says); ``resource_id`` is one
    chosen in advance (a transaction's urn:uuid entries)."""
    _validate(resource, checks, resource_type=resource_type)
    body = {k: v for k, v in resource.items() if k != "id"}
    if if_none_exist:
        new_id = resource_id or str(uuid.uuid4())
        existing = match_or_claim(uow, resource_type, if_none_exist, new_id)
        if existing is not None:
            current = uow.current(resource_type, existing)
            assert current is not None
            return WriteResult(current, "unchanged")
        return uow.create(resource_type, body, new_id)
    return uow.create(resource_type, body, resource_id)


def update(uow: UnitOfWork, resource_type: str, resource_id: str, resource: Any, *,
           if_match: int | None = None, method: str = "PUT", checks: Checks | None = None) -> WriteResult:
    _validate(resource, checks, resource_type=resource_type, resource_id=resource_id, require_id=True)
    return uow.update(resource_type, resource_id, resource, if_match=if_match, method=method)


def conditional_update(uow: UnitOfWork, resource_type: str, criteria: str, resource: Any, *,
                       if_match: int | None = None, checks: Checks | None = None) -> WriteResult:
    """PUT Type?criteria: updates the single match; with none it creates (under the body's id if it has one),
    guarded like a conditional create."""
    _validate(resource, checks, resource_type=resource_type)
    body_id = resource.get("id")
    new_id = body_id if isinstance(body_id, str) else str(uuid.uuid4())
    match = match_or_claim(uow, resource_type, criteria, new_id)
    if match is None:
        if body_id is not None:
            return uow.update(resource_type, body_id, resource, if_match=if_match)
        return uow.create(resource_type, resource, new_id)
    if body_id not in (None, match):
        raise InvalidRequest(f"Body id '{resource['id']}' differs from the matched resource '{match}'",
                             expression=f"{resource_type}.id")
    return uow.update(resource_type, match, {**resource, "id": match}, if_match=if_match)


def patch(uow: UnitOfWork, resource_type: str, resource_id: str, operations: Any, *,
          if_match: int | None = None, checks: Checks | None = None) -> WriteResult:
    """JSON Patch (RFC 6902); the patched resource must still be valid and keep its type and id."""
    if not isinstance(operations, list):
        raise InvalidRequest("A JSON Patch document must be a JSON array of operations")
    current = uow.current(resource_type, resource_id)
    if current is None or current.deleted:
        raise NotFound(f"{resource_type}/{resource_id} does not exist")
    if if_match is not None and if_match != current.version_id:
        raise PreconditionFailed(f"If-Match version {if_match} is not the current version {current.version_id}")
    original = current.resource()
    try:
        patched = jsonpatch.apply_patch(copy.deepcopy(original), operations)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError, KeyError) as exc:
        raise UnprocessableEntity(f"The JSON Patch cannot be applied: {exc}") from None
    if not isinstance(patched, dict):
        raise UnprocessableEntity("The JSON Patch must leave a resource (a JSON object)")
    return update(uow, resource_type, resource_id, patched, if_match=current.version_id, method="PATCH",
                  checks=checks)


def delete(uow: UnitOfWork, resource_type: str, resource_id: str, *, if_match: int | None = None) -> WriteResult:
    return uow.delete(resource_type, resource_id, if_match=if_match)


def conditional_delete(uow: UnitOfWork, resource_type: str, criteria: str) -> WriteResult | None:
    """Deletes the single match; several matches is 412 (the spec lets servers refuse those)."""
    match = single_match(uow, resource_type, criteria)
    return None if match is None else uow.delete(resource_type, match)
