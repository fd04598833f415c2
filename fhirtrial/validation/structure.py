"""Structure, datatype and cardinality checks with the fhir.resources R4B models.

https://hl7.org/fhir/R4/validation.html#structure
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ..errors import InvalidRequest, InvalidResource, Issue
from ..resources import ID_PATTERN, RESOURCE_TYPE_SET


@lru_cache(maxsize=None)
def _model(resource_type: str) -> Any:
    return get_fhir_model_class(resource_type)


def _expression(resource_type: str, loc: tuple[Any, ...]) -> str:
    path = resource_type
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _issue_code(error_type: str) -> str:
    if "missing" in error_type:
        return "required"
    if error_type == "extra_forbidden":
        return "structure"
    return "value"


def _describe(resource_type: str, err: dict[str, Any]) -> Issue:
    expr = _expression(resource_type, err.get("loc", ()))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        msg = f"Unknown element '{expr}'"
    elif "missing" in kind:
        msg = f"Missing required element '{expr}'"
    else:
        shown = repr(err.get("input"))[:200]
        msg = f"Invalid value {shown} at '{expr}': {err.get('msg', 'invalid')}"
    return Issue("error", _issue_code(kind), msg, (expr,))


def check_structure(resource: dict[str, Any]) -> list[Issue]:
    """All structural problems of a resource whose resourceType is served, as issues (empty when valid)."""
    resource_type = resource.get("resourceType")
    try:
        _model(resource_type).model_validate(resource)
    except ValidationError as exc:
        return [_describe(resource_type, e) for e in exc.errors(include_url=False)]
    except (ValueError, TypeError) as exc:  # fhir.resources raises these for some primitive checks
        return [Issue("error", "value", f"Invalid {resource_type}: {exc}", (resource_type,))]
    return []


def validate_resource(resource: Any, *, resource_type: str | None = None, resource_id: str | None = None,
                      require_id: bool = False) -> dict[str, Any]:
    """Check that ``resource`` is a valid resource of the expected type (and id); raise a FhirError if not."""
    if not isinstance(resource, dict):
        raise InvalidRequest("The resource must be a JSON object")
    actual = resource.get("resourceType")
    if not isinstance(actual, str) or not actual:
        raise InvalidResource("Missing 'resourceType'", expression="resourceType")
    if resource_type is not None and actual != resource_type:
        raise InvalidResource(f"resourceType '{actual}' does not match the URL's type '{resource_type}'",
                              expression="resourceType")
    if actual not in RESOURCE_TYPE_SET:
        raise InvalidResource(f"Resource type '{actual}' is not supported by this server", expression="resourceType")
    body_id = resource.get("id")
    if body_id is not None:
        if not isinstance(body_id, str) or not ID_PATTERN.match(body_id):
            raise InvalidResource(f"Invalid id {body_id!r}: ids are 1-64 of A-Z a-z 0-9 - .",
                                  expression=f"{actual}.id")
    if resource_id is not None:
        if body_id is None and require_id:
            raise InvalidResource(f"The body must contain id '{resource_id}'", expression=f"{actual}.id")
        if body_id is not None and body_id != resource_id:
            raise InvalidResource(f"Body id '{body_id}' does not match the URL id '{resource_id}'",
                                  expression=f"{actual}.id")
    issues = check_structure(resource)
    if issues:
        raise InvalidResource(issues[0].diagnostics, issues=issues)
    return resource
