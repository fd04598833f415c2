"""``ResearchStudy/$facets``: how many studies of a search fall under each status, phase, study type, sex, age
group, healthy-volunteer answer and country, in one request (https://hl7.org/fhir/R4/operations.html).

Takes the search parameters of ``GET [base]/ResearchStudy`` (query string; POST: a form body as ``_search`` or a
Parameters resource whose parameters are named like search parameters). Answers a Parameters resource: ``total``
(the number of matches) and one ``facet`` per filter, each with its ``bucket``s (``value`` Coding, ``count``,
and ``search``, the parameter to add to select that bucket). Counted with GROUP BY from the index tables
(store/search/facets.py); the definition is OperationDefinition-ResearchStudy-facets.json beside this module.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...conformance import default_definitions
from ...errors import InvalidRequest, UnsupportedMediaType
from ...mapping.tables import get_tables
from ...search.facets import FACETS, Bucket, Facet, bucket_search
from ...search.parser import parse_search
from ...search.trial import GENDER_SYSTEM
from ..answer_cache import answer_cache
from ..context import base_url, prefer_handling, read_body, repo_of, settings_of
from ..negotiation import FORM, JSON_BODY_TYPES, negotiate
from ..responses import fhir_response
from ..routes.common import blocking

router = APIRouter()
STUDY = "ResearchStudy"
# Parameters that choose what a search returns, not which studies match: meaningless for counts, so ignored.
_RESULT_ONLY = frozenset({"_sort", "_count", "_include", "_revinclude", "_summary", "_elements", "_total",
                          "_format", "_pretty", "_cursor"})
_OTHER_DISPLAYS = {GENDER_SYSTEM: {"female": "Female", "male": "Male"},
                   None: {"true": "Accepts healthy volunteers", "false": "No healthy volunteers"}}


def facets_definition() -> dict[str, Any]:
    """The OperationDefinition of $facets, as the conformance registry serves it."""
    found = default_definitions().read("OperationDefinition", "ResearchStudy-facets")
    assert found is not None, "fhirtrial/conformance/definitions/OperationDefinition-ResearchStudy-facets.json"
    return found


def _displays() -> dict[str | None, dict[str, str]]:
    out: dict[str | None, dict[str, str]] = {e.system: dict(e.labels) for e in get_tables().enums.values()}
    out.update(_OTHER_DISPLAYS)
    return out


def _coding(facet: Facet, bucket: Bucket, displays: dict[str | None, dict[str, str]]) -> dict[str, str]:
    if facet.by_text:
        return {"display": bucket.display or bucket.value}
    coding = {"system": facet.system} if facet.system else {}
    coding["code"] = bucket.value
    if (display := displays.get(facet.system, {}).get(bucket.value)) is not None:
        coding["display"] = display
    return coding


def parameters(total: int, counts: dict[str, list[Bucket]]) -> dict[str, Any]:
    displays = _displays()
    out: list[dict[str, Any]] = [{"name": "total", "valueInteger": total}]
    for facet in FACETS:
        parts: list[dict[str, Any]] = [{"name": "name", "valueCode": facet.name},
                                       {"name": "parameter", "valueString": facet.param}]
        for bucket in counts.get(facet.name, []):
            parts.append({"name": "bucket", "part": [
                {"name": "value", "valueCoding": _coding(facet, bucket, displays)},
                {"name": "count", "valueInteger": bucket.count},
                {"name": "search", "valueString": bucket_search(facet, bucket.value)}]})
        out.append({"name": "facet", "part": parts})
    return {"resourceType": "Parameters", "parameter": out}


def _from_parameters(body: Any) -> list[tuple[str, str]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise InvalidRequest("POST $facets takes a form (as _search) or a Parameters resource")
    pairs = []
    for p in body.get("parameter") or []:
        name = p.get("name") if isinstance(p, dict) else None
        values = [v for k, v in p.items() if k.startswith("value")] if isinstance(p, dict) else []
        if not isinstance(name, str) or len(values) != 1 or not isinstance(values[0], (str, int, float, bool)):
            raise InvalidRequest("Each parameter of $facets needs a name and one primitive value (a search value)",
                                 expression="Parameters.parameter")
        value = values[0]
        pairs.append((name, ("true" if value else "false") if isinstance(value, bool) else str(value)))
    return pairs


async def _body_pairs(request: Request) -> list[tuple[str, str]]:
    raw = await read_body(request)
    if not raw.strip():
        return []
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == FORM:
        try:
            return parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise InvalidRequest("The form body is not UTF-8") from None
    if kind in JSON_BODY_TYPES:
        try:
            return _from_parameters(json.loads(raw))
        except ValueError:
            raise InvalidRequest("The request body is not valid JSON") from None
    raise UnsupportedMediaType(f"POST $facets takes {FORM} or a FHIR JSON Parameters resource, not "
                               f"{kind or 'no Content-Type'}")


async def _facets(request: Request, extra: list[tuple[str, str]]) -> Response:
    fmt = negotiate(request)
    pairs = [(k, v) for k, v in [*request.query_params.multi_items(), *extra] if k.split(":")[0] not in _RESULT_ONLY]
    parsed = parse_search(STUDY, pairs, strict=prefer_handling(request) == "strict",
                          max_count=settings_of(request).max_count, base_url=base_url(request))
    parsed = dataclasses.replace(parsed, count=0, includes=())
    # kept until the next commit: the key is what decides the counts (the filters as parsed, and who asks)
    key = ("$facets", repr(parsed.filters), request.headers.get("authorization"))

    async def count() -> tuple[int, dict[str, list[Bucket]]]:
        return await blocking(repo_of(request).facets, parsed)

    total, counts = await answer_cache(request).answer(request, key, count, 4096)
    body = parameters(total, counts)
    body["parameter"] += [{"name": "ignored", "valueString": f"{i.name}: {i.reason}"} for i in parsed.ignored]
    return fhir_response(body, fmt=fmt)


@router.get(f"/{STUDY}/$facets")
async def facets_get(request: Request) -> Response:
    return await _facets(request, [])


@router.post(f"/{STUDY}/$facets")
async def facets_post(request: Request) -> Response:
    return await _facets(request, await _body_pairs(request))
