"""Pieces every route uses: type checks, threadpool calls, write responses, https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...errors import Issue, MethodNotAllowed, NotFound
from ...resources import DEFINITIONAL_TYPES, RESOURCE_TYPE_SET
from ...store.repository import WriteResult
from ..context import base_url, prefer_return, read_json, repo_of
from ..auth import require_writer
from ..interactions import Checks, parse_if_match
from ..negotiation import Format, negotiate, require_content_type
from ..responses import empty_response, fhir_response, outcome_response, version_headers

T = TypeVar("T")


def check_type(resource_type: str) -> str:
    """A stored type; definitional ones are read-only (routes/definitions.py serves their read and search)."""
    if resource_type in DEFINITIONAL_TYPES:
        raise MethodNotAllowed(f"{resource_type} resources are this server's own definitions, served read-only from "
                               "the package: only read and search are allowed", expression="resourceType",
                               headers={"Allow": "GET"})
    if resource_type not in RESOURCE_TYPE_SET:
        raise NotFound(f"Resource type '{resource_type}' is not supported by this server",
                       expression="resourceType")
    return resource_type


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database work runs off the event loop so one slow query does not stall every client."""
    return await run_in_threadpool(fn, *args, **kwargs)


def in_transaction(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one interaction in its own unit of work (all of it is stored, or nothing); inside a transaction
    Bundle, the transaction's."""
    with repo_of(request).unit_of_work() as uow:
        return fn(uow, *args, **kwargs)


@dataclass(frozen=True, slots=True)
class Write:
    """A write request that passed the checks every write makes before touching the store."""

    fmt: Format
    body: Any
    if_match: int | None
    checks: Checks


async def accept_write(request: Request, resource_type: str, *, body_types: frozenset[str] | None = None,
                       expect: type = dict) -> Write:
    """Type served, token, response format, Content-Type, body and If-Match: in that order, before any work."""
    check_type(resource_type)
    require_writer(request, request.app.state.settings)
    fmt = negotiate(request)
    require_content_type(request, body_types)
    body = await read_json(request, expect=expect)
    return Write(fmt, body, parse_if_match(request.headers.get("if-match")), write_checks(request))


def write_checks(request: Request) -> Checks:
    """The validation policy of this server for one write, with an empty warnings list."""
    return Checks(request.app.state.settings.validation)


def write_response(request: Request, result: WriteResult, fmt: Format, checks: Checks | None = None) -> Response:
    """The write's answer per ``Prefer``; validation warnings are reported with ``return=OperationOutcome``."""
    stored = result.stored
    status = 201 if result.outcome == "created" else 200
    if checks is not None and checks.warnings.issues:
        # A Bundle entry reports them in response.outcome whatever it returns (rest/dispatch.py).
        request.state.warnings = list(checks.warnings.issues)
    location = f"{base_url(request)}/{stored.resource_type}/{stored.id}/_history/{stored.version_id}"
    headers = version_headers(stored, location)
    prefer = prefer_return(request)
    if prefer == "minimal":
        return empty_response(status, headers)
    if prefer == "OperationOutcome":
        text = {"created": "Created", "updated": "Updated", "unchanged": "No change: the content is the same"}
        return outcome_response([Issue("information", "informational",
                                       f"{text.get(result.outcome, result.outcome)} "
                                       f"{stored.resource_type}/{stored.id} version {stored.version_id}")]
                                + (checks.warnings.issues if checks else []), status, fmt, headers)
    return fhir_response(stored.body, status=status, fmt=fmt, headers=headers)
