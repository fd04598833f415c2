"""A Bundle entry's ``request`` as the HTTP request it stands for, https://hl7.org/fhir/R4/bundle.html#request.

``request.url`` relative to the base (a full URL must be on this server's base), ``ifMatch``, ``ifNoneMatch``,
``ifNoneExist`` and ``ifModifiedSince`` as the headers of a direct request, the resource as its body (a PATCH's
Binary as the JSON Patch it holds).
"""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import orjson

from ..errors import InvalidRequest
from . import interactions
from .dispatch import EntryRequest
from .negotiation import FHIR_JSON, JSON_PATCH

# The order the spec requires for processing a transaction (https://hl7.org/fhir/R4/http.html#trules).
ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
WRITES = frozenset({"DELETE", "POST", "PUT", "PATCH"})
# Bundle.entry.request.* -> the HTTP header of a direct request.
_HEADERS = {"ifMatch": "If-Match", "ifNoneMatch": "If-None-Match", "ifNoneExist": "If-None-Exist",
            "ifModifiedSince": "If-Modified-Since"}
_FORMAT_PARAMS = ("_format", "_pretty")  # the Bundle's own format governs every entry's answer


@dataclass
class Entry:
    """One request entry, parsed; ``response`` is filled with its ``Bundle.entry`` answer."""

    index: int
    method: str
    url: str
    path: str  # relative to the base, without the query
    query: str
    resource: Any
    full_url: str | None
    headers: dict[str, str]
    response: dict[str, Any] = field(default_factory=dict)
    assigned_id: str | None = None  # a POST's id, chosen before anything is written

    @property
    def segments(self) -> list[str]:
        return [p for p in self.path.split("/") if p]

    @property
    def operation(self) -> bool:
        return any(s.startswith("$") for s in self.segments)

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _relative(url: str, base: str, where: str) -> str:
    """The entry's url relative to the base (a full url must be on this server's base)."""
    if url == base or url.startswith((base + "/", base + "?")):
        url = url[len(base):]
    elif "://" in url.split("?", 1)[0]:
        raise InvalidRequest(f"request.url {url!r} is not on this server's base {base}", expression=where)
    return url.lstrip("/")


def _without_format(query: str) -> str:
    return "&".join(p for p in query.split("&") if p and p.split("=", 1)[0] not in _FORMAT_PARAMS)


def parse_entry(raw: Any, index: int, base: str) -> Entry:
    where = f"Bundle.entry[{index}]"
    if not isinstance(raw, dict):
        raise InvalidRequest(f"{where} must be an object", expression=where)
    request = raw.get("request")
    if not isinstance(request, dict):
        raise InvalidRequest(f"{where}.request is required in a batch or transaction", expression=f"{where}.request")
    method = request.get("method")
    if not isinstance(method, str) or method not in ORDER:
        raise InvalidRequest(f"{where}.request.method {method!r} is not one of {sorted(ORDER)}",
                             expression=f"{where}.request.method")
    url = request.get("url")
    if not isinstance(url, str) or not url:
        raise InvalidRequest(f"{where}.request.url is required", expression=f"{where}.request.url")
    path, _, query = _relative(url, base, f"{where}.request.url").partition("?")
    headers: dict[str, str] = {}
    for key, header in _HEADERS.items():
        value = request.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"{where}.request.{key} must be a string", expression=f"{where}.request.{key}")
        headers[header] = _http_date(value, f"{where}.request.{key}") if key == "ifModifiedSince" else value
    if "If-Match" in headers:
        interactions.parse_if_match(headers["If-Match"])  # a bad ETag is this entry's error, found up front
    full_url = raw.get("fullUrl")
    entry = Entry(index, method, url, path.strip("/"), _without_format(query), raw.get("resource"),
                  full_url if isinstance(full_url, str) else None, headers)
    _check_body(entry)
    return entry


def _check_body(e: Entry) -> None:
    if e.method == "POST" and not e.segments:
        raise InvalidRequest(f"{e.where}: a batch or transaction cannot hold another one (POST to the base)",
                             expression=f"{e.where}.request.url")
    if e.method in ("POST", "PUT") and not e.operation and not isinstance(e.resource, dict):
        raise InvalidRequest(f"{e.where}.resource is required for {e.method}", expression=f"{e.where}.resource")
    if e.method == "PATCH" and not (isinstance(e.resource, dict) and e.resource.get("resourceType") == "Binary"):
        raise InvalidRequest(f"{e.where}: PATCH in a Bundle takes a Binary resource with a JSON Patch",
                             expression=f"{e.where}.resource")


def _http_date(value: str, where: str) -> str:
    """Bundle.entry.request.ifModifiedSince is a FHIR instant; the HTTP header an HTTP-date."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(value)
    except ValueError:
        raise InvalidRequest(f"{where} {value!r} is not a FHIR instant", expression=where) from None
    return format_datetime(moment, usegmt=True)


def _patch_body(entry: Entry) -> bytes:
    try:
        return base64.b64decode(entry.resource.get("data", ""), validate=True)
    except (ValueError, TypeError):
        raise InvalidRequest("The Binary of a PATCH entry must hold a base64 JSON Patch",
                             expression=f"{entry.where}.resource.data") from None


def http_request(entry: Entry) -> EntryRequest:
    """The HTTP request an entry stands for."""
    headers = dict(entry.headers)
    body = b""
    if entry.method == "PATCH":
        body = _patch_body(entry)
        headers["Content-Type"] = entry.resource.get("contentType") or JSON_PATCH
    elif entry.resource is not None and entry.method in ("POST", "PUT"):
        body = orjson.dumps(entry.resource)
        headers["Content-Type"] = FHIR_JSON
    return EntryRequest(entry.method, entry.path, entry.query, headers, body)
