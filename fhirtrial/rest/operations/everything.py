"""``GET [base]/ResearchStudy/{id}/$everything``: the study and everything it references, transitively.

Modelled on Patient/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html): a ``searchset``
Bundle with the study (search mode ``match``) and its PlanDefinition, Group, Organizations, Practitioners,
Locations... (mode ``include``), paged like a search (``_count``, an opaque ``_cursor``, ``self``/``first``/
``previous``/``next`` links); ``total`` counts every resource of the result (match and include) after ``_type``.
Dangling references are reported in an OperationOutcome entry (mode ``outcome``) on the first page.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest, Issue, operation_outcome
from ...export.study import STUDY, everything
from ...store import cursor as cursors
from ..auth import LEFT_OUT, access_of, screen
from ..bundles import bundle, search_entry
from ..context import base_url, count_param, parse_types, repo_of
from ..negotiation import negotiate
from ..responses import fhir_response
from ..routes.common import blocking

router = APIRouter()


def encode_cursor(offset: int, version: int) -> str:
    return cursors.encode([offset, version])


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        offset, version = cursors.decode(cursor)
        if not (isinstance(offset, int) and isinstance(version, int) and offset >= 0):
            raise ValueError(cursor)
        return offset, version
    except (ValueError, TypeError):
        raise InvalidRequest(f"Invalid page cursor {cursor[:80]!r}", expression="_cursor") from None


@router.get("/ResearchStudy/{study_id}/$everything")
async def study_everything(request: Request, study_id: str) -> Response:
    fmt = negotiate(request)
    count = count_param(request)
    named = parse_types(request.query_params.getlist("_type"))
    types = set(named) if named is not None else None
    raw_cursor = request.query_params.get("_cursor")
    offset, _version = decode_cursor(raw_cursor) if raw_cursor else (0, 0)
    visible = screen(access_of(request))  # the study's actual Groups and their members need the token
    result = await blocking(everything, repo_of(request), study_id, STUDY, visible.allows if visible else None)
    rows = [r for r in result.rows if types is None or r.resource_type in types]
    version = result.study.version_id
    base = base_url(request)
    here = f"{base}/{STUDY}/{study_id}/$everything"
    params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k in ("_count", "_type")}

    def link(at: int) -> str:
        return f"{here}?{urlencode({**params, '_cursor': encode_cursor(at, version)})}"

    total = len(rows)
    page = rows[offset:offset + count]
    root = (STUDY, study_id)
    entries = [search_entry(r.stored(), base, "match" if (r.resource_type, r.id) == root else "include")
               for r in page]
    withheld = visible is not None and visible.withheld > 0
    if offset == 0 and (result.missing or withheld):
        issues = [Issue("warning", "not-found", f"{ref[0]}/{ref[1]} referenced by {by[0]}/{by[1]} is unknown or "
                                                f"deleted") for ref, by in sorted(result.missing.items())]
        issues += [Issue("warning", "suppressed", LEFT_OUT)] if withheld else []
        entries.append({"resource": operation_outcome(issues), "search": {"mode": "outcome"}})
    links = [("self", link(offset) if raw_cursor else f"{here}?{urlencode(params)}" if params else here),
             ("first", link(0))]
    if offset > 0:
        links.append(("previous", link(max(0, offset - count))))
    if count > 0 and offset + count < total:
        links.append(("next", link(offset + count)))
    return fhir_response(bundle("searchset", entries, links=links, total=total), fmt=fmt)
