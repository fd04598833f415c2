"""Batch and transaction Bundles at the base URL, https://hl7.org/fhir/R4/http.html#transaction.

Every entry goes through the same routes as a direct request (rest/dispatch.py): search, history, vread,
operations, HEAD and the writes answer in a Bundle exactly as they would alone.

- batch: entries run one after the other, each on its own; a failing entry answers with its OperationOutcome
  and the others go on.
- transaction: all entries run in one write transaction (store/atomic.py), in the spec's order (DELETE, POST,
  PUT/PATCH, GET/HEAD, https://hl7.org/fhir/R4/http.html#trules); POST entries get their ids first so that
  ``urn:uuid:`` references between entries are rewritten before anything is written. The first failing entry
  fails the whole transaction: nothing is stored, and its OperationOutcome names the entry. Operations are not
  part of a transaction's unit of work and are refused there (a batch runs them).
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.requests import Request

from ..errors import Conflict, FhirError, InvalidRequest, Issue
from ..resources import DEFINITIONAL_TYPES, RESOURCE_TYPE_SET
from ..store.repository import Repository
from . import interactions
from .auth import require_writer
from .bundles import bundle
from .context import base_url, repo_of, settings_of
from .dispatch import Dispatcher, EntryResponse, bundle_entry, status_line
from .entries import ORDER, WRITES, Entry, http_request, parse_entry
from .routes.common import blocking

URN_PREFIXES = ("urn:uuid:", "urn:oid:")


def _rewrite(node: Any, ids: dict[str, str]) -> Any:
    """Replace ``urn:uuid:`` references by the ids assigned in this transaction; reject dangling ones."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value.startswith(URN_PREFIXES):
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


def _entries(payload: Any) -> tuple[str, list[Any]]:
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


async def process(request: Request, payload: Any) -> dict[str, Any]:
    """Run a batch (entries independent) or transaction (all or nothing) and build the response Bundle."""
    kind, raw = _entries(payload)
    base = base_url(request)
    dispatcher = Dispatcher(request)
    if kind == "batch":
        return bundle("batch-response", [await _batch_entry(dispatcher, r, i, base) for i, r in enumerate(raw)])
    entries = [parse_entry(r, i, base) for i, r in enumerate(raw)]
    _check_transaction(entries)
    if any(e.method in WRITES for e in entries):
        require_writer(request, settings_of(request))  # before the write lock is taken
    async with _atomic(repo_of(request)) as view:
        await _run_transaction(dispatcher, view, entries)
    return bundle("transaction-response", [e.response for e in entries])


async def _batch_entry(dispatcher: Dispatcher, raw: Any, index: int, base: str) -> dict[str, Any]:
    try:
        entry = parse_entry(raw, index, base)
        response = await dispatcher.send(http_request(entry))
    except FhirError as exc:
        return {"response": {"status": status_line(exc.status), "outcome": exc.outcome()}}
    return bundle_entry(response, write=entry.method in WRITES and not entry.operation)


@asynccontextmanager
async def _atomic(repo: Repository) -> AsyncIterator[Repository]:
    """``repo.atomic()`` entered and left in the thread pool (BEGIN and COMMIT may wait on the database); the
    rollback of a failed or cancelled transaction is shielded from cancellation."""
    manager = repo.atomic()
    view = await blocking(manager.__enter__)
    try:
        yield view
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await blocking(manager.__exit__, type(exc), exc, exc.__traceback__)
        raise
    with anyio.CancelScope(shield=True):
        await blocking(manager.__exit__, None, None, None)


