"""Search over REST: ``GET [base]/Type?…``, ``POST [base]/Type/_search``, system search ``GET [base]?_type=…``
and ``POST [base]/_search`` (https://hl7.org/fhir/R4/http.html#search, https://hl7.org/fhir/R4/search.html).

The routes are thin: parameters -> ``parse_search`` -> ``Repository.search`` -> a ``searchset`` Bundle.

- Handling: ``Prefer: handling=strict`` turns an unknown parameter into a 400; the default (lenient) ignores it,
  leaves it out of the ``self`` link and reports it in an OperationOutcome entry (``search.mode = outcome``).
- Paging: the store's opaque cursors travel in ``_cursor``; ``self`` is the canonical query
  (``SearchRequest.to_query_string()``) plus the current cursor, ``first`` the same without it.
- ``_summary`` / ``_elements``: rendered here (see summary.py); ``_summary=count`` returns the total only.
- Definitional resources (SearchParameter, StructureDefinition, CodeSystem, OperationDefinition) are not stored:
  routes/definitions.py serves them from the package.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...conformance import closed_sets
from ...errors import InvalidRequest, Issue, UnsupportedMediaType, operation_outcome
from ...resources import DEFINITIONAL_TYPES, RESOURCE_TYPES
from ...search.parser import parse_search
from ...search.registry import default_registry
from ...search.request import SearchRequest
from ...store.repository import SearchPage, StoredResource
from .. import summary as summaries
from ..auth import Screen, access_of, guard_search, screen
from ..bundles import bundle, match_details, resource_fragment
from ..context import base_url, prefer_handling, read_body, repo_of, settings_of
from ..negotiation import FORM, negotiate
from ..responses import fhir_response
from .common import blocking, check_type

router = APIRouter()

CURSOR = "_cursor"


# -- parameters ----------------------------------------------------------------------------------------------------
async def form_pairs(request: Request) -> list[tuple[str, str]]:
    raw = await read_body(request)
    if not raw.strip():
        return []
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise UnsupportedMediaType(f"POST _search takes a form ({FORM}), not {content_type or 'no Content-Type'}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("The form body is not UTF-8") from None
    return parse_qsl(text, keep_blank_values=True)


def _parse(request: Request, resource_type: str | None, pairs: list[tuple[str, str]]) -> SearchRequest:
    settings = settings_of(request)
    parsed = parse_search(resource_type, pairs, strict=prefer_handling(request) == "strict",
                          max_count=settings.max_count, base_url=base_url(request))
    if parsed.count is None:
        parsed = dataclasses.replace(parsed, count=settings.default_count)
    if len([v for k, v in pairs if k == CURSOR]) > 1:
        raise InvalidRequest("Only one _cursor may be given", expression=CURSOR)
    return parsed


def _cursor(parsed: SearchRequest) -> str | None:
    for name, value in parsed.passthrough:
        if name == CURSOR:
            return value
    return None


def _run(request: Request, parsed: SearchRequest, cursor: str | None, visible: Screen | None = None) -> SearchPage:
    if parsed.summary == "count":
        # Only the total: no entries (https://hl7.org/fhir/R4/search.html#summary).
        parsed = dataclasses.replace(parsed, count=0, total=parsed.total if parsed.total not in (None, "none")
                                     else "accurate", includes=())
    return repo_of(request).search(parsed, cursor=cursor, visible=visible)


# -- the Bundle ----------------------------------------------------------------------------------------------------
def _entry(stored: StoredResource, base: str, mode: str, parsed: SearchRequest) -> dict[str, Any]:
    resource: Any = resource_fragment(stored)
    if parsed.summary not in (None, "false") or parsed.elements:
        trimmed = summaries.apply(stored.resource(), parsed.summary, parsed.elements)
        if trimmed is not None:
            resource = trimmed
    return {"fullUrl": f"{base}/{stored.resource_type}/{stored.id}", "resource": resource,
            "search": {"mode": mode}}


def ignored_issues(parsed: SearchRequest) -> list[Issue]:
    return [Issue("warning", "not-supported",
                  f"Search parameter {i.name!r} (value {i.value!r}) was ignored: {i.reason}", (i.name,))
            for i in parsed.ignored]


def _outcome_entry(parsed: SearchRequest, page: SearchPage) -> dict[str, Any]:
    return {"resource": operation_outcome(ignored_issues(parsed) + page.issues),
            "search": {"mode": "outcome"}}


def _links(here: str, parsed: SearchRequest, cursor: str | None, page: SearchPage) -> list[tuple[str, str]]:
    query = parsed.to_query_string()

    def url(at: str | None) -> str:
        parts = [p for p in (query, f"{CURSOR}={quote(at, safe='')}" if at else "") if p]
        return here + ("?" + "&".join(parts) if parts else "")

    links = [("self", url(cursor)), ("first", url(None))]
    if page.previous_cursor:
        links.append(("previous", url(page.previous_cursor)))
    if page.next_cursor:
        links.append(("next", url(page.next_cursor)))
    return links


def searchset(base: str, here: str, parsed: SearchRequest, cursor: str | None, page: SearchPage) -> dict[str, Any]:
    entries: list[dict[str, Any]] = []
    if parsed.summary != "count":
        entries = [_entry(s, base, "match", parsed) for s in page.matches]
        for stored, entry in zip(page.matches, entries):
            match_details(entry["search"], page, (stored.resource_type, stored.id))
        entries += [_entry(s, base, "include", parsed) for s in page.included]
    if parsed.ignored or page.issues:
        entries.append(_outcome_entry(parsed, page))
    return bundle("searchset", entries, links=_links(here, parsed, cursor, page), total=page.total)


async def _search(request: Request, resource_type: str | None, extra: Iterable[tuple[str, str]] = ()) -> Response:
    fmt = negotiate(request)
    pairs = list(request.query_params.multi_items()) + list(extra)
    parsed = _parse(request, resource_type, pairs)
    cursor = _cursor(parsed)
    codes = closed_sets().check(parsed)  # codes no resource can hold (recruitment=RECRUITNG)
    if codes and prefer_handling(request) == "strict":
        raise InvalidRequest(codes[0].diagnostics, issues=[dataclasses.replace(i, severity="error") for i in codes])
    granted = access_of(request)
    # What these credentials may search (patient data needs the token); the links keep what was asked.
    run, notes = guard_search(granted, parsed)
    visible = screen(granted)
    page = await blocking(_run, request, run, cursor, visible)
    notes += visible.issues() if visible is not None else []
    if codes or notes:
        page = dataclasses.replace(page, issues=codes + notes + page.issues)
    base = base_url(request)
    here = f"{base}/{resource_type}" if resource_type else base
    return fhir_response(searchset(base, here, parsed, cursor, page), fmt=fmt)


@router.get("/")
@router.get("")
async def system_search(request: Request) -> Response:
    return await _search(request, None)


@router.post("/_search")
async def system_search_post(request: Request) -> Response:
    return await _search(request, None, await form_pairs(request))


@router.get("/{resource_type}")
async def type_search(request: Request, resource_type: str) -> Response:
    return await _search(request, check_type(resource_type))


@router.post("/{resource_type}/_search")
async def type_search_post(request: Request, resource_type: str) -> Response:
    check_type(resource_type)
    return await _search(request, resource_type, await form_pairs(request))


# -- CapabilityStatement hooks -------------------------------------------------------------------------------------
def advertised_params(resource_type: str) -> list[dict[str, Any]]:
    """Every parameter the parser accepts for the type: name, definition URL, type, documentation."""
    out = []
    for p in default_registry().for_type(resource_type):
        if p.expression is None and p.code not in ("_text", "_content"):
            continue  # no expression: nothing is indexed, the parser refuses it
        entry: dict[str, Any] = {"name": p.code, "definition": p.url, "type": p.type}
        if p.documentation:
            entry["documentation"] = p.documentation
        out.append(entry)
    return out


def reference_params(resource_type: str) -> list[str]:
    return [p.code for p in default_registry().for_type(resource_type) if p.type == "reference" and p.expression]


def advertised_includes(resource_type: str) -> tuple[list[str], list[str]]:
    """``searchInclude`` (this type's reference parameters, and ``*``) and ``searchRevInclude`` (reference
    parameters of served types that can point at this type)."""
    if resource_type in DEFINITIONAL_TYPES:
        return [], []  # definitional resources are returned alone
    registry = default_registry()
    include = ["*"] + [f"{resource_type}:{code}" for code in reference_params(resource_type)]
    revinclude = []
    for source in (t for t in RESOURCE_TYPES if t not in DEFINITIONAL_TYPES):
        for p in registry.for_type(source):
            if p.type == "reference" and p.expression and (not p.targets or resource_type in p.targets):
                revinclude.append(f"{source}:{p.code}")
    return include, revinclude


def capability_hooks() -> dict[str, Any]:
    return {"search_params": advertised_params, "includes": advertised_includes}
