"""The one place where errors become OperationOutcome responses, https://hl7.org/fhir/R4/http.html#errors."""
from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import FhirError, Issue
from .negotiation import format_for_error
from .responses import outcome_response

log = logging.getLogger("fhirtrial")

_HTTP_CODES = {404: "not-found", 405: "not-supported", 401: "login", 403: "forbidden", 413: "too-costly",
               415: "not-supported", 406: "not-supported"}


async def on_fhir_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    return outcome_response(exc.issues, exc.status, format_for_error(request), headers=exc.headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        text = f"No FHIR endpoint at {request.url.path}"
    elif status == 405:
        text = f"{request.method} is not allowed on {request.url.path}"
    else:
        text = str(exc.detail)
    headers = dict(exc.headers or {})
    return outcome_response([Issue("error", _HTTP_CODES.get(status, "processing"), text)], status,
                            format_for_error(request), headers=headers)


async def on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = [Issue("error", "invalid", f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}")
              for e in exc.errors()]
    return outcome_response(issues or [Issue("error", "invalid", "Invalid request")], 400, format_for_error(request))


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Logged in full for operators; the client gets no stack trace.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return outcome_response([Issue("fatal", "exception", "Internal server error; the request was not completed")],
                            500, format_for_error(request))


def install(app: FastAPI) -> None:
    app.add_exception_handler(FhirError, on_fhir_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
