"""Bundles the server answers with: history, searchset, batch/transaction-response.

https://hl7.org/fhir/R4/bundle.html
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import orjson

from ..store.repository import StoredResource
from ..store.versioning import instant


def now_instant() -> str:
    return instant(datetime.now(timezone.utc))


def resource_fragment(stored: StoredResource) -> orjson.Fragment:
    """The stored JSON embedded as is, so bundles need not parse and re-encode every resource."""
    assert stored.body is not None
    return orjson.Fragment(stored.body)


def bundle(kind: str, entries: list[dict[str, Any]], *, links: list[tuple[str, str]] = (),
           total: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Bundle", "id": str(uuid.uuid4()),
                           "meta": {"lastUpdated": now_instant()}, "type": kind}
    if total is not None:
        out["total"] = total
    if links:
        out["link"] = [{"relation": rel, "url": url} for rel, url in links]
    out["entry"] = entries
    if not entries:
        del out["entry"]
    return out


def history_entry(stored: StoredResource, base: str) -> dict[str, Any]:
    path = f"{stored.resource_type}/{stored.id}"
    entry: dict[str, Any] = {"fullUrl": f"{base}/{path}"}
    if not stored.deleted and stored.body is not None:
        entry["resource"] = resource_fragment(stored)
    method = "DELETE" if stored.deleted else stored.method
    entry["request"] = {"method": method, "url": stored.resource_type if method == "POST" else path}
    status = "204 No Content" if stored.deleted else ("201 Created" if stored.version_id == 1 else "200 OK")
    entry["response"] = {"status": status, "etag": stored.etag, "lastModified": instant(stored.last_updated)}
    return entry


# R4 core extension on Bundle.entry.search (also R5's): the distance from the point of a ``near`` search.
LOCATION_DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"
UCUM = "http://unitsofmeasure.org"


def match_details(search: dict[str, Any], page: Any, key: tuple[str, str]) -> None:
    """Add a match's distance (location-distance, a Distance in km) and full-text score to its entry.search."""
    km = page.distances.get(key)
    if km is not None:
        search["extension"] = [{"url": LOCATION_DISTANCE, "valueDistance": {
            "value": round(km, 3), "unit": "km", "system": UCUM, "code": "km"}}]
    score = page.scores.get(key)
    if score is not None:
        search["score"] = score


def search_entry(stored: StoredResource, base: str, mode: str = "match") -> dict[str, Any]:
    return {"fullUrl": f"{base}/{stored.resource_type}/{stored.id}", "resource": resource_fragment(stored),
            "search": {"mode": mode}}
