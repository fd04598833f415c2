"""``POST /ResearchStudy/$import-ctgov``: push ClinicalTrials.gov API v2 records over HTTP
(https://clinicaltrials.gov/data-api/api), answered like a batch (https://hl7.org/fhir/R4/http.html#transaction).

The body is one study record, an API v2 list response ``{"studies": [...]}`` or a JSON array of records.
Each study is validated as every write is (fhirtrial.validation, under ``Settings.validation``) and stored
atomically by the bulk writer (the same rows as ``fhirtrial import``); the answer is a ``batch-response`` Bundle
with one entry per resource of each stored study (status, location, etag, and the validator's warnings as
``response.outcome``) and one entry whose ``response.outcome`` is an OperationOutcome per study that failed.
Needs the write token.
"""
from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest, Issue, operation_outcome
from ...ingest.dedupe import dedupe_last_wins
from ...ingest.items import Origin, SourceItem, study_item
from ...ingest.prepare import failed_item, prepare_record
from ...jsonutil import loads
from ...store.prepared import PreparedStudy
from ...store.versioning import instant
from ..auth import require_writer
from ..bundles import bundle
from ..context import base_url, read_body, repo_of, settings_of
from ..negotiation import negotiate, require_content_type
from ..responses import fhir_response
from ..routes.common import blocking

router = APIRouter()

_STATUS = {"created": "201 Created", "updated": "200 OK", "unchanged": "200 OK"}
_FAILED = {"read": "400 Bad Request", "duplicate": "200 OK", "map": "422 Unprocessable Entity",
           "validate": "422 Unprocessable Entity", "index": "422 Unprocessable Entity",
           "write": "409 Conflict"}
_LOCK = threading.Lock()


def parse_studies(value: Any) -> list[SourceItem]:
    """The items of one body: a record, ``{"studies": [...]}`` or an array (each element checked alone)."""
    origin = "request body"
    if isinstance(value, dict) and isinstance(value.get("studies"), list):
        elements = value["studies"]
    elif isinstance(value, list):
        elements = value
    elif isinstance(value, dict):
        item = study_item(value, Origin(origin))
        if item.error is not None:
            raise InvalidRequest(f"The body is neither a ClinicalTrials.gov API v2 study nor a list of them: "
                                 f"{item.error}")
        return [item]
    else:
        raise InvalidRequest(f"The body must be a study record, {{\"studies\": [...]}} or an array, "
                             f"not a JSON {type(value).__name__}")
    if not elements:
        raise InvalidRequest("The body holds no studies")
    return [study_item(v, Origin(origin, index=i)) for i, v in enumerate(elements)]


def _writer(request: Request) -> Any:
    """The app's BulkWriter (built once), or None when the repository is not the SQL store."""
    state = request.app.state
    writer = getattr(state, "import_ctgov_writer", None)
    repo = repo_of(request)
    if writer is None or writer.repo is not repo:
        if not hasattr(repo, "engine") or not hasattr(repo, "postgres"):
            return None
        from ...store.bulk import BulkWriter

        writer = state.import_ctgov_writer = BulkWriter(repo)  # type: ignore[arg-type]
    return writer


def _failure(study: PreparedStudy, error: str) -> dict[str, Any]:
    severity = "warning" if study.stage == "duplicate" else "error"
    code = "duplicate" if study.stage == "duplicate" else "processing"
    where = f"{study.origin}" + (f" ({study.nct_id})" if study.nct_id else "")
    issues = [Issue(severity, code, f"{where}: {error}", ())]
    if study.issues:  # the validator's own issues, each on its element
        issues = [Issue(i.severity, i.code, f"{where}: {i.diagnostics}", i.expression) for i in study.issues]
    return {"response": {"status": _FAILED.get(study.stage or "", "422 Unprocessable Entity"),
                         "outcome": operation_outcome(issues)}}


def _import(request: Request, items: list[SourceItem], base: str) -> dict[str, Any]:
    ordered = list(dedupe_last_wins(lambda: items))
    writer = _writer(request)
    if writer is None:
        raise InvalidRequest("$import-ctgov needs the SQL store")
    indexer = writer.indexer
    strictness = settings_of(request).validation
    prepared: list[PreparedStudy] = [
        failed_item(i) if i.record is None else prepare_record(i.record, i.nct_id, str(i.origin), indexer,
                                                                strictness=strictness)
        for i in ordered]
    entries: list[dict[str, Any]] = []
    with _LOCK:  # one bulk writer per process
        results = writer.write(prepared)
    for result in results:
        if result.error is not None:
            entries.append(_failure(result.study, result.error))
            continue
        warnings = {(p.resource_type, p.id): p.warnings for p in result.study.resources or () if p.warnings}
        for res in result.resources:
            response: dict[str, Any] = {
                "status": _STATUS[res.outcome],
                "location": f"{base}/{res.resource_type}/{res.id}/_history/{res.version_id}",
                "etag": f'W/"{res.version_id}"', "lastModified": instant(res.last_updated)}
            if (res.resource_type, res.id) in warnings:
                response["outcome"] = operation_outcome(list(warnings[(res.resource_type, res.id)]))
            entries.append({"response": response})
    return bundle("batch-response", entries)


@router.post("/ResearchStudy/$import-ctgov")
async def import_ctgov(request: Request) -> Response:
    require_writer(request, settings_of(request))
    fmt = negotiate(request)
    if request.headers.get("content-type"):
        require_content_type(request)
    raw = await read_body(request)
    if not raw.strip():
        raise InvalidRequest("The request body is empty: send a study record or a list of them")
    items = parse_studies(loads(raw))
    result = await blocking(_import, request, items, base_url(request))
    return fhir_response(result, fmt=fmt)
