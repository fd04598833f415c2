"""``HEAD`` answered as ``GET`` without the body (https://hl7.org/fhir/R4/http.html, RFC 9110 section 9.3.2):
the same status and headers, for reads, searches and history. Operations are left out: a GET operation may have
effects (a Bulk Data kick-off), and HEAD must have none.
"""
from __future__ import annotations

from typing import Any


class HeadAsGet:
    """Pure ASGI middleware: a HEAD request runs as GET and the body is dropped on the way out."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or "/$" in scope["path"]:
            await self.app(scope, receive, send)
            return

        async def headers_only(message: dict) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
