"""Parsing of reference values shared by indexing and querying (https://hl7.org/fhir/R4/references.html)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_LOCAL = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_ABSOLUTE = re.compile(r"^(?P<base>[a-z][a-z0-9+.\-]*://.+?)/(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
                       r"(?:/_history/[^/]+)?$")


@dataclass(frozen=True, slots=True)
class ParsedReference:
    """Local targets have type and id; anything else keeps its URL (and the type when the URL shows one)."""

    target_type: str | None
    target_id: str | None
    url: str | None


@lru_cache(maxsize=65536)  # the same sites and sponsors are referenced by many studies
def parse_reference(text: str, base_url: str | None = None) -> ParsedReference | None:
    """``Type/id``, ``Type/id/_history/n``, absolute URLs (local when on ``base_url``), canonicals; None for ``#x``."""
    if not text or text.startswith("#"):
        return None
    if (m := _LOCAL.match(text)) is not None:
        return ParsedReference(m[1], m[2], None)
    if base_url and text.startswith(base_url.rstrip("/") + "/"):
        local = _LOCAL.match(text[len(base_url.rstrip("/")) + 1:])
        if local is not None:
            return ParsedReference(local[1], local[2], None)
    if (m := _ABSOLUTE.match(text)) is not None:
        return ParsedReference(m["type"], None, text)
    return ParsedReference(None, None, text)
