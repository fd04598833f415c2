"""One exception family for the domain, rendered as OperationOutcome at the HTTP edge.

https://hl7.org/fhir/R4/operationoutcome.html (issue codes: https://hl7.org/fhir/R4/valueset-issue-type.html)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue."""

    severity: str  # fatal | error | warning | information
    code: str  # IssueType code, e.g. invalid, structure, required, value, not-found, conflict
    diagnostics: str
    expression: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            out["expression"] = list(self.expression)
        return out


class FhirError(Exception):
    """Base of every error the domain raises; ``status`` is the HTTP status the edge answers with."""

    status: int = 400
    code: str = "invalid"

    def __init__(self, diagnostics: str, *, expression: str | tuple[str, ...] | None = None,
                 issues: list[Issue] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        expr = (expression,) if isinstance(expression, str) else tuple(expression or ())
        self.issues: list[Issue] = issues or [Issue("error", self.code, diagnostics, expr)]
        self.headers: dict[str, str] = headers or {}

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]}


class InvalidRequest(FhirError):
    status, code = 400, "invalid"


class InvalidResource(FhirError):
    """The body is not a valid FHIR resource (structure, datatypes, cardinality, bindings)."""

    status, code = 400, "structure"


class UnprocessableEntity(FhirError):
    status, code = 422, "processing"


class IndexingError(UnprocessableEntity):
    """A search parameter cannot be extracted from the resource: it is not stored without its index rows."""


class NotFound(FhirError):
    status, code = 404, "not-found"


class Gone(FhirError):
    status, code = 410, "deleted"


class MethodNotAllowed(FhirError):
    status, code = 405, "not-supported"


class NotAcceptable(FhirError):
    status, code = 406, "not-supported"


class Conflict(FhirError):
    status, code = 409, "conflict"


class PreconditionFailed(FhirError):
    status, code = 412, "conflict"


class PayloadTooLarge(FhirError):
    status, code = 413, "too-costly"


class UnsupportedMediaType(FhirError):
    status, code = 415, "not-supported"


class Unauthorized(FhirError):
    status, code = 401, "login"

    def __init__(self, diagnostics: str) -> None:
        super().__init__(diagnostics, headers={"WWW-Authenticate": 'Bearer realm="fhirtrial"'})


class Forbidden(FhirError):
    status, code = 403, "forbidden"


class ServiceUnavailable(FhirError):
    """A transient failure (database busy or unreachable); the client may retry."""

    status, code = 503, "transient"


class MultipleMatches(FhirError):
    """Conditional interaction matched more than one resource."""

    status, code = 412, "multiple-matches"


@dataclass
class Warnings:
    """Non-fatal issues collected while processing a request, returned beside the result."""

    issues: list[Issue] = field(default_factory=list)

    def add(self, diagnostics: str, code: str = "informational", expression: str | None = None) -> None:
        self.issues.append(Issue("warning", code, diagnostics, (expression,) if expression else ()))
