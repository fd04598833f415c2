"""Opaque page cursors (search, history, ``$everything``): compact JSON in unpadded URL-safe base64.

https://hl7.org/fhir/R4/http.html#paging -- the server alone reads its cursors; each caller checks the shape of
what it decoded and answers a bad cursor with its own OperationOutcome.
"""
from __future__ import annotations

import base64
from typing import Any

import orjson


def encode(value: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(value)).decode().rstrip("=")


def decode(text: str) -> Any:
    """The JSON value of a cursor; ValueError when it is not one (bad base64 or JSON, non-ASCII text)."""
    return orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
