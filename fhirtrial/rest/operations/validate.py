"""The ``$validate`` operation at type and instance level, https://hl7.org/fhir/R4/resource-operation-validate.html.

Not a write: no authorization needed. Always answers an OperationOutcome (200) listing every problem, or a
single information issue when there is none.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...errors import InvalidRequest, Issue
from ...validation import MODES, validate
from ..auth import access_of, guard_type
from ..context import read_json, repo_of
from ..negotiation import BODY_TYPES, negotiate, require_content_type
from ..responses import outcome_response
from ..routes.common import blocking, check_type

router = APIRouter()

_PROFILE_KEYS = ("valueUri", "valueCanonical", "valueUrl", "valueString")


class ValidateRequest:
    """The operation's inputs: the resource (absent for delete), mode and profile."""

    def __init__(self, resource: dict[str, Any] | None, mode: str, profile: str | None) -> None:
        self.resource, self.mode, self.profile = resource, mode, profile


def _parameter_value(param: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if isinstance(param.get(key), str):
            return param[key]
    return None


def parse_request(body: dict[str, Any] | None, query: dict[str, str]) -> ValidateRequest:
    """Read a bare resource or a Parameters (resource, mode, profile); URL parameters fill what it lacks."""
    mode, profile = query.get("mode"), query.get("profile")
    resource: dict[str, Any] | None = body
    if body is not None and body.get("resourceType") == "Parameters":
        resource = None
        params = body.get("parameter", [])
        if not isinstance(params, list):
            raise InvalidRequest("Parameters.parameter must be an array", expression="Parameters.parameter")
        for param in params:
            if not isinstance(param, dict):
                continue
            name = param.get("name")
            if name == "resource":
                if not isinstance(param.get("resource"), dict):
                    raise InvalidRequest("The 'resource' parameter must carry a resource",
                                         expression="Parameters.parameter")
                resource = param["resource"]
            elif name == "mode":
                mode = _parameter_value(param, ("valueCode", "valueString")) or mode
            elif name == "profile":
                profile = _parameter_value(param, _PROFILE_KEYS) or profile
    mode = mode or "create"
    if mode not in MODES:
        raise InvalidRequest(f"Unknown mode {mode!r}: use one of {', '.join(MODES)}", expression="mode")
    if resource is None and mode != "delete":
        raise InvalidRequest("The body must be the resource to validate, or a Parameters with a 'resource' "
                             "(only mode=delete may omit it)", expression="resource")
    return ValidateRequest(resource, mode, profile)


def check(request: ValidateRequest, resource_type: str, resource_id: str | None) -> list[Issue]:
    """Every issue of the resource against the URL's type (and id), in the requested mode."""
    resource = request.resource
    issues: list[Issue] = []
    if resource is not None and request.mode != "delete":
        actual = resource.get("resourceType")
        if isinstance(actual, str) and actual != resource_type:
            issues.append(Issue("error", "invalid", f"resourceType '{actual}' does not match the URL's type "
                                f"'{resource_type}'", ("resourceType",)))
        body_id = resource.get("id")
        if resource_id is not None and request.mode == "update" and body_id not in (None, resource_id):
            issues.append(Issue("error", "invalid", f"Body id '{body_id}' does not match the URL id "
                                f"'{resource_id}'", (f"{resource_type}.id",)))
        issues += validate(resource, mode=request.mode, profile=request.profile)
    return issues or [Issue("information", "informational", "All OK")]


async def _body(request: Request) -> dict[str, Any] | None:
    """The resource or Parameters sent (JSON or XML), or None for an empty body (enough for mode=delete)."""
    if request.headers.get("content-type"):
        require_content_type(request, BODY_TYPES)
    return await read_json(request, optional=True)


@router.post("/{resource_type}/$validate")
async def validate_type(request: Request, resource_type: str) -> Response:
    check_type(resource_type)
    fmt = negotiate(request)
    parsed = parse_request(await _body(request), dict(request.query_params))
    if parsed.mode == "delete":
        raise InvalidRequest("mode=delete validates deleting an instance: POST /{type}/{id}/$validate",
                             expression="mode")
    return outcome_response(check(parsed, resource_type, None), 200, fmt)


@router.post("/{resource_type}/{resource_id}/$validate")
async def validate_instance(request: Request, resource_type: str, resource_id: str) -> Response:
    check_type(resource_type)
    fmt = negotiate(request)
    parsed = parse_request(await _body(request), dict(request.query_params))
    if parsed.mode == "delete":
        # raises NotFound (404) or Gone (410) when there is nothing to delete: an answer about patient data
        guard_type(access_of(request), resource_type)
        await blocking(repo_of(request).read, resource_type, resource_id)
    return outcome_response(check(parsed, resource_type, resource_id), 200, fmt)
