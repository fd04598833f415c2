"""``POST [base]/getClinicalTrial``: ``$match`` in the request and response shape of MITRE's matching services
(clinical-trial-matching-service, used by clinical-trial-matching-app), so that app can use fhirtrial unchanged.

The body is a Bundle holding one Parameters resource (``zipCode``, ``travelRadius`` as valueString or
valueDecimal, ``phase``, ``recruitmentStatus``) and the patient's resources; the answer is a ``searchset`` Bundle
of ResearchStudy entries with ``search.score`` in [0, 1] (and ``$match``'s report on ``entry.search``). Every
study that is not ineligible is returned (up to 1,000), best first. Errors are OperationOutcomes, as for $match.
https://github.com/mcode/clinical-trial-matching-service (server.js, query-parameters.js, searchset.js)
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest
from ..context import read_json
from ..match_inputs import MAX_COUNT, read_inputs
from ..negotiation import negotiate
from ..responses import fhir_response
from ..routes.common import blocking
from .match import run_match

router = APIRouter()
QUERY = ("zipCode", "travelRadius", "phase", "recruitmentStatus")


def split_request(body: Any) -> tuple[list[tuple[str, Any]], dict[str, Any]]:
    """(the query parameters, the patient Bundle without its Parameters entry) of a MITRE request."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle" or not isinstance(body.get("entry"), list):
        raise InvalidRequest("The body must be a Bundle with the patient's resources and a Parameters entry",
                             expression="Bundle")
    pairs: list[tuple[str, Any]] = []
    entries = []
    for entry in body["entry"]:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and resource.get("resourceType") == "Parameters":
            for p in resource.get("parameter") or ():
                if isinstance(p, dict) and p.get("name") in QUERY:
                    value = p.get("valueString", p.get("valueDecimal"))
                    if value is not None and value != "":
                        pairs.append((p["name"], value))
        else:
            entries.append(entry)
    patient = {**{k: v for k, v in body.items() if k != "entry"}, "type": "collection", "entry": entries}
    return pairs, patient


@router.post("/getClinicalTrial")
async def get_clinical_trial(request: Request) -> Response:
    fmt = negotiate(request)
    pairs, patient = split_request(await read_json(request))
    inputs = read_inputs([("patient", patient), ("count", str(MAX_COUNT)), *pairs])
    return fhir_response(await blocking(run_match, request, inputs), fmt=fmt)
