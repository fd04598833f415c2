"""The one validator of every write and of ``$validate``, https://hl7.org/fhir/R4/validation.html and
https://hl7.org/fhir/R4/resource-operation-validate.html (modes create, update, delete).

One pass along the R4 definitions (fast_structure: JSON representation, datatypes, cardinality, ele-1), then
the required bindings, reference formats and invariants of the elements that walk found. REST and
batch/transaction writes (rest/interactions.py), ``fhirtrial import`` and ``$import-ctgov`` (ingest/prepare.py)
and ``$validate`` all call it, under the same strictness (``Settings.validation``): structural errors always
refuse a write; binding, reference and invariant errors refuse it under "error" and are reported as warnings
beside the stored resource under "warning".
"""
from __future__ import annotations

from typing import Any

from ..errors import InvalidRequest, InvalidResource, Issue, Warnings
from ..resources import ID_PATTERN, RESOURCE_TYPE_SET
from .content import check_content
from .fast_structure import Issues, walk
from .tables import load_tables

MODES = ("create", "update", "delete")
STRICTNESS = ("error", "warning")
BASE_PROFILE = "http://hl7.org/fhir/StructureDefinition/"
_BLOCKING = frozenset({"fatal", "error"})


def _error(code: str, diagnostics: str, expression: str) -> Issue:
    return Issue("error", code, diagnostics, (expression,))


def _head(resource: Any) -> list[Issue]:
    """Problems that stop validation before the content is read: not a served resource, bad id."""
    if not isinstance(resource, dict):
        return [_error("structure", "The resource must be a JSON object", "resourceType")]
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        return [_error("required", "Missing 'resourceType'", "resourceType")]
    if rtype not in RESOURCE_TYPE_SET:
        return [_error("not-supported", f"Resource type '{rtype}' is not supported by this server", "resourceType")]
    rid = resource.get("id")
    if rid is not None and (not isinstance(rid, str) or not ID_PATTERN.match(rid)):
        return [_error("value", f"Invalid id {rid!r}: ids are 1-64 of A-Z a-z 0-9 - .", f"{rtype}.id")]
    return []


def _mode(resource: dict[str, Any], mode: str) -> list[Issue]:
    if mode == "update" and resource.get("id") is None:
        return [_error("required", "An update needs the resource's id", f"{resource['resourceType']}.id")]
    return []


def _profile(rtype: str, profile: str | None) -> list[Issue]:
    if profile is None or profile.split("|", 1)[0] == BASE_PROFILE + rtype:
        return []
    return [Issue("error", "not-supported", f"Profile '{profile}' is not known to this server: only the base "
                  f"R4 definition {BASE_PROFILE}{rtype} can be validated against", ("profile",))]


def _content(walked: Issues, resource: dict[str, Any]) -> list[Issue]:
    return check_content(load_tables(), walked.nodes, resource)


def validate(resource: Any, *, mode: str = "create", profile: str | None = None) -> list[Issue]:
    """ALL issues of ``resource`` (errors and warnings) in the given mode; empty when it is valid."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    issues = _head(resource)
    if issues or mode == "delete":  # a delete does not look at the content
        return issues
    walked = walk(resource)
    return _mode(resource, mode) + _profile(resource["resourceType"], profile) + list(walked) + \
        _content(walked, resource)


def validate_content(resource: dict[str, Any]) -> list[Issue]:
    """The checks beyond structure: required bindings, reference formats, invariants."""
    return _content(walk(resource), resource)


def _as_warning(issue: Issue) -> Issue:
    return Issue("warning", issue.code, issue.diagnostics, issue.expression)


def strictness_of(strictness: str | None) -> str:
    """``strictness``, or ``Settings.validation`` when None; refuses anything but error | warning."""
    if strictness is None:
        from ..config import get_settings  # late: settings read the environment

        strictness = get_settings().validation
    if strictness not in STRICTNESS:
        raise ValueError(f"validation strictness must be one of {STRICTNESS}, not {strictness!r}")
    return "warning" if strictness == "warning" else "error"  # a plain str, also from a str Enum setting


def write_issues(resource: Any, strictness: str | None = None) -> tuple[list[Issue], list[Issue]]:
    """(errors that refuse the write, issues reported beside the stored resource) of a resource about to be
    written, under ``strictness`` (default ``Settings.validation``)."""
    strictness = strictness_of(strictness)
    head = _head(resource)
    if head:
        return head, []
    walked = walk(resource)
    content = _content(walked, resource)
    if not walked and not content:
        return [], []
    blocking = list(walked) + ([] if strictness == "warning" else content)
    errors = [i for i in blocking if i.severity in _BLOCKING]
    if errors:
        return errors, []
    return [], [_as_warning(i) if i.severity in _BLOCKING else i for i in list(walked) + content]


def validate_resource(resource: Any, *, resource_type: str | None = None, resource_id: str | None = None,
                      require_id: bool = False, strictness: str | None = None,
                      warnings: Warnings | None = None) -> dict[str, Any]:
    """Check a resource about to be written; raise InvalidResource with every error, return the resource.

    Warnings (and, when ``strictness`` is "warning", the binding/invariant/reference errors too) are appended
    to ``warnings`` so the caller can return them beside the result. ``strictness`` defaults to
    ``Settings.validation``. Structure errors always reject: the store and search need a parseable resource.
    """
    if not isinstance(resource, dict):
        raise InvalidRequest("The resource must be a JSON object")
    actual = resource.get("resourceType")
    if resource_type is not None and isinstance(actual, str) and actual and actual != resource_type:
        raise InvalidResource(f"resourceType '{actual}' does not match the URL's type '{resource_type}'",
                              expression="resourceType")
    head = _head(resource)
    if head:
        raise InvalidResource(head[0].diagnostics, issues=head)
    body_id = resource.get("id")
    if resource_id is not None:
        if body_id is None and require_id:
            raise InvalidResource(f"The body must contain id '{resource_id}'", expression=f"{actual}.id")
        if body_id is not None and body_id != resource_id:
            raise InvalidResource(f"Body id '{body_id}' does not match the URL id '{resource_id}'",
                                  expression=f"{actual}.id")
    errors, reported = write_issues(resource, strictness)
    if errors:
        raise InvalidResource(errors[0].diagnostics, issues=errors)
    if warnings is not None:
        warnings.issues.extend(reported)
    return resource
