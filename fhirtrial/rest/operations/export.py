"""Bulk Data ``$export`` at system and type level, https://hl7.org/fhir/uv/bulkdata/export.html.

Kick-off ``GET|POST [base]/$export`` or ``[base]/{type}/$export`` with ``Prefer: respond-async`` -> 202 and the
status URL in ``Content-Location``; status ``GET [base]/$export-poll/{job}`` -> 202 (``X-Progress``,
``Retry-After``) while running, 200 and the manifest when complete, 500 OperationOutcome when it failed, 404
when unknown; ``DELETE`` on it cancels and removes the files (202); files at
``[base]/$export-file/{job}/{Type}.ndjson``. When the server has an API token, every one of these needs it and
the manifest says ``requiresAccessToken: true``. A server without a token exports publicly, and then leaves
patient data out (rest/auth.py): a ``_type`` or type-level export of a patient type is refused, a system or
type-level export skips patient types and actual Groups (not walking through them) and its 202 says so.

A type-level export (``ResearchStudy/$export``) holds the resources of that type and everything they reference,
transitively (for a study: its PlanDefinition, Group, Organizations, Practitioners, Locations); ``_type`` then
selects which of those types are written.
"""
from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from ...errors import FhirError, InvalidRequest, Issue, NotFound
from ...export import jobs as jobstore
from ...export.ndjson import SUFFIX
from ...jsonutil import loads
from ..auth import access_of, guard_export, require_bearer
from ..context import base_url, parse_instant, parse_types, prefer_handling, read_body, settings_of
from ..negotiation import negotiate, require_content_type
from ..responses import empty_response, http_date, outcome_response
from ..routes.common import blocking, check_type

router = APIRouter()

NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})
# Kick-off parameters of the spec this server does not implement: an error under Prefer: handling=strict,
# otherwise ignored with a warning in the 202's OperationOutcome.
UNSUPPORTED = ("_elements", "_typeFilter", "patient", "includeAssociatedData", "organizeOutputBy",
               "allowPartialManifests")
RETRY_AFTER_S = "1"


class ExportFailed(FhirError):
    status, code = 500, "exception"


BULK = "Bulk data export"


def _respond_async(request: Request) -> bool:
    return any(part.strip().lower() == "respond-async"
               for value in request.headers.getlist("prefer") for part in value.replace(",", ";").split(";"))


