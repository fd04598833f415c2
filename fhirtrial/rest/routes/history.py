"""History at instance, type and system level, https://hl7.org/fhir/R4/http.html#history."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..auth import access_of, guard_history, guard_resource
from ..bundles import bundle, history_entry
from ..context import base_url, count_param, parse_instant, repo_of
from ..negotiation import negotiate
from ..responses import fhir_response
from .common import blocking, check_type

router = APIRouter()


def _instant_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    return None if raw is None else parse_instant(raw, name)


async def _history(request: Request, resource_type: str | None, resource_id: str | None) -> Response:
    guard_history(access_of(request), resource_type, resource_id)
    fmt = negotiate(request)
    count = count_param(request)
    since, at = _instant_param(request, "_since"), _instant_param(request, "_at")
    cursor = request.query_params.get("_cursor")
    page = await blocking(repo_of(request).history, resource_type, resource_id, since=since, at=at, count=count,
                          cursor=cursor)
    if resource_type is not None and resource_id is not None:
        granted = access_of(request)
        for version in page.entries:  # a Group that is, or was, actual
            guard_resource(granted, resource_type, f"{resource_id}/_history/{version.version_id}", version.body)
    base = base_url(request)
    path = "/".join(p for p in (resource_type, resource_id) if p)
    here = f"{base}/{path + '/' if path else ''}_history"
    params = {k: v for k, v in request.query_params.items() if k in ("_since", "_at", "_count")}
    links = [("self", f"{here}?{urlencode({**params, **({'_cursor': cursor} if cursor else {})})}")]
    if page.next_cursor:
        links.append(("next", f"{here}?{urlencode({**params, '_cursor': page.next_cursor})}"))
    entries = [history_entry(s, base) for s in page.entries]
    return fhir_response(bundle("history", entries, links=links, total=page.total), fmt=fmt)


@router.get("/_history")
async def system_history(request: Request) -> Response:
    return await _history(request, None, None)


@router.get("/{resource_type}/_history")
async def type_history(request: Request, resource_type: str) -> Response:
    return await _history(request, check_type(resource_type), None)


@router.get("/{resource_type}/{resource_id}/_history")
async def instance_history(request: Request, resource_type: str, resource_id: str) -> Response:
    # A resource that never existed is 404, not an empty history (the store raises NotFound); _history asks for
    # the token first, so a 404 never tells a caller without one that a patient's resource is absent.
    return await _history(request, check_type(resource_type), resource_id)
