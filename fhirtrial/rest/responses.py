"""FHIR responses: body, Content-Type, ETag, Last-Modified, Location, https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any

import orjson
from starlette.responses import Response

from ..errors import Issue, operation_outcome
from ..store.repository import StoredResource
from .negotiation import CONTENT_TYPE, FHIR_JSON, Format
from .xml import to_xml


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def fhir_response(body: Any, *, status: int = 200, fmt: Format | None = None,
                  headers: dict[str, str] | None = None) -> Response:
    """A response whose body is a resource as dict, or already-encoded JSON bytes, in the negotiated format."""
    if fmt is not None and fmt.media != FHIR_JSON:
        return _other_format(body, status, fmt, headers)
    pretty = fmt is not None and fmt.pretty
    if isinstance(body, (bytes, bytearray)):
        content = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2) if pretty else bytes(body)
    else:
        content = orjson.dumps(body, option=orjson.OPT_INDENT_2 if pretty else 0)
    content_type = CONTENT_TYPE if fmt is None or fmt.fhir_version is None else fmt.content_type
    return Response(content, status_code=status, media_type=None,
                    headers={"content-type": content_type, **(headers or {})})


def _other_format(body: Any, status: int, fmt: Format, headers: dict[str, str] | None) -> Response:
    if fmt.xml:
        content = to_xml(body, pretty=fmt.pretty)
    else:
        content = ndjson_lines(body)
    return Response(content, status_code=status, media_type=None,
                    headers={"content-type": fmt.content_type, **(headers or {})})


def ndjson_lines(body: Any) -> bytes:
    """NDJSON (https://hl7.org/fhir/uv/bulkdata/export.html): a Bundle's resources one per line, else the one."""
    data = orjson.loads(body) if isinstance(body, (bytes, bytearray)) else orjson.loads(orjson.dumps(body))
    if isinstance(data, dict) and data.get("resourceType") == "Bundle":
        items = [e["resource"] for e in data.get("entry", ()) if isinstance(e, dict) and "resource" in e]
    else:
        items = [data]
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


def empty_response(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(b"", status_code=status, headers=headers or {})


def version_headers(stored: StoredResource, location: str | None = None) -> dict[str, str]:
    headers = {"etag": stored.etag, "last-modified": http_date(stored.last_updated)}
    if location is not None:
        headers["location"] = location
        headers["content-location"] = location
    return headers


def outcome_response(issues: list[Issue], status: int, fmt: Format | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    return fhir_response(operation_outcome(issues), status=status, fmt=fmt, headers=headers)
