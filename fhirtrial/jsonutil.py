"""JSON encoding with orjson, https://hl7.org/fhir/R4/json.html."""
from __future__ import annotations

from typing import Any

import orjson

from .errors import InvalidRequest


def dumps(obj: Any, *, pretty: bool = False) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if pretty else 0)


def loads_object(raw: bytes | str, *, what: str = "request body") -> dict[str, Any]:
    """Parse a JSON object, turning every failure into a FHIR error that says what was wrong."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The {what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidRequest(f"The {what} must be a JSON object, not {type(value).__name__}")
    return value
