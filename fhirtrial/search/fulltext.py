"""The documents fed to _text (narrative) and _content (whole resource) (https://hl7.org/fhir/R4/search.html#text)."""
from __future__ import annotations

import html
import re
from typing import Any

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
# Strings that are identifiers of definitions rather than content a person would search for.
_SKIPPED_KEYS = frozenset({"resourceType", "system", "url", "reference", "div", "id", "versionId", "status"})


def narrative_text(resource: dict[str, Any]) -> str:
    """The narrative div with tags removed and entities decoded."""
    div = (resource.get("text") or {}).get("div")
    if not isinstance(div, str):
        return ""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", div))).strip()


def content_text(resource: dict[str, Any]) -> str:
    """Every string value of the resource (narrative included, as text), one per line."""
    parts: list[str] = []
    _collect(resource, parts)
    narrative = narrative_text(resource)
    if narrative:
        parts.append(narrative)
    return "\n".join(parts)


def _collect(value: Any, parts: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SKIPPED_KEYS:
                continue
            if type(item) is str:
                parts.append(item)
            elif isinstance(item, (dict, list)):
                _collect(item, parts)
    elif isinstance(value, list):
        for item in value:
            if type(item) is str:
                parts.append(item)
            elif isinstance(item, (dict, list)):
                _collect(item, parts)
