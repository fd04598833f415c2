"""Which filter of a search gives each match its distance (R5 ``location-distance`` on ``Bundle.entry.search``,
https://hl7.org/fhir/R4/location.html#positional), storage-free.

- ``Location?near=``: the Location's own position.
- a forward chain ending in Location ``near`` (``ResearchStudy?site.near=``): the nearest site within reach.
- a site composite (``ResearchStudy?site-status-near=RECRUITING$…``): the nearest site with that status within
  reach.

The first such filter with exactly one value decides; several ORed points give no distance (and ``_sort=near``
is refused), as do negated filters.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from fhirtrial.search.request import CompositeValue, Filter, NearValue, TokenValue

SORT_KEY = "near"  # ``_sort=near`` / ``_sort=-near``: by that distance


@dataclass(frozen=True, slots=True)
class NearSource:
    kind: str  # "location" | "chain" | "site"
    near: NearValue
    param: str  # the reference parameter of a chain (e.g. "site"), the composite's code, or "near"
    token: TokenValue | None = None  # the status part of a site composite


def near_source(filters: Iterable[Filter]) -> NearSource | None:
    for f in filters:
        if len(f.values) != 1 or f.modifier is not None:
            continue
        v = f.values[0]
        if f.type == "site" and not f.chain and isinstance(v, CompositeValue):
            token, near = v.components
            if isinstance(token, TokenValue) and isinstance(near, NearValue):
                return NearSource("site", near, f.param, token)
        if not isinstance(v, NearValue) or f.resource_type != "Location" or f.param != "near":
            continue
        if not f.chain:
            return NearSource("location", v, f.param)
        if len(f.chain) == 1 and not f.chain[0].reverse and f.chain[0].target_types == ("Location",):
            return NearSource("chain", v, f.chain[0].param)
    return None


__all__ = ["NearSource", "SORT_KEY", "near_source"]
