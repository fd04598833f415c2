"""Splitting and unescaping of search values (https://hl7.org/fhir/R4/search.html#escaping).

``\\,`` ``\\|`` ``\\$`` and ``\\\\`` stand for the literal characters; splitting happens before unescaping so a
literal separator never splits.
"""
from __future__ import annotations

_SPECIAL = ",|$\\"


def split_escaped(text: str, separator: str, maxsplit: int = -1) -> list[str]:
    """Split on unescaped ``separator``, keeping escapes in the pieces."""
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i:i + 2])
            i += 2
            continue
        if ch == separator and (maxsplit < 0 or len(parts) < maxsplit):
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in _SPECIAL:
            out.append(text[i + 1])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def escape(text: str) -> str:
    return "".join("\\" + c if c in _SPECIAL else c for c in text)
