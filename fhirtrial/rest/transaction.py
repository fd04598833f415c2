"""Batch and transaction Bundles at the base URL, https://hl7.org/fhir/R4/http.html#transaction."""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterator

import orjson

from ..errors import FhirError, InvalidRequest, Issue, MethodNotAllowed, NotFound, operation_outcome
from ..resources import DEFINITIONAL_TYPES, RESOURCE_TYPE_SET
from ..store.repository import Repository, UnitOfWork, WriteResult
from . import interactions
from .bundles import bundle, instant

# The order the spec requires for processing a transaction (https://hl7.org/fhir/R4/http.html#trules).
_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_STATUS = {"created": "201 Created", "updated": "200 OK", "unchanged": "200 OK", "deleted": "204 No Content",
           "gone": "204 No Content"}


@dataclass
class Entry:
    index: int
    method: str
    url: str
    resource_type: str
    resource_id: str | None
    criteria: str | None
    resource: Any
    full_url: str | None
    if_match: int | None
    if_none_exist: str | None
    response: dict[str, Any] = field(default_factory=dict)


def _parse_url(url: str, base: str, where: str) -> tuple[str, str | None, str | None]:
    """``Type``, ``Type/id`` or ``Type?criteria`` (relative, or absolute on our base)."""
    if url.startswith(base + "/"):
        url = url[len(base) + 1:]
    path, _, query = url.partition("?")
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] in DEFINITIONAL_TYPES:
        raise MethodNotAllowed(f"{parts[0]} resources are this server's own definitions, read-only: use GET "
                               f"[base]/{parts[0]} outside a batch", expression=where)
    if not parts or parts[0] not in RESOURCE_TYPE_SET:
        raise InvalidRequest(f"Unsupported or missing resource type in request.url {url!r}", expression=where)
    if len(parts) > 2:
        raise InvalidRequest(f"request.url {url!r} is not Type, Type/id or Type?criteria", expression=where)
    return parts[0], (parts[1] if len(parts) == 2 else None), (query or None)


def _parse_entry(raw: Any, index: int, base: str) -> Entry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{where} must be an object", expression=where)
    request = raw.get("request")
    if not isinstance(request, dict):
        raise InvalidRequest(f"{where}.request is required in a batch or transaction", expression=f"{where}.request")
    method = request.get("method")
    if not isinstance(method, str) or method not in _ORDER:
        raise InvalidRequest(f"{where}.request.method {method!r} is not one of {sorted(_ORDER)}",
                             expression=f"{where}.request.method")
    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"{where}.request.url is required", expression=f"{where}.request.url")
    rtype, rid, criteria = _parse_url(url, base, f"{where}.request.url")
    resource = raw.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise InvalidRequest(f"{where}.resource is required for {method}", expression=f"{where}.resource")
    if method == "PATCH" and not (isinstance(resource, dict) and resource.get("resourceType") == "Binary"):
        raise InvalidRequest(f"{where}: PATCH in a Bundle takes a Binary resource with a JSON Patch",
                             expression=f"{where}.resource")
    for key in ("ifMatch", "ifNoneExist"):
        if request.get(key) is not None and not isinstance(request[key], str):
            raise InvalidRequest(f"{where}.request.{key} must be a string", expression=f"{where}.request.{key}")
    full_url = raw.get("fullUrl")
    return Entry(index, method, url, rtype, rid, criteria, resource, full_url if isinstance(full_url, str) else None,
                 interactions.parse_if_match(request.get("ifMatch")), request.get("ifNoneExist"))


