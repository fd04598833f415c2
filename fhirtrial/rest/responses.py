"""FHIR responses: body, Content-Type, ETag, Last-Modified, Location, https://hl7.org/fhir/R4/http.html."""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from email.utils import format_datetime
from typing import Any

import orjson
from starlette.responses import Response

from ..errors import Issue, operation_outcome
from ..store.repository import StoredResource
from .negotiation import CONTENT_TYPE, FHIR_JSON, Format
from .xml import to_xml


@lru_cache(maxsize=4096)  # the same versions are read again and again
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


# FHIR strings allow no whitespace but space, tab, CR and LF (https://hl7.org/fhir/R4/datatypes.html#string),
# and XML no C0 controls: diagnostics often quote the client's input, so such characters are escaped.
_NOT_FHIR_STRING = re.compile(r"[^\S \t\r\n]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(text: str) -> str:
    return _NOT_FHIR_STRING.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def outcome_response(issues: list[Issue], status: int, fmt: Format | None = None,
                     headers: dict[str, str] | None = None) -> Response:
    outcome = operation_outcome(issues)
    for issue in outcome["issue"]:
        if _NOT_FHIR_STRING.search(issue["diagnostics"]):
            issue["diagnostics"] = _printable(issue["diagnostics"])
        if "expression" in issue:
            issue["expression"] = [_printable(e) for e in issue["expression"]]
    return fhir_response(outcome, status=status, fmt=fmt, headers=headers)