async def _run_transaction(dispatcher: Dispatcher, view: Repository, entries: list[Entry]) -> None:
    ordered = sorted(entries, key=lambda x: (ORDER[x.method], x.index))
    deletes = [e for e in ordered if e.method == "DELETE"]
    for e in deletes:
        await _run(dispatcher, view, e)
    # Ids before any create: the DELETEs are done, so a conditional create matches what is left.
    ids = await blocking(_assign_ids, view, entries)
    for e in entries:
        if e.resource is not None and e.method in ("POST", "PUT"):
            try:
                e.resource = _rewrite(e.resource, ids)
            except FhirError as exc:
                raise _locate(exc, e) from None
    for e in ordered[len(deletes):]:
        await _run(dispatcher, view, e)
        if e.method == "POST" and e.full_url in ids and _created_id(e) not in (None, ids[e.full_url]):
            raise _locate(Conflict(f"A concurrent create of {ids[e.full_url]} changed the entry's id; retry"), e)


async def _run(dispatcher: Dispatcher, view: Repository, entry: Entry) -> None:
    state: dict[str, Any] = {"repository": view}
    if entry.assigned_id:
        state["assigned_id"] = entry.assigned_id
    response: EntryResponse = await dispatcher.send(http_request(entry), state)
    if response.status >= 400:
        raise _locate(response.error(), entry)
    entry.response = bundle_entry(response, write=entry.method in WRITES)


def _created_id(entry: Entry) -> str | None:
    """``Type/id`` of what a POST entry stored, from its location (…/Type/id/_history/n)."""
    location = entry.response.get("response", {}).get("location", "")
    parts = location.split("/_history/")[0].rsplit("/", 2)
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else None


def _assign_ids(view: Repository, entries: list[Entry]) -> dict[str, str]:
    """Give every POST (and conditional PUT) its id up front so references can be rewritten before writing."""
    ids: dict[str, str] = {}
    conditional: dict[tuple[str, str], str] = {}  # an earlier POST of the same criteria creates what a later finds
    with view.unit_of_work() as uow:
        for e in entries:
            rtype = e.segments[0] if e.segments else ""
            target: str | None = None
            if rtype not in RESOURCE_TYPE_SET or rtype in DEFINITIONAL_TYPES:
                continue  # the entry's own route answers (404, or 405 for the read-only definitions)
            if e.method == "POST":
                criteria = e.headers.get("If-None-Exist")
                e.assigned_id = str(uuid.uuid4())
                target = e.assigned_id
                if criteria:
                    target = (conditional.get((rtype, criteria))
                              or interactions.single_match(uow, rtype, criteria) or target)
                    conditional.setdefault((rtype, criteria), target)
            elif e.method == "PUT" and len(e.segments) == 2:
                target = e.segments[1]
            elif e.method == "PUT" and e.query and e.full_url and e.full_url.startswith(URN_PREFIXES):
                target = interactions.single_match(uow, rtype, e.query)
                if target is None:  # creates: under an id chosen now, which it then keeps
                    target = e.resource.get("id") if isinstance(e.resource.get("id"), str) else str(uuid.uuid4())
                    e.resource = {**e.resource, "id": target}
            if target and e.full_url and e.full_url.startswith(URN_PREFIXES):
                ids[e.full_url] = f"{rtype}/{target}"
    return ids


def _check_transaction(entries: list[Entry]) -> None:
    seen: set[tuple[str, ...]] = set()
    for e in entries:
        if e.operation:
            raise InvalidRequest(f"{e.where}: operations are not part of a transaction's unit of work; send "
                                 f"{e.method} {e.url} in a batch", expression=f"{e.where}.request.url")
        if e.method in ("PUT", "DELETE", "PATCH") and len(e.segments) == 2:
            key = tuple(e.segments)
            if key in seen:
                raise InvalidRequest(f"{'/'.join(key)} appears twice in the transaction", expression=e.where)
            seen.add(key)


def _locate(exc: FhirError, entry: Entry) -> FhirError:
    """Prefix the failing entry so the client sees which one broke the transaction."""
    exc.issues = [Issue(i.severity, i.code, f"{entry.where} ({entry.method} {entry.url}): {i.diagnostics}",
                        i.expression or (entry.where,)) for i in exc.issues]
    return exc
