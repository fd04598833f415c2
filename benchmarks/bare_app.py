"""Baseline for benchmarks/rest.py: a bare uvicorn + orjson ASGI app serving the same body (no framework)."""
from __future__ import annotations

import os

import orjson

_BODY = orjson.loads(open(os.environ["BARE_BODY_FILE"], "rb").read())
_HEADERS = [(b"content-type", b"application/fhir+json; charset=utf-8")]


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    status = 200
    if scope["method"] == "POST":
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        orjson.loads(b"".join(chunks))
        status = 201
    await send({"type": "http.response.start", "status": status, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": orjson.dumps(_BODY)})
