"""The trial finder's pages: search at ``/``, a study at ``/study/{id}`` with its version history and eligibility
check, the resource browser at ``/browse``, and condition suggestions as JSON (https://hl7.org/fhir/R4/http.html:
each page is drawn from the answers of the server's own FHIR API, whose URLs it shows).
"""
from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from ..resources import ID_PATTERN, SERVED_TYPES
from ..store.suggest import Suggester
from . import eligibility as check
from .browser import render
from .client import FhirClient, query_string
from .finder import (PHASES, SEXES, SORTS, STATUSES, STUDY_TYPES, UNITS, fhir_search, form_pairs, near_value,
                     read_form)
from .results import cursor_of, location_entries, name_nearest, read_bundle, read_facets
from .study import study_page
from .templating import page
from .versions import timeline

router = APIRouter(include_in_schema=False)
_suggester = Suggester()
MAX_EVERYTHING_PAGES = 10  # of 1,000 resources: a study with 9,000 sites still shows whole


def message(request: Request, title: str, text: str, status: int) -> Response:
    return page(request, "message.html", {"title": title, "text": text}, status)


@router.get("/")
async def search(request: Request) -> Response:
    pairs = list(request.query_params.multi_items())
    criteria = read_form(pairs)
    ctx: dict[str, Any] = {"c": criteria, "statuses": STATUSES, "phases": PHASES, "study_types": STUDY_TYPES,
                           "sexes": SEXES, "sorts": SORTS, "units": UNITS, "results": None, "error": None,
                           "facets": None, "fhir_url": None}
    if criteria.problems:
        return page(request, "search.html", ctx, 400)
    client = FhirClient(request)
    fhir = fhir_search(criteria)
    ctx["fhir_url"] = client.url("ResearchStudy", fhir)
    extra = [("_include", "ResearchStudy:eligibility")] + ([("_cursor", criteria.cursor)] if criteria.cursor else [])
    # The page's search and, side by side, the counts for the status, phase and type boxes ($facets): each box
    # counts the studies the other filters find, so a ticked box does not zero its neighbours.
    counting = [(k, v) for k, v in fhir if k not in ("_sort", "_count", "_total", "recruitment", "phase",
                                                     "study-design")]
    answer, counts = await asyncio.gather(client.get("ResearchStudy", fhir + extra),
                                          client.get("ResearchStudy/$facets", counting))
    ctx["facets"] = read_facets(counts.body) if counts.ok else None
    if not answer.ok:
        ctx["error"] = answer.problem()
        return page(request, "search.html", ctx, 400 if answer.status < 500 else 500)
    results = read_bundle(answer.body)
    if criteria.place is not None and results.cards:
        await _nearest_sites(client, criteria, results)
    ctx["results"] = results
    ctx["next_url"] = "/?" + query_string(form_pairs(criteria, cursor=results.next_cursor)) \
        if results.next_cursor else None
    ctx["previous_url"] = "/?" + query_string(form_pairs(criteria, cursor=results.previous_cursor)) \
        if results.previous_cursor else None
    ctx["first_url"] = "/?" + query_string(form_pairs(criteria, cursor="")) if criteria.cursor else None
    ctx["check_url"] = "/eligibility?" + query_string(form_pairs(criteria, cursor=""))
    return page(request, "search.html", ctx)


async def _nearest_sites(client: FhirClient, criteria: Any, results: Any) -> None:
    """One Location search, nearest first, over the sites of the studies on this page."""
    ids = ",".join(card.id for card in results.cards)
    answer = await client.get("Location", [("near", near_value(criteria)), ("_has:ResearchStudy:site:_id", ids),
                                           ("_sort", "near"), ("_count", "200")])
    if answer.ok:
        name_nearest(results.cards, location_entries(answer.body))


