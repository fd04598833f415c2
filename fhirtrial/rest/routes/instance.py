"""Instance-level interactions: read, vread, update, patch, delete, https://hl7.org/fhir/R4/http.html#read."""
from __future__ import annotations

from email.utils import parsedate_to_datetime

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest
from ..auth import access_of, guard_resource, guard_type, require_writer
from ..context import repo_of, settings_of
from ..negotiation import JSON_PATCH, negotiate
from ..responses import empty_response, fhir_response, version_headers
from .. import interactions
from .common import accept_write, blocking, check_type, in_transaction, write_response

router = APIRouter()


def _not_modified(request: Request, etag: str, last_updated) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return any(tag.strip() in (etag, etag[2:], "*") for tag in inm.split(","))
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        return since.tzinfo is not None and last_updated.replace(microsecond=0) <= since
    return False


@router.get("/{resource_type}/{resource_id}")
async def read(request: Request, resource_type: str, resource_id: str) -> Response:
    check_type(resource_type)
    granted = access_of(request)
    guard_type(granted, resource_type)
    fmt = negotiate(request)
    stored = await blocking(repo_of(request).read, resource_type, resource_id)
    guard_resource(granted, resource_type, resource_id, stored.body)
    headers = version_headers(stored)
    if _not_modified(request, stored.etag, stored.last_updated):
        return empty_response(304, headers)
    return fhir_response(stored.body, fmt=fmt, headers=headers)


@router.get("/{resource_type}/{resource_id}/_history/{version_id}")
async def vread(request: Request, resource_type: str, resource_id: str, version_id: str) -> Response:
    check_type(resource_type)
    granted = access_of(request)
    guard_type(granted, resource_type)
    fmt = negotiate(request)
    if not version_id.isdigit():
        raise InvalidRequest(f"Version id {version_id!r} is not a number", expression="vid")
    stored = await blocking(repo_of(request).vread, resource_type, resource_id, int(version_id))
    guard_resource(granted, resource_type, f"{resource_id}/_history/{version_id}", stored.body)
    return fhir_response(stored.body, fmt=fmt, headers=version_headers(stored))


@router.put("/{resource_type}/{resource_id}")
async def update(request: Request, resource_type: str, resource_id: str) -> Response:
    w = await accept_write(request, resource_type)
    result = await blocking(in_transaction, request, interactions.update, resource_type, resource_id, w.body,
                            if_match=w.if_match, checks=w.checks)
    return write_response(request, result, w.fmt, w.checks)


@router.patch("/{resource_type}/{resource_id}")
async def patch(request: Request, resource_type: str, resource_id: str) -> Response:
    w = await accept_write(request, resource_type, body_types=frozenset({JSON_PATCH}), expect=list)
    result = await blocking(in_transaction, request, interactions.patch, resource_type, resource_id, w.body,
                            if_match=w.if_match, checks=w.checks)
    return write_response(request, result, w.fmt, w.checks)


@router.delete("/{resource_type}/{resource_id}")
async def delete(request: Request, resource_type: str, resource_id: str) -> Response:
    check_type(resource_type)
    require_writer(request, settings_of(request))
    negotiate(request)
    if_match = interactions.parse_if_match(request.headers.get("if-match"))
    result = await blocking(in_transaction, request, interactions.delete, resource_type, resource_id, if_match=if_match)
    headers = {"etag": result.stored.etag} if result.outcome == "deleted" else {}
    return empty_response(204, headers)

