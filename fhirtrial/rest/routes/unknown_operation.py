"""Operations this server does not define: a 404 OperationOutcome naming them, https://hl7.org/fhir/R4/operations.html.

``[base]/$op``, ``[base]/Type/$op`` and ``[base]/Type/id/$op`` that no operation route took would otherwise fall
to the instance routes (``POST /ResearchStudy/$x`` answered "405 POST is not allowed", ``GET`` read an id
``$x``). These routes come after every operation's own routes and before the instance routes: a known
operation asked with another method is a 405 listing the methods it takes; any other is a 404 ``not-supported``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from ...errors import MethodNotAllowed, NotFound
from ...resources import RESOURCE_TYPE_SET

router = APIRouter()

OPERATION_PARAM = "operation"  # the path parameter of these routes (openapi.py and capability.py skip them)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


class UnknownOperation(NotFound):
    code = "not-supported"


@lru_cache(maxsize=8)
def _known(paths: tuple[tuple[str, frozenset[str]], ...]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    return [(compile_path(path)[0], methods) for path, methods in paths
            if "$" in path and "{" + OPERATION_PARAM + "}" not in path]


def _allowed(request: Request) -> set[str]:
    """Methods of the operation routes whose path is this one (their method is not this request's)."""
    from ..openapi import routes_of

    paths: Iterable[tuple[str, frozenset[str]]] = routes_of(request.app)
    path = request.url.path
    return {m for pattern, methods in _known(tuple(sorted(paths, key=lambda p: p[0]))) if pattern.match(path)
            for m in methods}


def _refuse(request: Request, level: str, name: str, resource_type: str | None = None) -> Response:
    allowed = _allowed(request)
    if allowed:
        methods = ", ".join(sorted(allowed - {"HEAD"}))
        raise MethodNotAllowed(f"Operation ${name} does not take {request.method} here; use {methods}",
                               expression=f"${name}", headers={"Allow": methods})
    where = f"on {resource_type}" if resource_type else "at system level"
    if resource_type is not None and resource_type not in RESOURCE_TYPE_SET:
        where = f"on the unknown resource type {resource_type!r}"
    raise UnknownOperation(f"Operation ${name} is not supported {where} ({level} level)", expression=f"${name}")


@router.api_route("/${operation}", methods=METHODS, include_in_schema=False)
async def unknown_system_operation(request: Request, operation: str) -> Response:
    return _refuse(request, "system", operation)


@router.api_route("/{resource_type}/${operation}", methods=METHODS, include_in_schema=False)
async def unknown_type_operation(request: Request, resource_type: str, operation: str) -> Response:
    return _refuse(request, "type", operation, resource_type)


@router.api_route("/{resource_type}/{resource_id}/${operation}", methods=METHODS, include_in_schema=False)
async def unknown_instance_operation(request: Request, resource_type: str, resource_id: str,
                                     operation: str) -> Response:
    return _refuse(request, "instance", operation, resource_type)
