"""The reference graph of a resource, without storage: every literal reference anywhere in it, followed
transitively through a caller-supplied fetch function.

https://hl7.org/fhir/R4/references.html#literal -- ``Type/id``, ``Type/id/_history/n`` and absolute
``http(s)://base/Type/id`` are followed; local (``#x``), ``urn:uuid:``/``urn:oid:`` and logical
(identifier-only) references are not, since they name nothing the store holds.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..resources import RESOURCE_TYPE_SET

Key = tuple[str, str]  # (resource type, id)

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def parse_reference(value: str) -> Key | None:
    """``(type, id)`` of a literal reference to a resource of a known type, else None."""
    if not value or value.startswith(("#", "urn:")):
        return None
    path = value.split("?", 1)[0].split("#", 1)[0]
    parts = [p for p in path.split("/") if p]
    if "_history" in parts:  # Type/id/_history/n: the resource, whatever the version
        parts = parts[:parts.index("_history")]
    if len(parts) < 2:
        return None
    rtype, rid = parts[-2], parts[-1]
    if len(parts) > 2 and not value.startswith(("http://", "https://")):
        return None
    if rtype not in RESOURCE_TYPE_SET or not _ID.fullmatch(rid):
        return None
    return rtype, rid


def references(resource: Any) -> Iterator[Key]:
    """Every literal reference in ``resource`` (any depth, extensions and contained resources included), in
    document order; duplicates are kept."""
    stack = [resource]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("reference")
            if isinstance(ref, str):
                key = parse_reference(ref)
                if key is not None:
                    yield key
            # reversed, so the stack pops them in document order
            stack.extend(v for k, v in reversed(node.items()) if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in reversed(node) if isinstance(v, (dict, list)))


@dataclass
class Closure:
    """The result of a walk: the keys found, in breadth-first order (the root first), and what was referenced
    but could not be fetched (unknown or deleted), with who referenced it."""

    keys: list[Key] = field(default_factory=list)
    resources: dict[Key, Any] = field(default_factory=dict)
    missing: dict[Key, Key] = field(default_factory=dict)  # missing -> first referrer


# fetch(keys) -> {key: value} for the keys that exist; value is what the caller wants back (a parsed resource,
# or anything from which ``parse`` extracts one).
Fetch = Callable[[list[Key]], Mapping[Key, Any]]


def closure(root: Key, fetch: Fetch, *, parse: Callable[[Any], Any] = lambda v: v,
            max_resources: int = 100_000) -> Closure:
    """Everything ``root`` references, transitively, breadth first, one ``fetch`` per level.

    ``parse(value)`` turns a fetched value into the resource dict to scan for references. The root must exist
    (the caller checks; a missing root gives an empty closure with the root in ``missing``).
    """
    out = Closure()
    seen: set[Key] = {root}
    level: list[Key] = [root]
    referrer: dict[Key, Key] = {}
    while level:
        found = fetch(level)
        next_level: list[Key] = []
        for key in level:
            value = found.get(key)
            if value is None:
                out.missing[key] = referrer.get(key, key)
                continue
            out.keys.append(key)
            out.resources[key] = value
            if len(out.keys) >= max_resources:
                raise ValueError(f"more than {max_resources} resources are reachable from {root[0]}/{root[1]}")
            for ref in references(parse(value)):
                if ref not in seen:
                    seen.add(ref)
                    referrer[ref] = key
                    next_level.append(ref)
        level = next_level
    return out


def closure_of_resources(root: dict[str, Any], pool: Iterable[dict[str, Any]]) -> Closure:
    """The closure within an in-memory set of resources (e.g. a mapped study), for tests and tools."""
    by_key = {(r["resourceType"], r["id"]): r for r in [root, *pool]}
    return closure((root["resourceType"], root["id"]), lambda keys: {k: by_key[k] for k in keys if k in by_key})
