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
    append = parts.append
    # An explicit stack: this runs on every write, and recursion costs a call per element.
    stack: list[Any] = [resource]
    pop, push = stack.pop, stack.append
    while stack:
        value = pop()
        if type(value) is dict:
            for key, item in value.items():
                kind = type(item)
                if kind is str:
                    if key not in _SKIPPED_KEYS:
                        append(item)
                elif (kind is dict or kind is list) and key != "text":
                    push(item)
        else:
            for item in value:
                kind = type(item)
                if kind is str:
                    append(item)
                elif kind is dict or kind is list:
                    push(item)
    narrative = narrative_text(resource)
    if narrative:
        append(narrative)
    return "\n".join(parts)
