"""System-level interactions: capabilities, batch/transaction, https://hl7.org/fhir/R4/http.html#capabilities."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .. import transaction
from ..auth import require_writer
from ..capability import capability_statement
from ..context import base_url, prefer_return, read_json, repo_of, settings_of
from ..negotiation import negotiate, require_content_type
from ..responses import fhir_response
from .common import blocking

router = APIRouter()


@router.get("/metadata")
async def metadata(request: Request) -> Response:
    fmt = negotiate(request)
    return fhir_response(capability_statement(base_url(request), **request.app.state.capability_hooks), fmt=fmt)


@router.post("/")
@router.post("")
async def batch_or_transaction(request: Request) -> Response:
    require_writer(request, settings_of(request))
    fmt = negotiate(request)
    require_content_type(request)
    body = await read_json(request)
    include = prefer_return(request) != "minimal"
    result = await blocking(transaction.process, repo_of(request), body, base_url(request), include_body=include,
                            strictness=settings_of(request).validation)
    return fhir_response(result, fmt=fmt)
