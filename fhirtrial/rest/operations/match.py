"""``ResearchStudy/$match``: which studies fit this patient, and why (CodeX's operation, with a match report).

``POST [base]/ResearchStudy/$match`` with a Parameters body (the patient as a Bundle, or ``subject``), and ``GET``
with the parameters that are not resources. Only an HTTP adapter: inputs (rest/match_inputs.py), candidates and
ranking (rest/match_run.py), the judge (fhirtrial/criteria/judge.py). Defined by the OperationDefinition
ResearchStudy-match (https://build.fhir.org/ig/HL7/codex-clinical-trials-matching/). A posted patient is never
stored and needs no token; ``subject=Patient/x`` reads patient data from the store, so it needs the token.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..auth import access_of
from ..context import base_url, read_json, repo_of
from ..match_inputs import MatchInputs, check_bundle, pairs_of_parameters, read_inputs
from ..match_run import judge_all, patient_record, read_subject, result_bundle
from ..negotiation import negotiate
from ..responses import fhir_response
from ..routes.common import blocking

router = APIRouter()


def run_match(request: Request, inputs: MatchInputs) -> dict[str, Any]:
    """The searchset Bundle for checked inputs (blocking: runs in the thread pool)."""
    repo = repo_of(request)
    if inputs.bundle is not None:
        patient, others = check_bundle(inputs.bundle, inputs.at)
    else:
        patient, others = read_subject(repo, str(inputs.subject), inputs)
    record = patient_record(inputs, patient, others)
    judged, issues, complete = judge_all(repo, inputs, record)
    return result_bundle(repo, judged, inputs, record, base_url(request), issues, complete)


def _authorise(request: Request, inputs: MatchInputs) -> None:
    if inputs.subject is not None:
        access_of(request).require(f"$match subject=Patient/{inputs.subject}")


@router.get("/ResearchStudy/$match")
async def match_get(request: Request) -> Response:
    fmt = negotiate(request)
    inputs = read_inputs(list(request.query_params.multi_items()))
    _authorise(request, inputs)
    return fhir_response(await blocking(run_match, request, inputs), fmt=fmt)


@router.post("/ResearchStudy/$match")
async def match_post(request: Request) -> Response:
    fmt = negotiate(request)
    body = await read_json(request)
    pairs: list[tuple[str, Any]] = pairs_of_parameters(body)
    pairs += [(k, v) for k, v in request.query_params.multi_items() if k not in {n for n, _ in pairs}]
    inputs = read_inputs(pairs)
    _authorise(request, inputs)
    return fhir_response(await blocking(run_match, request, inputs), fmt=fmt)
