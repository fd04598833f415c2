"""Definitional resources over REST, read-only: read and search of SearchParameter, StructureDefinition,
CodeSystem and OperationDefinition, served from the package (fhirtrial/conformance/).

https://hl7.org/fhir/R4/http.html#read, https://hl7.org/fhir/R4/http.html#search. Every other interaction on
these types (create, update, patch, delete, history, conditional ones; directly or as a Bundle entry, which goes
through the same routes) is refused by ``check_type`` with a 405 OperationOutcome: they are the server's own
definitions, not data.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...conformance import default_definitions
from ...conformance.search import search_definitions
from ...errors import InvalidRequest, NotFound, operation_outcome
from ...resources import DEFINITIONAL_TYPES
from .. import summary as summaries
from ..bundles import bundle
from ..context import base_url, prefer_handling, settings_of
from ..negotiation import negotiate
from ..responses import fhir_response
from .common import check_type
from .search import CURSOR, form_pairs, ignored_issues

router = APIRouter()


def _read(request: Request, resource_type: str, resource_id: str) -> Response:
    if resource_id == "_history":
        check_type(resource_type)  # history of a definitional type: refused like any other interaction
    fmt = negotiate(request)
    found = default_definitions().read(resource_type, resource_id)
    if found is None:
        raise NotFound(f"{resource_type}/{resource_id} is not one of this server's definitions",
                       expression="id")
    return fhir_response(found, fmt=fmt)


def _offset(pairs: list[tuple[str, str]]) -> int:
    values = [v for k, v in pairs if k == CURSOR]
    if not values:
        return 0
    if len(values) > 1 or not values[0].isdigit() or len(values[0]) > 9:
        raise InvalidRequest(f"Invalid page cursor {values[0][:40]!r}", expression=CURSOR)
    return int(values[0])


async def _search(request: Request, resource_type: str, extra: list[tuple[str, str]]) -> Response:
    from ...search.parser import parse_search

    fmt = negotiate(request)
    settings = settings_of(request)
    pairs = list(request.query_params.multi_items()) + extra
    base = base_url(request)
    parsed = parse_search(resource_type, pairs, strict=prefer_handling(request) == "strict",
                          max_count=settings.max_count, base_url=base)
    if parsed.count is None:
        parsed = dataclasses.replace(parsed, count=settings.default_count)
    offset = _offset(pairs)
    page = search_definitions(parsed, offset)
    entries: list[dict[str, Any]] = []
    if parsed.summary != "count":
        for resource in page.matches:
            body = resource
            if parsed.summary not in (None, "false") or parsed.elements:
                body = summaries.apply(resource, parsed.summary, parsed.elements) or resource
            entries.append({"fullUrl": f"{base}/{resource_type}/{resource['id']}", "resource": body,
                            "search": {"mode": "match"}})
    issues = ignored_issues(parsed) + page.issues
    if issues:
        entries.append({"resource": operation_outcome(issues), "search": {"mode": "outcome"}})
    here, query = f"{base}/{resource_type}", parsed.to_query_string()

    def url(at: int | None) -> str:
        parts = [p for p in (query, f"{CURSOR}={at}" if at else "") if p]
        return here + ("?" + "&".join(parts) if parts else "")

    links = [("self", url(offset)), ("first", url(None))]
    if offset > 0:
        links.append(("previous", url(max(0, offset - (parsed.count or 0)))))
    if page.next_offset is not None:
        links.append(("next", url(page.next_offset)))
    return fhir_response(bundle("searchset", entries, links=links, total=page.total), fmt=fmt)


def _routes(resource_type: str) -> None:
    async def search_get(request: Request) -> Response:
        return await _search(request, resource_type, [])

    async def search_post(request: Request) -> Response:
        return await _search(request, resource_type, await form_pairs(request))

    async def read(request: Request, resource_id: str) -> Response:
        return _read(request, resource_type, resource_id)

    router.add_api_route(f"/{resource_type}", search_get, methods=["GET"], name=f"search-{resource_type}")
    router.add_api_route(f"/{resource_type}/_search", search_post, methods=["POST"],
                         name=f"search-post-{resource_type}")
    router.add_api_route(f"/{resource_type}/{{resource_id}}", read, methods=["GET"], name=f"read-{resource_type}")


for _type in DEFINITIONAL_TYPES:
    _routes(_type)
