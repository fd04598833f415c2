"""The resource browser for developers: any resource as indented JSON in which every reference is a link to the
resource it names (https://hl7.org/fhir/R4/references.html), like HAPI's tester.
"""
from __future__ import annotations

import re
from typing import Any

import orjson
from markupsafe import Markup, escape

from ..resources import ID_PATTERN, SERVED_TYPES

_REFERENCE = re.compile(r"^(?:.*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/(\d+))?$")


def link_for(reference: str, served: tuple[str, ...] = SERVED_TYPES) -> str | None:
    """The browser's URL for a reference to a served type, or None (external, urn:uuid:, contained)."""
    found = _REFERENCE.match(reference)
    if found is None or found.group(1) not in served or not ID_PATTERN.match(found.group(2)):
        return None
    return f"/browse/{found.group(1)}/{found.group(2)}"


def _string(value: str, key: str | None) -> Markup:
    quoted = escape(orjson_string(value))
    target = link_for(value) if key == "reference" else None
    return Markup('<a href="{}">{}</a>').format(target, quoted) if target else Markup('<span class="s">{}</span>') \
        .format(quoted)


def orjson_string(value: str) -> str:
    return orjson.dumps(value).decode()


def render(value: Any, indent: int = 0, key: str | None = None) -> Markup:
    """Indented JSON as escaped HTML (for a <pre>); string values of ``reference`` elements are links."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return Markup("{}")
        items = [Markup("{}<span class=\"k\">{}</span>: {}").format(inner, orjson_string(str(k)),
                                                                   render(v, indent + 1, str(k)))
                 for k, v in value.items()]
        return Markup("{\n") + Markup(",\n").join(items) + Markup("\n{}}}").format(pad)
    if isinstance(value, list):
        if not value:
            return Markup("[]")
        return Markup("[\n") + Markup(",\n").join(Markup("{}{}").format(inner, render(v, indent + 1, key))
                                                  for v in value) + Markup("\n{}]").format(pad)
    if isinstance(value, str):
        return _string(value, key)
    if isinstance(value, bool) or value is None:
        return Markup("<span class=\"n\">{}</span>").format("true" if value else ("false" if value is False else
                                                                                 "null"))
    return Markup("<span class=\"n\">{}</span>").format(value)


__all__ = ["link_for", "render"]
