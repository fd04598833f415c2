"""_include / _revinclude with :iterate and * (https://hl7.org/fhir/R4/search.html#include), for one page.

Non-iterating includes apply to the page's matches; :iterate ones also to what was included, round after
round, until nothing new turns up or the limits below are reached: then the result says so (``Included.cut``),
and the REST layer reports it in the Bundle.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ...search.request import Include
from ..repository import Visible
from ..schema import idx_reference
from .rows import load_resources

MAX_INCLUDED = 1000
MAX_ROUNDS = 8
_CHUNK = 500

Key = tuple[str, str]


@dataclass
class Included:
    """The resources included for one page, and why the list is incomplete when it is (None: complete)."""

    resources: list[Any] = field(default_factory=list)
    cut: str | None = None


def _chunks(items: list[str]) -> Any:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _by_type(keys: list[Key]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for t, i in keys:
        out.setdefault(t, []).append(i)
    return out


def _targets(conn: sa.Connection, inc: Include, frontier: list[Key]) -> set[Key]:
    c = idx_reference.c
    found: set[Key] = set()
    for rtype, ids in _by_type(frontier).items():
        if inc.source_type not in ("*", rtype):
            continue
        for chunk in _chunks(ids):
            q = sa.select(c.target_type, c.target_id).where(
                c.resource_type == rtype, c.resource_id.in_(chunk), c.target_id.is_not(None))
            if inc.param != "*":
                q = q.where(c.param == inc.param)
            if inc.target_type:
                q = q.where(c.target_type == inc.target_type)
            found.update((t, i) for t, i in conn.execute(q) if t is not None)
    return found


def _sources(conn: sa.Connection, inc: Include, frontier: list[Key]) -> set[Key]:
    c = idx_reference.c
    found: set[Key] = set()
    for rtype, ids in _by_type(frontier).items():
        if inc.target_type and inc.target_type != rtype:
            continue
        for chunk in _chunks(ids):
            q = sa.select(c.resource_type, c.resource_id).where(c.target_type == rtype, c.target_id.in_(chunk))
            if inc.source_type != "*":
                q = q.where(c.resource_type == inc.source_type)
            if inc.param != "*":
                q = q.where(c.param == inc.param)
            found.update((t, i) for t, i in conn.execute(q))
    return found


def _found(conn: sa.Connection, includes: list[Include], frontier: list[Key]) -> set[Key]:
    found: set[Key] = set()
    for inc in includes:
        found |= _sources(conn, inc, frontier) if inc.reverse else _targets(conn, inc, frontier)
    return found


def resolve_includes(conn: sa.Connection, postgres: bool, includes: tuple[Include, ...], matches: list[Key],
                     visible: Visible | None = None) -> Included:
    """StoredResources included for the page (current, not deleted, not among ``matches``), in a stable order;
    those ``visible`` rejects are neither returned nor followed by :iterate."""
    result = Included()
    if not includes or not matches:
        return result
    seen: set[Key] = set(matches)
    out = result.resources
    frontier = list(matches)
    for round_ in range(MAX_ROUNDS):
        active = [inc for inc in includes if round_ == 0 or inc.iterate]
        if not active or not frontier:
            return result
        new = sorted(_found(conn, active, frontier) - seen)
        seen.update(new)
        room = MAX_INCLUDED - len(out)
        if len(new) > room:
            result.cut = (f"only the first {MAX_INCLUDED} included resources are returned "
                          f"({len(out) + len(new)} or more were found)")
            new = new[:room]
        loaded = load_resources(conn, postgres, new)
        if visible is not None:
            loaded = [s for s in loaded if visible(s)]
        out.extend(loaded)
        frontier = [(s.resource_type, s.id) for s in loaded]
        if result.cut:
            return result
    iterating = [inc for inc in includes if inc.iterate]
    if iterating and frontier and _found(conn, iterating, frontier) - seen:
        result.cut = f":iterate stopped after {MAX_ROUNDS} rounds; resources further along were not included"
    return result
