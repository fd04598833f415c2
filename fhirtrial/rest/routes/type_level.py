"""Type-level interactions: create, conditional update/delete, search, https://hl7.org/fhir/R4/http.html#create."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest
from .. import interactions
from ..auth import require_writer
from ..bundles import bundle, search_entry
from ..context import base_url, read_json, repo_of, settings_of
from ..negotiation import negotiate, require_content_type
from ..responses import empty_response, fhir_response
from .common import blocking, check_type, in_transaction, write_response
from .history import count_param

router = APIRouter()


def _criteria(request: Request) -> str:
    query = request.url.query
    if not query:
        raise InvalidRequest("A conditional interaction on a type needs search criteria in the URL")
    return query


@router.post("/{resource_type}")
async def create(request: Request, resource_type: str) -> Response:
    check_type(resource_type)
    require_writer(request, settings_of(request))
    fmt = negotiate(request)
    require_content_type(request)
    body = await read_json(request)
    result = await blocking(in_transaction, request, interactions.create, resource_type, body,
                            if_none_exist=request.headers.get("if-none-exist"))
    return write_response(request, result, fmt)


@router.put("/{resource_type}")
async def conditional_update(request: Request, resource_type: str) -> Response:
    check_type(resource_type)
    require_writer(request, settings_of(request))
    fmt = negotiate(request)
    require_content_type(request)
    criteria = _criteria(request)
    body = await read_json(request)
    if_match = interactions.parse_if_match(request.headers.get("if-match"))
    result = await blocking(in_transaction, request, interactions.conditional_update, resource_type, criteria, body,
                            if_match=if_match)
    return write_response(request, result, fmt)


@router.delete("/{resource_type}")
async def conditional_delete(request: Request, resource_type: str) -> Response:
    check_type(resource_type)
    require_writer(request, settings_of(request))
    negotiate(request)
    await blocking(in_transaction, request, interactions.conditional_delete, resource_type, _criteria(request))
    return empty_response(204)


def _find(request: Request, resource_type: str, criteria: dict[str, list[str]], count: int) -> list:
    repo = repo_of(request)
    with repo.unit_of_work() as uow:
        ids = uow.find_ids(resource_type, criteria) if criteria else []
    return [repo.read(resource_type, i) for i in ids[:count]]


@router.get("/{resource_type}")
async def search(request: Request, resource_type: str) -> Response:
    check_type(resource_type)
    fmt = negotiate(request)
    count = count_param(request)
    criteria = {k: request.query_params.getlist(k) for k in request.query_params.keys()
                if k not in ("_count", "_format", "_pretty")}
    found = await blocking(_find, request, resource_type, criteria, count)
    base = base_url(request)
    self_link = f"{base}/{resource_type}" + (f"?{request.url.query}" if request.url.query else "")
    return fhir_response(bundle("searchset", [search_entry(s, base) for s in found], links=[("self", self_link)],
                                total=len(found)), fmt=fmt)
