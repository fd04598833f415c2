"""The pages' way to the server's own FHIR API: HTTP requests answered in process by the same ASGI app, so every
page shows exactly what a FHIR client gets (https://hl7.org/fhir/R4/http.html) and there is no second query engine.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from starlette.requests import Request

JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any  # the parsed JSON (a resource), or None when the answer was not JSON
    url: str  # the public URL of the request, as a FHIR client would send it

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def problem(self) -> str:
        """The diagnostics of an OperationOutcome answer, joined, or the status."""
        if isinstance(self.body, dict) and self.body.get("resourceType") == "OperationOutcome":
            texts = [i.get("diagnostics") or i.get("code", "") for i in self.body.get("issue", [])
                     if i.get("severity") in ("error", "fatal")]
            if texts:
                return "; ".join(t for t in texts if t)
        return f"HTTP {self.status}"


def public_base(request: Request) -> str:
    """The FHIR base URL as clients see it (FHIRTRIAL_BASE_URL, else this request's origin and base path)."""
    settings = request.app.state.settings
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}{settings.base_path.rstrip('/')}"


def query_string(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs, safe=":|,$/")


class FhirClient:
    """Requests to ``[base]/…`` of the app serving this page, over an in-process transport."""

    def __init__(self, request: Request) -> None:
        self.app = request.app
        self.path = request.app.state.settings.base_path.rstrip("/")
        self.public = public_base(request)

    def url(self, path: str, pairs: list[tuple[str, str]] = ()) -> str:
        query = query_string(list(pairs))
        return f"{self.public}/{path}" + (f"?{query}" if query else "")

    async def _send(self, method: str, path: str, pairs: list[tuple[str, str]], body: Any = None) -> Answer:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        headers = {"Accept": JSON}
        content = None
        if body is not None:
            headers["Content-Type"] = JSON
            content = orjson.dumps(body)
        query = query_string(list(pairs))
        target = f"http://fhirtrial.internal{self.path}/{path}" + (f"?{query}" if query else "")
        async with httpx.AsyncClient(transport=transport) as client:
            response = await client.request(method, target, headers=headers, content=content)
        try:
            parsed = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            parsed = None
        return Answer(response.status_code, parsed, self.url(path, pairs))

    async def get(self, path: str, pairs: list[tuple[str, str]] = ()) -> Answer:
        return await self._send("GET", path, list(pairs))

    async def post(self, path: str, body: Any, pairs: list[tuple[str, str]] = ()) -> Answer:
        return await self._send("POST", path, list(pairs), body)


__all__ = ["Answer", "FhirClient", "public_base", "query_string"]
