"""Content negotiation: Accept, _format, _pretty, Content-Type, https://hl7.org/fhir/R4/http.html#mime-type."""
from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from ..errors import NotAcceptable, UnsupportedMediaType

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
FORM = "application/x-www-form-urlencoded"
CONTENT_TYPE = "application/fhir+json; charset=utf-8"

_JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir", "json", "text/json"})
_WILDCARDS = frozenset({"*/*", "application/*"})


@dataclass(frozen=True, slots=True)
class Format:
    """How to render the response."""

    pretty: bool = False
    summary: str | None = None


def _split(media: str) -> tuple[str, dict[str, str]]:
    head, *params = media.split(";")
    parsed: dict[str, str] = {}
    for p in params:
        key, _, value = p.partition("=")
        parsed[key.strip().lower()] = value.strip().strip('"')
    return head.strip().lower(), parsed


def _check_version(params: dict[str, str], where: str) -> None:
    version = params.get("fhirversion")
    if version is not None and version not in ("4.0", "4.0.1"):
        raise NotAcceptable(f"FHIR version {version!r} in {where} is not supported: this server speaks 4.0")


def _acceptable(media: str, where: str) -> bool:
    kind, params = _split(media)
    if kind in _JSON_TYPES or kind in _WILDCARDS:
        _check_version(params, where)
        return True
    return False


def accepts_json(accept: str) -> bool:
    """True when an Accept header lets us answer with FHIR JSON (as negotiate() would, without raising)."""
    try:
        return not accept.strip() or any(_acceptable(c, "Accept") for c in accept.split(",") if c.strip())
    except NotAcceptable:
        return False


def negotiate(request: Request) -> Format:
    """Pick the response format from ``_format`` (wins) or ``Accept``; raise 406 when none is servable."""
    query = request.query_params
    fmt = query.get("_format")
    if fmt is not None:
        if not _acceptable(fmt, "_format"):
            raise NotAcceptable(f"_format {fmt!r} is not supported: use json or application/fhir+json",
                                expression="_format")
    else:
        accept = request.headers.get("accept")
        if accept and accept.strip():
            choices = [c for c in accept.split(",") if c.strip()]
            if not any(_acceptable(c, "Accept") for c in choices):
                raise NotAcceptable(f"None of the media types in Accept ({accept[:200]}) can be served: "
                                    f"use {FHIR_JSON}")
    pretty = query.get("_pretty", "false").lower() == "true"
    return Format(pretty=pretty, summary=query.get("_summary"))


def require_content_type(request: Request, allowed: frozenset[str] = frozenset({FHIR_JSON, "application/json",
                                                                               "application/json+fhir"})) -> str:
    """The request's media type if it is one of ``allowed``; 415 otherwise."""
    raw = request.headers.get("content-type")
    if not raw:
        raise UnsupportedMediaType(f"Missing Content-Type: send {FHIR_JSON}")
    kind, params = _split(raw)
    if kind not in allowed:
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not supported here: send one of {sorted(allowed)}")
    version = params.get("fhirversion")
    if version is not None and version not in ("4.0", "4.0.1"):
        raise UnsupportedMediaType(f"FHIR version {version!r} is not supported: this server speaks 4.0")
    return kind
