"""Per-request helpers: base URL, bounded body reading, Prefer, https://hl7.org/fhir/R4/http.html#general."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request

from ..config import Settings
from ..errors import InvalidRequest, PayloadTooLarge
from ..jsonutil import loads
from ..resources import RESOURCE_TYPE_SET
from ..search.results import parse_count
from ..store.repository import Repository
from .negotiation import request_is_xml
from .xml import from_xml


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def repo_of(request: Request) -> Repository:
    """The app's repository; for an entry of a transaction Bundle, the transaction's (store/atomic.py), so the
    entry reads what the entries before it wrote and writes in the same transaction (rest/transaction.py)."""
    bound = getattr(request.state, "repository", None)
    return bound if bound is not None else request.app.state.repo


def base_url(request: Request) -> str:
    settings = settings_of(request)
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{settings.base_path.rstrip('/')}"


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes MAX_BODY_BYTES (before it is all read)."""
    limit = settings_of(request).max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body ({declared} bytes) is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, expect: type = dict, optional: bool = False) -> Any:
    """The body as JSON; a FHIR XML body (Content-Type application/fhir+xml) is converted to its JSON form.
    An empty body is an error, or None when ``optional``."""
    raw = await read_body(request)
    if not raw.strip():
        if optional:
            return None
        raise InvalidRequest("The request body is empty")
    if expect is dict and request_is_xml(request):
        return from_xml(raw)
    value = loads(raw)
    if not isinstance(value, expect):
        wanted = "a JSON object (a FHIR resource)" if expect is dict else "a JSON array"
        raise InvalidRequest(f"The request body must be {wanted}, not {type(value).__name__}")
    return value


def prefer_return(request: Request) -> str:
    """``Prefer: return=minimal|representation|OperationOutcome`` (representation by default)."""
    for part in request.headers.get("prefer", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "return":
            value = value.strip().strip('"')
            if value in ("minimal", "representation", "OperationOutcome"):
                return value
    return "representation"


def prefer_handling(request: Request) -> str:
    for part in request.headers.get("prefer", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "handling":
            return value.strip().strip('"').lower()
    return "lenient"


def parse_instant(raw: str, name: str = "_since") -> datetime:
    """A FHIR instant (date, time to the second and a zone), e.g. 2024-01-31T10:00:00Z."""
    try:
        if "T" not in raw:
            raise ValueError(raw)
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} {raw!r} is not a FHIR instant such as 2024-01-31T10:00:00Z",
                             expression=name) from None
    if moment.tzinfo is None:
        raise InvalidRequest(f"{name} {raw!r} needs a time zone (an instant)", expression=name)
    return moment


def count_param(request: Request) -> int:
    """``_count`` of a page that is not a search (history, ``$everything``): the server's default when absent,
    capped at its maximum, by the search parser's own rule (search/results.parse_count)."""
    settings = settings_of(request)
    raw = request.query_params.get("_count")
    if raw is None:
        return settings.default_count
    try:
        return parse_count(raw, settings.max_count)
    except ValueError as exc:
        raise InvalidRequest(f"_count {raw!r} is {exc}", expression="_count") from None


def parse_types(values: list[str]) -> list[str] | None:
    """``_type`` of an operation (``$export``, ``$everything``): repeated and/or comma separated, in the order
    given without repeats; None when absent."""
    if not values:
        return None
    names = [t.strip() for v in values for t in v.split(",") if t.strip()]
    if not names:
        raise InvalidRequest("_type is empty", expression="_type")
    unknown = [t for t in names if t not in RESOURCE_TYPE_SET]
    if unknown:
        raise InvalidRequest(f"_type names resource types this server does not support: {', '.join(unknown)}",
                             expression="_type")
    return list(dict.fromkeys(names))
