"""System-level interactions: capabilities, batch/transaction, https://hl7.org/fhir/R4/http.html#capabilities."""
from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from .. import transaction
from ..capability import capability_statement
from ..context import base_url, read_json
from ..negotiation import negotiate, require_content_type
from ..responses import fhir_response

router = APIRouter()


@router.get("/metadata")
async def metadata(request: Request) -> Response:
    fmt = negotiate(request)
    return fhir_response(capability_statement(base_url(request), **request.app.state.capability_hooks), fmt=fmt)


@router.post("/")
@router.post("")
async def batch_or_transaction(request: Request) -> Response:
    """Each entry is authorised by its own route, as if sent alone (rest/dispatch.py)."""
    fmt = negotiate(request)
    require_content_type(request)
    body = await read_json(request)
    return fhir_response(await transaction.process(request, body), fmt=fmt)