@router.get("/suggest/conditions")
async def suggest_conditions(request: Request, q: str = "") -> Response:
    engine = getattr(request.app.state.repo, "engine", None)
    if engine is None or not q.strip():
        return JSONResponse([])
    found = await run_in_threadpool(_suggester.suggest, engine, q[:100], 10)
    return JSONResponse([{"text": s.text, "count": s.count} for s in found])


async def _everything(client: FhirClient, study_id: str) -> tuple[Any, dict[str, dict[str, Any]]]:
    """The first answer of ``$everything`` (for its status) and every resource of every page by "Type/id"."""
    first = await client.get(f"ResearchStudy/{study_id}/$everything", [("_count", "1000")])
    resources: dict[str, dict[str, Any]] = {}
    answer = first
    for _ in range(MAX_EVERYTHING_PAGES):
        if not answer.ok:
            break
        for entry in answer.body.get("entry") or ():
            r = entry.get("resource") or {}
            if r.get("resourceType") != "OperationOutcome":
                resources[f"{r.get('resourceType')}/{r.get('id')}"] = r
        nxt = next((link["url"] for link in answer.body.get("link") or () if link.get("relation") == "next"), None)
        if not nxt:
            break
        answer = await client.get(f"ResearchStudy/{study_id}/$everything",
                                  [("_count", "1000"), ("_cursor", cursor_of(nxt) or "")])
    return first, resources


def _missing(request: Request, study_id: str, answer: Any) -> Response:
    if answer.status == 410:
        return message(request, "Study deleted", f"The study {study_id} was deleted from this server.", 410)
    if answer.status == 404:
        return message(request, "Study not found", f"There is no study {study_id} on this server.", 404)
    return message(request, "Study not shown", answer.problem(), answer.status)


@router.get("/study/{study_id}")
async def study(request: Request, study_id: str) -> Response:
    if not ID_PATTERN.match(study_id):
        return message(request, "Study not found", f"{study_id!r} is not a study id such as NCT01297972.", 404)
    client = FhirClient(request)
    first, resources = await _everything(client, study_id)
    if not first.ok:
        return _missing(request, study_id, first)
    view = study_page(resources[f"ResearchStudy/{study_id}"], resources)
    links = {"json": client.url(f"ResearchStudy/{study_id}"),
             "everything": client.url(f"ResearchStudy/{study_id}/$everything"),
             "history": f"/study/{study_id}/history", "check": f"/study/{study_id}/eligibility",
             "browse": f"/browse/ResearchStudy/{study_id}"}
    return page(request, "study.html", {"s": view, "links": links})


@router.get("/study/{study_id}/history")
async def history(request: Request, study_id: str) -> Response:
    if not ID_PATTERN.match(study_id):
        return message(request, "Study not found", f"{study_id!r} is not a study id.", 404)
    client = FhirClient(request)
    answer = await client.get(f"ResearchStudy/{study_id}/_history", [("_count", "50")])
    if not answer.ok:
        return _missing(request, study_id, answer)
    entries = answer.body.get("entry") or []
    title = next((e["resource"].get("title", "") for e in entries if e.get("resource")), "")
    return page(request, "history.html", {"id": study_id, "title": title, "rows": timeline(entries),
                                          "fhir_url": answer.url, "total": answer.body.get("total")})


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    out = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("bundle_file")
    if upload is not None and not isinstance(upload, str):
        data = await upload.read(request.app.state.settings.max_body_bytes + 1)
        if data.strip():
            out["bundle"] = data.decode("utf-8", errors="replace")
    return out


