"""Content negotiation: Accept, _format, _pretty, Content-Type, https://hl7.org/fhir/R4/http.html#mime-type.

JSON is the default and the fast path; XML (https://hl7.org/fhir/R4/xml.html) and, where Bulk Data asks for it,
NDJSON (https://hl7.org/fhir/uv/bulkdata/export.html) are chosen only when the client asks for them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from starlette.requests import Request

from ..errors import NotAcceptable, UnsupportedMediaType

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
FHIR_NDJSON = "application/fhir+ndjson"
JSON_PATCH = "application/json-patch+json"
FORM = "application/x-www-form-urlencoded"
CONTENT_TYPE = "application/fhir+json; charset=utf-8"
XML_CONTENT_TYPE = "application/fhir+xml; charset=utf-8"
NDJSON_CONTENT_TYPE = "application/fhir+ndjson"

_JSON_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir", "json", "text/json"})
_XML_TYPES = frozenset({FHIR_XML, "application/xml", "application/xml+fhir", "text/xml", "xml"})
_NDJSON_TYPES = frozenset({FHIR_NDJSON, "application/ndjson", "application/x-ndjson", "ndjson"})
_WILDCARDS = frozenset({"*/*", "application/*"})
# What a request body may be for create, update and transaction (XML is converted at the edge).
JSON_BODY_TYPES = frozenset({FHIR_JSON, "application/json", "application/json+fhir"})
BODY_TYPES = JSON_BODY_TYPES | _XML_TYPES
_VERSIONS = ("4.0", "4.0.1")


@dataclass(frozen=True, slots=True)
class Format:
    """How to render the response: media type (JSON unless asked), pretty printing, echoed fhirVersion."""

    pretty: bool = False
    summary: str | None = None
    media: str = FHIR_JSON
    fhir_version: str | None = None

    @property
    def xml(self) -> bool:
        return self.media == FHIR_XML

    @property
    def content_type(self) -> str:
        base = (XML_CONTENT_TYPE if self.media == FHIR_XML else
                NDJSON_CONTENT_TYPE if self.media == FHIR_NDJSON else CONTENT_TYPE)
        return f"{base}; fhirVersion={self.fhir_version}" if self.fhir_version else base


JSON_FORMAT = Format()


def _split(media: str) -> tuple[str, dict[str, str]]:
    head, *params = media.split(";")
    parsed: dict[str, str] = {}
    for p in params:
        key, _, value = p.partition("=")
        parsed[key.strip().lower()] = value.strip().strip('"')
    return head.strip().lower(), parsed


def _check_version(params: dict[str, str], where: str) -> None:
    version = params.get("fhirversion")
    if version is not None and version not in _VERSIONS:
        raise NotAcceptable(f"FHIR version {version!r} in {where} is not supported: this server speaks 4.0")


def _kind(media: str, ndjson: bool) -> str | None:
    """The media type we would answer for one Accept/_format entry, or None when we cannot serve it."""
    if media in _JSON_TYPES or media in _WILDCARDS:
        return FHIR_JSON
    if media in _XML_TYPES:
        return FHIR_XML
    if ndjson and media in _NDJSON_TYPES:
        return FHIR_NDJSON
    return None


def _quality(params: dict[str, str]) -> float:
    try:
        return float(params.get("q", "1"))
    except ValueError:
        return 1.0


def _choose(accept: str, ndjson: bool) -> tuple[str, str | None] | None:
    """The best servable (media, fhirVersion) of an Accept header by q-value then order; None if nothing fits."""
    best: tuple[float, str, str | None] | None = None
    for choice in accept.split(","):
        if not choice.strip():
            continue
        media, params = _split(choice)
        kind = _kind(media, ndjson)
        if kind is None:
            continue
        q = _quality(params)
        if q <= 0:
            continue
        _check_version(params, "Accept")
        if best is None or q > best[0]:
            best = (q, kind, params.get("fhirversion"))
    return None if best is None else (best[1], best[2])


@lru_cache(maxsize=256)  # clients send the same few Accept headers over and over; this is on the read hot path
def accepts_json(accept: str) -> bool:
    """True when an Accept header makes us answer plain FHIR JSON (as negotiate() would, without raising).

    False as well when the answer must differ from the stored bytes' plain rendering (XML preferred, or a
    ``fhirVersion`` parameter to echo), so the read fast path leaves those requests to the full route.
    """
    if not accept.strip():
        return True
    if "fhirversion" in accept.lower():
        return False
    try:
        chosen = _choose(accept, False)
    except NotAcceptable:
        return False
    return chosen is not None and chosen[0] == FHIR_JSON


def _wants_ndjson(request: Request) -> bool:
    return "$export" in request.url.path or "_outputFormat" in request.query_params


def negotiate(request: Request, *, ndjson: bool | None = None) -> Format:
    """Pick the response format from ``_format`` (wins) or ``Accept``; raise 406 when none is servable.

    NDJSON is servable only where Bulk Data uses it: ``ndjson=True``, or by default on ``$export`` requests.
    """
    query = request.query_params
    allow_ndjson = _wants_ndjson(request) if ndjson is None else ndjson
    fmt = query.get("_format")
    version: str | None = None
    if fmt is not None:
        media, params = _split(fmt)
        kind = _kind(media, allow_ndjson)
        if kind is None:
            raise NotAcceptable(f"_format {fmt!r} is not supported: use json, xml, application/fhir+json or "
                                f"application/fhir+xml", expression="_format")
        _check_version(params, "_format")
        version = params.get("fhirversion")
    else:
        accept = request.headers.get("accept")
        kind = FHIR_JSON
        if accept and accept.strip():
            chosen = _choose(accept, allow_ndjson)
            if chosen is None:
                raise NotAcceptable(f"None of the media types in Accept ({accept[:200]}) can be served: "
                                    f"use {FHIR_JSON} or {FHIR_XML}")
            kind, version = chosen
    if version is None:
        # A client that states its version on the body gets it echoed back too.
        sent = request.headers.get("content-type")
        if sent and "fhirversion" in sent.lower():
            version = _split(sent)[1].get("fhirversion")
            if version not in _VERSIONS:
                version = None
    pretty = query.get("_pretty", "false").lower() == "true"
    return Format(pretty=pretty, summary=query.get("_summary"), media=kind, fhir_version=version)


def format_for_error(request: Request) -> Format:
    """The negotiated format for an error response, or plain JSON when negotiation itself fails."""
    try:
        return negotiate(request)
    except Exception:  # noqa: BLE001 - an error about the error must not hide the first one
        return JSON_FORMAT


def request_is_xml(request: Request) -> bool:
    raw = request.headers.get("content-type")
    return bool(raw) and "xml" in raw and _split(raw)[0] in _XML_TYPES


def require_content_type(request: Request, allowed: frozenset[str] | None = None) -> str:
    """The request's media type if it is one of ``allowed``; 415 otherwise.

    By default FHIR JSON or XML (``context.read_json`` converts XML) for interactions, JSON only for operations
    (``$name``), which read their bodies themselves: they opt in to XML by passing ``allowed=BODY_TYPES``.
    """
    if allowed is None:
        allowed = JSON_BODY_TYPES if "$" in request.url.path else BODY_TYPES
    raw = request.headers.get("content-type")
    if not raw:
        raise UnsupportedMediaType(f"Missing Content-Type: send {FHIR_JSON} or {FHIR_XML}")
    kind, params = _split(raw)
    if kind not in allowed:
        raise UnsupportedMediaType(f"Content-Type {kind!r} is not supported here: send one of {sorted(allowed)}")
    version = params.get("fhirversion")
    if version is not None and version not in _VERSIONS:
        raise UnsupportedMediaType(f"FHIR version {version!r} is not supported: this server speaks 4.0")
    return kind
