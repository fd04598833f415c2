"""JSON request bodies parsed with orjson, https://hl7.org/fhir/R4/json.html."""
from __future__ import annotations

from typing import Any

import orjson

from .errors import InvalidRequest


def loads(raw: bytes | str, *, what: str = "request body") -> Any:
    """Parse JSON, turning a syntax error into a 400 OperationOutcome that says what was wrong and where."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The {what} is not valid JSON: {exc}") from None
