"""The SQL side of FHIR search (https://hl7.org/fhir/R4/search.html): fhirtrial.search's SearchRequest as SQL.

One predicate builder per parameter type (token, string, date, number, quantity, reference, uri, near,
composite, fulltext, missing), chains (chain.py), sort, keyset paging, includes, assembled in query.py;
the driving filter and probe order chosen in plan.py.
"""
from __future__ import annotations

from .query import DEFAULT_COUNT, SearchEngine, explain

__all__ = ["DEFAULT_COUNT", "SearchEngine", "explain"]
