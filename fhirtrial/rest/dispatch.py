"""Batch and transaction entries sent through the app's own routes, https://hl7.org/fhir/R4/http.html#transaction.

As Medplum's batch.ts sends every entry back through its router, each entry here becomes an internal HTTP request
to the ASGI app, in process: the same routing, handlers, content negotiation, ``Prefer``, authorization and
OperationOutcome errors as the same request sent directly. The entry carries the caller's ``Authorization``,
``Prefer`` and ``Host`` (so links name the same base); its answer is asked for in JSON, since the response
Bundle as a whole is answered in the format the caller negotiated.
"""
from __future__ import annotations

import http
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, unquote

import orjson
from starlette.requests import Request

from ..errors import FhirError, Issue, operation_outcome
from ..store.versioning import instant
from .context import settings_of
from .negotiation import FHIR_JSON

# Headers of the Bundle's own request that every entry carries.
_CARRIED = (b"host", b"authorization", b"prefer", b"user-agent", b"x-forwarded-for", b"x-forwarded-proto",
            b"x-forwarded-host")


@dataclass
class EntryRequest:
    """One entry as an HTTP request: ``path`` and ``query`` relative to the base, already percent-encoded."""

    method: str
    path: str
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class EntryResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    warnings: list[Issue] = field(default_factory=list)  # a write's validation warnings (routes/common.py)

    def json(self) -> Any:
        """The body as JSON, or None when there is none (or it is not JSON)."""
        if not self.body or not self.headers.get("content-type", "").startswith(("application/fhir+json",
                                                                                 "application/json")):
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def error(self) -> FhirError:
        """The failure this response reports, as the FhirError that would have produced it."""
        body = self.json()
        issues = [Issue(i.get("severity", "error"), i.get("code", "processing"), i.get("diagnostics", ""),
                        tuple(i.get("expression", ()))) for i in (body or {}).get("issue", ()) if isinstance(i, dict)]
        exc = FhirError(issues[0].diagnostics if issues else f"HTTP {self.status}", issues=issues or None,
                        headers={k: v for k, v in self.headers.items() if k in ("www-authenticate", "retry-after", "allow")})
        exc.status = self.status
        return exc


class Dispatcher:
    """Sends entries of one Bundle, received as ``request``, through the app that received it."""

    def __init__(self, request: Request) -> None:
        self._app = request.app
        self._scope = request.scope
        self._prefix = self._scope.get("root_path", "") + settings_of(request).base_path.rstrip("/")
        self._headers = [(k, v) for k, v in request.headers.raw if k in _CARRIED]

    async def send(self, entry: EntryRequest, state: dict[str, Any] | None = None) -> EntryResponse:
        """Run the entry; ``state`` becomes the internal request's ``request.state`` (a transaction's
        repository, an id assigned in advance)."""
        path = _encoded(f"{self._prefix}/{entry.path}" if entry.path else self._prefix or "/")
        headers = [*self._headers, (b"accept", FHIR_JSON.encode()),
                   *((k.lower().encode("ascii"), _encoded(v, " ").encode("ascii")) for k, v in entry.headers.items())]
        if entry.body:
            headers.append((b"content-length", str(len(entry.body)).encode()))
        scope = {"type": "http", "asgi": self._scope.get("asgi", {"version": "3.0"}), "http_version": "1.1",
                 "method": entry.method, "scheme": self._scope.get("scheme", "http"),
                 "server": self._scope.get("server"), "client": self._scope.get("client"),
                 "root_path": self._scope.get("root_path", ""), "path": unquote(path),
                 "raw_path": path.encode("ascii"), "query_string": _encoded(entry.query).encode("ascii"),
                 "headers": headers, "state": {**(state or {})}}
        sent = False
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": entry.body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self._app(scope, receive, send)
        except Exception:  # noqa: BLE001 -- the app has answered 500 (an OperationOutcome) and re-raised
            if not start:
                raise
        return EntryResponse(start["status"], {k.decode("latin-1").lower(): v.decode("latin-1")
                                               for k, v in start.get("headers", ())}, b"".join(chunks),
                             scope["state"].get("warnings", []))


_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7f))


def _encoded(text: str, also_safe: str = "") -> str:
    """``text`` as a client sends it on the wire: characters outside printable ASCII (and ``also_safe``)
    percent-encoded as UTF-8, what is already encoded kept."""
    return quote(text, safe=_PRINTABLE + also_safe)


def _last_modified(response: EntryResponse, resource: Any) -> str | None:
    if isinstance(resource, dict) and isinstance(resource.get("meta"), dict) \
            and isinstance(resource["meta"].get("lastUpdated"), str) \
            and response.headers.get("etag") == f'W/"{resource["meta"].get("versionId")}"':
        return resource["meta"]["lastUpdated"]
    raw = response.headers.get("last-modified")
    if raw is None:
        return None
    try:
        return instant(parsedate_to_datetime(raw).astimezone(timezone.utc))
    except (TypeError, ValueError):
        return None


def status_line(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def bundle_entry(response: EntryResponse, *, write: bool) -> dict[str, Any]:
    """The ``Bundle.entry`` answering one request entry: ``response`` (status, location, etag, lastModified,
    outcome) and the resource. An OperationOutcome is the entry's ``outcome`` when it reports a failure or a
    write's result (``Prefer: return=OperationOutcome``), else it is the resource (``$validate``'s answer)."""
    body = response.json()
    out: dict[str, Any] = {}
    result: dict[str, Any] = {"status": status_line(response.status)}
    location = response.headers.get("location") or (response.headers.get("content-location")
                                                    if response.status == 202 else None)
    if location:
        result["location"] = location
    if "etag" in response.headers:
        result["etag"] = response.headers["etag"]
    modified = _last_modified(response, body)
    if modified:
        result["lastModified"] = modified
    if isinstance(body, dict):
        if body.get("resourceType") == "OperationOutcome" and (response.status >= 400 or write):
            result["outcome"] = body
        else:
            out["resource"] = body
    if "outcome" not in result and response.warnings:
        result["outcome"] = operation_outcome(response.warnings)
    out["response"] = result
    return out
