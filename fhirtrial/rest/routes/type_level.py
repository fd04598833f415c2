"""Type-level interactions: create, conditional update/delete, https://hl7.org/fhir/R4/http.html#create.

Search lives in routes/search.py.
"""
from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest
from .. import interactions
from ..auth import require_writer
from ..context import settings_of
from ..negotiation import negotiate
from ..responses import empty_response
from .common import accept_write, blocking, check_type, in_transaction, write_response

router = APIRouter()


def _criteria(request: Request) -> str:
    query = request.url.query
    if not query:
        raise InvalidRequest("A conditional interaction on a type needs search criteria in the URL")
    return query


@router.post("/{resource_type}")
async def create(request: Request, resource_type: str) -> Response:
    w = await accept_write(request, resource_type)
    # A transaction Bundle chooses its POST entries' ids before writing (rest/transaction.py): never a client.
    result = await blocking(in_transaction, request, interactions.create, resource_type, w.body,
                            if_none_exist=request.headers.get("if-none-exist"),
                            resource_id=getattr(request.state, "assigned_id", None), checks=w.checks)
    return write_response(request, result, w.fmt, w.checks)


@router.put("/{resource_type}")
async def conditional_update(request: Request, resource_type: str) -> Response:
    criteria = _criteria(request)
    w = await accept_write(request, resource_type)
    result = await blocking(in_transaction, request, interactions.conditional_update, resource_type, criteria,
                            w.body, if_match=w.if_match, checks=w.checks)
    return write_response(request, result, w.fmt, w.checks)


@router.delete("/{resource_type}")
async def conditional_delete(request: Request, resource_type: str) -> Response:
    check_type(resource_type)
    require_writer(request, settings_of(request))
    negotiate(request)
    await blocking(in_transaction, request, interactions.conditional_delete, resource_type, _criteria(request))
    return empty_response(204)
