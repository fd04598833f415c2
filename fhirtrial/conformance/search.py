"""Search over the definitional resources, in memory, https://hl7.org/fhir/R4/search.html.

They are few (about a hundred) and never change while the server runs: each is indexed once with the same
indexer as stored resources, and a filter keeps those ``search.matching.matches`` accepts (the reference
semantics the SQL search is tested against); ``_text``/``_content`` keep resources whose text satisfies the boolean query (words, phrases, AND, OR, NOT).
Chains, ``_has`` and ``:in``/``:not-in`` are refused here, ``_include``/``_revinclude`` and ``_sort`` reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import InvalidRequest, Issue
from ..search.index import ResourceIndex
from ..search.matching import matches
from ..search.request import Filter, SearchRequest, TextQueryValue
from ..search.textquery import matches_text
from .registry import Definitions, default_definitions

_REFUSED_MODIFIERS = frozenset({"in", "not-in"})
_REFUSED_TYPES = frozenset({"special"})


@dataclass
class DefinitionPage:
    """One page of matches (id order), how many there are, and what the request asked that was not done."""

    matches: list[dict[str, Any]]
    total: int
    next_offset: int | None
    issues: list[Issue] = field(default_factory=list)


@lru_cache(maxsize=4)
def _indexes(definitions: Definitions, resource_type: str) -> tuple[tuple[dict[str, Any], ResourceIndex], ...]:
    from ..search.extract import FhirPathIndexer

    indexer = FhirPathIndexer()
    return tuple((r, indexer.index(r)) for r in definitions.of_type(resource_type))


def _fulltext(f: Filter, index: ResourceIndex) -> bool:
    text = (index.text if f.param == "_text" else index.content) or ""
    return any(isinstance(v, TextQueryValue) and matches_text(v.query, text) for v in f.values)


def search_definitions(request: SearchRequest, offset: int = 0,
                       definitions: Definitions | None = None) -> DefinitionPage:
    """The page of ``request`` (one definitional type) starting at ``offset``."""
    assert request.resource_type is not None
    for f in request.filters:
        if f.chain or f.modifier in _REFUSED_MODIFIERS or f.type in _REFUSED_TYPES:
            raise InvalidRequest(f"Search parameter {f.name!r} is not supported on definitional resources "
                                 "(no chains, _has or :in/:not-in here)", expression=f.name)
    issues = []
    if request.includes:
        issues.append(Issue("warning", "not-supported", "_include/_revinclude were ignored: definitional "
                            "resources are returned alone", ("_include",)))
    if request.sort:
        issues.append(Issue("warning", "not-supported", "_sort was ignored: definitional resources are returned "
                            "in id order", ("_sort",)))
    found = [r for r, index in _indexes(definitions or default_definitions(), request.resource_type)
             if all(_fulltext(f, index) if f.type == "fulltext" else matches(f, index) for f in request.filters)]
    count = len(found) if request.count is None else request.count
    page = found[offset:offset + count]
    more = offset + count < len(found) and count > 0
    return DefinitionPage(page, len(found), offset + count if more else None, issues)