def _parameters(body: Any) -> dict[str, list[str]]:
    """A kick-off POST body: a Parameters resource whose values become the parameters."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise InvalidRequest("The body of a $export POST must be a Parameters resource")
    params: dict[str, list[str]] = {}
    for param in body.get("parameter") or []:
        if not isinstance(param, dict) or not isinstance(param.get("name"), str):
            raise InvalidRequest("Each Parameters.parameter needs a name", expression="Parameters.parameter")
        values = [v for k, v in param.items() if k.startswith("value") and isinstance(v, (str, bool, int))]
        if not values:
            raise InvalidRequest(f"Parameter {param['name']!r} has no value", expression="Parameters.parameter")
        params.setdefault(param["name"], []).append(str(values[0]).lower() if isinstance(values[0], bool)
                                                    else str(values[0]))
    return params


async def _kickoff(request: Request, scope: str | None) -> Response:
    settings = settings_of(request)
    require_bearer(request, settings, BULK)  # when a token is configured, bulk data is protected by it
    negotiate(request)
    if not _respond_async(request):
        raise InvalidRequest("$export is asynchronous: send the header 'Prefer: respond-async'",
                             expression="Prefer")
    params: dict[str, list[str]] = {k: request.query_params.getlist(k) for k in request.query_params.keys()}
    if request.method == "POST":
        raw = await read_body(request)
        if raw.strip():
            require_content_type(request)
            for name, values in _parameters(loads(raw)).items():
                params.setdefault(name, []).extend(values)
    fmt = (params.get("_outputFormat") or [NDJSON])[-1]
    if fmt not in OUTPUT_FORMATS:
        raise InvalidRequest(f"_outputFormat {fmt!r} is not supported: use {NDJSON}", expression="_outputFormat")
    since_values = params.get("_since") or []
    if len(since_values) > 1:
        raise InvalidRequest("_since may be given once", expression="_since")
    since = parse_instant(since_values[0]) if since_values else None
    types = parse_types(params.get("_type") or [])
    types, warnings = guard_export(access_of(request), scope, types)  # a public export leaves patient data out
    for name in UNSUPPORTED:
        if name in params:
            if prefer_handling(request) == "strict":
                raise InvalidRequest(f"Parameter {name} is not supported by this server", expression=name)
            warnings.append(Issue("warning", "not-supported", f"Parameter {name} is not supported and was "
                                                               f"ignored", (name,)))
    request_url = str(request.url)
    if settings.base_url:
        request_url = base_url(request) + request.url.path[len(settings.base_path.rstrip("/")):] + (
            f"?{request.url.query}" if request.url.query else "")
    store = jobstore.JobStore(request.app.state.repo)
    job = await blocking(store.create, request_url=request_url, scope=scope, types=types, since=since,
                         output_format=NDJSON, requires_token=bool(settings.api_token))
    jobstore.ensure_runner(request.app).wake()
    location = f"{base_url(request)}/$export-poll/{job.id}"
    issues = warnings or [Issue("information", "informational", f"Export job {job.id} accepted; poll {location}")]
    return outcome_response(issues, 202, headers={"content-location": location})


@router.get("/$export")
async def system_export(request: Request) -> Response:
    return await _kickoff(request, None)


@router.post("/$export")
async def system_export_post(request: Request) -> Response:
    return await _kickoff(request, None)


@router.get("/{resource_type}/$export")
async def type_export(request: Request, resource_type: str) -> Response:
    return await _kickoff(request, check_type(resource_type))


@router.post("/{resource_type}/$export")
async def type_export_post(request: Request, resource_type: str) -> Response:
    return await _kickoff(request, check_type(resource_type))


async def _job(request: Request, job_id: str) -> jobstore.Job:
    require_bearer(request, settings_of(request), BULK)
    jobstore.ensure_runner(request.app)  # a restarted process resumes interrupted jobs on first contact
    job = await blocking(jobstore.JobStore(request.app.state.repo).get, job_id)
    if job is None or job.status == jobstore.CANCELLED:
        raise NotFound(f"There is no export job {job_id!r} (unknown, or cancelled)", expression="job")
    if job.requires_token:  # it holds patient data (e.g. the token was removed from the settings since)
        access_of(request).require(f"Export job {job_id}")
    return job


def manifest(job: jobstore.Job, base: str) -> dict[str, Any]:
    assert job.transaction_time is not None
    from ...store.versioning import instant

    return {
        "transactionTime": instant(job.transaction_time),
        "request": job.request_url,
        "requiresAccessToken": job.requires_token,
        "output": [{"type": o["type"], "url": f"{base}/$export-file/{job.id}/{o['file']}", "count": o["count"]}
                   for o in job.output or []],
        "error": [],
    }


@router.get("/$export-poll/{job_id}")
async def status(request: Request, job_id: str) -> Response:
    job = await _job(request, job_id)
    if job.status in (jobstore.QUEUED, jobstore.RUNNING):
        if job.status == jobstore.QUEUED:
            progress = "queued" if job.attempts == 0 else f"queued again after an interruption (attempt {job.attempts})"
        elif job.total:
            progress = f"{100 * job.done // job.total}% ({job.done} of {job.total} resources)"
        else:
            progress = f"running ({job.done} resources)"
        return empty_response(202, {"x-progress": progress[:100], "retry-after": RETRY_AFTER_S})
    if job.status == jobstore.FAILED:
        raise ExportFailed(job.error or "The export failed", expression="job")
    body = orjson.dumps(manifest(job, base_url(request)))
    expires = jobstore.expires_at(job, settings_of(request).export_retention_s)
    headers = {"expires": http_date(expires)} if expires is not None else None
    return Response(body, status_code=200, media_type="application/json", headers=headers)


@router.delete("/$export-poll/{job_id}")
async def cancel(request: Request, job_id: str) -> Response:
    require_bearer(request, settings_of(request), BULK)
    settings = settings_of(request)
    store = jobstore.JobStore(request.app.state.repo)
    known = await blocking(store.get, job_id)
    if known is not None and known.requires_token:
        access_of(request).require(f"Export job {job_id}")
    job = await blocking(store.cancel, job_id)
    if job is None:
        raise NotFound(f"There is no export job {job_id!r} (unknown, or already cancelled)", expression="job")
    await blocking(jobstore.remove_files, settings.export_dir, job_id)
    return outcome_response([Issue("information", "informational",
                                   f"Export job {job_id} was cancelled and its files removed")], 202)


@router.get("/$export-file/{job_id}/{name}")
async def download(request: Request, job_id: str, name: str) -> Response:
    job = await _job(request, job_id)
    files = {o["file"] for o in job.output or []} if job.status == jobstore.COMPLETE else set()
    path = jobstore.job_dir(settings_of(request).export_dir, job_id) / name
    if name not in files or not name.endswith(SUFFIX) or not path.is_file():
        raise NotFound(f"Export job {job_id} has no file {name!r}", expression="file")
    return FileResponse(path, media_type=NDJSON, headers={"cache-control": "no-store"})

