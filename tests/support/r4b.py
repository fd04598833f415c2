"""The test oracle for the server's structure checker: the same checks done by the fhir.resources R4B models.

https://hl7.org/fhir/R4/validation.html#structure ; the server itself validates with
fhirtrial.validation.fast_structure (derived from the R4 definitions); tests compare the two verdicts.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhirtrial.errors import Issue


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