async def _eligibility(request: Request, study_id: str | None) -> Response:
    criteria = read_form(list(request.query_params.multi_items())) if study_id is None else None
    ctx: dict[str, Any] = {"study_id": study_id, "c": criteria, "labs": check.LABS, "patient": check.Patient(),
                           "reports": None, "unavailable": None, "refused": None, "title": ""}
    client = FhirClient(request)
    if study_id is not None:
        answer = await client.get(f"ResearchStudy/{study_id}", [("_elements", "title")])
        if not answer.ok:
            return _missing(request, study_id, answer)
        ctx["title"] = answer.body.get("title", "")
    if request.method == "GET":
        return page(request, "eligibility.html", ctx)
    patient = check.read_patient(await _form(request))
    ctx["patient"] = patient
    if patient.problems:
        return page(request, "eligibility.html", ctx, 400)
    params = check.parameters(check.patient_bundle(patient, date.today()), study=study_id,
                              search=fhir_search(criteria) if criteria is not None and not criteria.problems else [],
                              record_complete=patient.record_complete)
    try:
        answer = await check.match(client, params)
    except check.MatchUnavailable:
        ctx["unavailable"] = True
        return page(request, "eligibility.html", ctx, 501)
    except check.MatchRefused as exc:
        ctx["refused"] = str(exc)
        return page(request, "eligibility.html", ctx, 400)
    ctx["reports"] = check.read_reports(answer.body)
    return page(request, "eligibility.html", ctx)


@router.api_route("/study/{study_id}/eligibility", methods=["GET", "POST"])
async def study_eligibility(request: Request, study_id: str) -> Response:
    if not ID_PATTERN.match(study_id):
        return message(request, "Study not found", f"{study_id!r} is not a study id.", 404)
    return await _eligibility(request, study_id)


@router.api_route("/eligibility", methods=["GET", "POST"])
async def search_eligibility(request: Request) -> Response:
    return await _eligibility(request, None)


@router.get("/browse")
async def browse(request: Request, type: str = "", id: str = "") -> Response:
    if type.strip():  # the form's answer: the resource's (or the type's) own address
        target = f"/browse/{quote(type.strip(), safe='')}" + (f"/{quote(id.strip(), safe='')}" if id.strip() else "")
        return RedirectResponse(target, status_code=303)
    return page(request, "browse.html", {"types": SERVED_TYPES, "type": "", "id": "", "json": None})


@router.get("/browse/{resource_type}")
async def browse_type(request: Request, resource_type: str) -> Response:
    if resource_type not in SERVED_TYPES:
        return message(request, "Unknown type", f"This server serves no resource type {resource_type!r}.", 404)
    client = FhirClient(request)
    answer = await client.get(resource_type, [("_count", "50"), ("_elements", "id")])
    ids = [e["resource"].get("id", "") for e in (answer.body or {}).get("entry") or ()
           if (e.get("search") or {}).get("mode") == "match"] if answer.ok else []
    return page(request, "browse.html", {"types": SERVED_TYPES, "type": resource_type, "id": "", "json": None,
                                         "ids": ids, "total": (answer.body or {}).get("total"),
                                         "fhir_url": answer.url, "error": None if answer.ok else answer.problem()})


@router.get("/browse/{resource_type}/{resource_id}")
async def browse_resource(request: Request, resource_type: str, resource_id: str, version: str = "") -> Response:
    ctx: dict[str, Any] = {"types": SERVED_TYPES, "type": resource_type, "id": resource_id, "json": None,
                           "version": version if version.isdigit() else ""}
    if resource_type not in SERVED_TYPES or not ID_PATTERN.match(resource_id):
        return message(request, "Not found", f"{resource_type}/{resource_id} is not a resource this server could "
                                             "hold (unknown type or malformed id).", 404)
    client = FhirClient(request)
    path = f"{resource_type}/{resource_id}" + (f"/_history/{ctx['version']}" if ctx["version"] else "")
    answer = await client.get(path)
    ctx["fhir_url"] = answer.url
    if not answer.ok:
        ctx["error"] = answer.problem()
        return page(request, "browse.html", ctx, answer.status)
    body = answer.body if isinstance(answer.body, dict) else {}
    # Stored bodies need not keep their key order (PostgreSQL's jsonb does not): the usual head first.
    head = {k: body[k] for k in ("resourceType", "id", "meta") if k in body}
    ctx["json"] = render({**head, **{k: v for k, v in body.items() if k not in head}})
    return page(request, "browse.html", ctx)


__all__ = ["router"]
