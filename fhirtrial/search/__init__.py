"""FHIR search, independent of storage: parameter registry, query parsing, index extraction.

https://hl7.org/fhir/R4/search.html -- see README.md in this package for the contract with the SQL layer.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

# Public names and their modules; imported on first use so that `fhirtrial.search.index` stays light
# (the indexer pulls in fhirpathpy).
_EXPORTS = {
    "FhirPathIndexer": "extract", "Registry": "registry", "SearchParam": "registry",
    "default_registry": "registry", "Parser": "parser", "parse_search": "parser", "SearchRequest": "request",
    "Filter": "request", "matches": "matching", "normalize": "normalize", "date_interval": "dates",
    "number_range": "numbers", "haversine_km": "geo", "bounding_box": "geo",
    "parse_text_query": "textquery", "near_source": "distance", "FACETS": "facets",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