def _rewrite(node: Any, ids: dict[str, str]) -> Any:
    """Replace ``urn:uuid:`` references by the ids assigned in this transaction; reject dangling ones."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value.startswith(("urn:uuid:", "urn:oid:")):
                if value not in ids:
                    raise InvalidRequest(f"Reference {value!r} points at no entry of this transaction",
                                         expression="reference")
                out[key] = ids[value]
            else:
                out[key] = _rewrite(value, ids)
        return out
    if isinstance(node, list):
        return [_rewrite(v, ids) for v in node]
    return node


def _result(entry: Entry, result: WriteResult | None, base: str) -> None:
    if result is None:
        entry.response = {"status": "204 No Content"}
        return
    stored = result.stored
    entry.response = {"status": _STATUS[result.outcome]}
    if result.outcome not in ("deleted", "gone"):
        entry.response["location"] = f"{base}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
        entry.response["etag"] = stored.etag
        entry.response["lastModified"] = instant(stored.last_updated)
        entry.response["resource_body"] = stored.body


def _execute(uow: UnitOfWork, entry: Entry, base: str, strictness: str | None) -> None:
    e = entry
    checks = interactions.Checks(strictness)
    if e.method == "DELETE":
        result = (interactions.conditional_delete(uow, e.resource_type, e.criteria) if e.criteria
                  else interactions.delete(uow, e.resource_type, e.resource_id, if_match=e.if_match))
    elif e.method == "POST":
        result = interactions.create(uow, e.resource_type, e.resource, if_none_exist=e.if_none_exist,
                                     resource_id=e.resource_id, checks=checks)
    elif e.method == "PUT":
        result = (interactions.conditional_update(uow, e.resource_type, e.criteria, e.resource, if_match=e.if_match,
                                                  checks=checks)
                  if e.criteria else
                  interactions.update(uow, e.resource_type, e.resource_id, e.resource, if_match=e.if_match,
                                      checks=checks))
    elif e.method == "PATCH":
        ops = _patch_body(e)
        result = interactions.patch(uow, e.resource_type, e.resource_id, ops, if_match=e.if_match, checks=checks)
    else:
        current = uow.current(e.resource_type, e.resource_id or "") if e.resource_id else None
        if current is None or current.deleted:
            raise NotFound(f"{e.url} was not found")
        result = WriteResult(current, "unchanged")
    _result(entry, result, base)
    if checks.warnings.issues:
        entry.response["outcome"] = operation_outcome(checks.warnings.issues)


def _patch_body(entry: Entry) -> Any:
    try:
        return orjson.loads(base64.b64decode(entry.resource.get("data", ""), validate=True))
    except (ValueError, TypeError):
        raise InvalidRequest("The Binary of a PATCH entry must hold a base64 JSON Patch",
                             expression=f"Bundle.entry[{entry.index}].resource.data") from None


def _assign_ids(uow: UnitOfWork, entries: list[Entry]) -> dict[str, str]:
    """Give every POST (and conditional PUT) its id up front so references can be rewritten before writing."""
    ids: dict[str, str] = {}
    for e in entries:
        if e.method == "POST":
            existing = (interactions.single_match(uow, e.resource_type, e.if_none_exist)
                        if e.if_none_exist else None)
            e.resource_id = existing or str(uuid.uuid4())
            if existing:
                e.if_none_exist = None
                e.method = "GET"
        elif e.method == "PUT" and e.criteria and e.full_url:
            e.resource_id = interactions.single_match(uow, e.resource_type, e.criteria)
        if e.full_url and e.full_url.startswith(("urn:uuid:", "urn:oid:")) and e.resource_id:
            ids[e.full_url] = f"{e.resource_type}/{e.resource_id}"
    return ids


def _entries(payload: Any, base: str) -> tuple[str, list[Entry]]:
    if not isinstance(payload, dict) or payload.get("resourceType") != "Bundle":
        raise InvalidRequest("POST to the base URL takes a Bundle of type batch or transaction",
                             expression="Bundle.resourceType")
    kind = payload.get("type")
    if kind not in ("batch", "transaction"):
        raise InvalidRequest(f"Bundle.type must be batch or transaction, not {kind!r}", expression="Bundle.type")
    raw = payload.get("entry", [])
    if not isinstance(raw, list):
        raise InvalidRequest("Bundle.entry must be an array", expression="Bundle.entry")
    return kind, raw


def _respond(kind: str, entries: list[Entry], include_body: bool) -> dict[str, Any]:
    out = []
    for e in sorted(entries, key=lambda x: x.index):
        body = e.response.pop("resource_body", None)
        entry: dict[str, Any] = {}
        if include_body and body is not None:
            entry["resource"] = orjson.Fragment(body)
        entry["response"] = e.response
        out.append(entry)
    return bundle(f"{kind}-response", out)


def process(repo: Repository, payload: Any, base: str, *, include_body: bool = True,
            strictness: str | None = None) -> dict[str, Any]:
    """Run a batch (entries independent) or transaction (all or nothing) and build the response Bundle."""
    kind, raw = _entries(payload, base)
    if kind == "transaction":
        entries = [_parse_entry(r, i, base) for i, r in enumerate(raw)]
        _check_duplicates(entries)
        with repo.unit_of_work() as uow:
            ids = _assign_ids(uow, entries)
            for e in entries:
                if e.resource is not None and e.method != "PATCH":
                    e.resource = _rewrite(e.resource, ids)
                    if e.method == "POST":
                        e.resource = {**e.resource, "id": e.resource_id}
            for e in sorted(entries, key=lambda x: (_ORDER[x.method], x.index)):
                try:
                    _execute(uow, e, base, strictness)
                except FhirError as exc:
                    raise _locate(exc, e) from None
        return _respond(kind, entries, include_body)
    return _respond(kind, list(_batch(repo, raw, base, strictness)), include_body)


def _batch(repo: Repository, raw: list[Any], base: str, strictness: str | None) -> Iterator[Entry]:
    for i, r in enumerate(raw):
        try:
            entry = _parse_entry(r, i, base)
            with repo.unit_of_work() as uow:
                _execute(uow, entry, base, strictness)
        except FhirError as exc:
            entry = Entry(i, "GET", "", "", None, None, None, None, None, None)
            entry.response = {"status": f"{exc.status}", "outcome": exc.outcome()}
        yield entry


def _check_duplicates(entries: list[Entry]) -> None:
    seen: set[tuple[str, str]] = set()
    for e in entries:
        if e.resource_id and e.method in ("PUT", "DELETE", "PATCH"):
            key = (e.resource_type, e.resource_id)
            if key in seen:
                raise InvalidRequest(f"{e.resource_type}/{e.resource_id} appears twice in the transaction",
                                     expression=f"Bundle.entry[{e.index}]")
            seen.add(key)


def _locate(exc: FhirError, entry: Entry) -> FhirError:
    """Prefix the failing entry so the client sees which one broke the transaction."""
    where = f"Bundle.entry[{entry.index}]"
    exc.issues = [Issue(i.severity, i.code, f"{where} ({entry.method} {entry.url}): {i.diagnostics}",
                        i.expression or (where,)) for i in exc.issues]
    return exc

