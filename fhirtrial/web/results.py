"""Search results as the finder lists them, read from the ``searchset`` Bundle the FHIR search answered
(https://hl7.org/fhir/R4/bundle.html#searchset): each study's title, status, phases, conditions, sponsor,
enrollment (its included eligibility Group) and nearest site with the distance (``location-distance`` on
``entry.search``, https://hl7.org/fhir/R4/extension-location-distance.html).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .records import concept_text, phases, reference_key, status_code, status_text

LOCATION_DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"
KM_PER_MILE = 1.609344


@dataclass
class Card:
    id: str
    title: str
    status: str
    status_code: str
    phases: list[str]
    conditions: list[str]
    more_conditions: int
    sponsor: str
    enrollment: int | None
    site_keys: list[str]
    distance_km: float | None = None
    nearest: str = ""  # the nearest site's name and place, when known
    score: float | None = None


@dataclass
class Results:
    cards: list[Card]
    total: int | None
    next_cursor: str | None
    previous_cursor: str | None
    warnings: list[str] = field(default_factory=list)


def _distance_km(search: dict[str, Any]) -> float | None:
    for ext in search.get("extension") or ():
        if ext.get("url") == LOCATION_DISTANCE:
            d = ext.get("valueDistance") or {}
            if isinstance(d.get("value"), (int, float)):
                unit = d.get("code") or d.get("unit")
                return float(d["value"]) * ({"km": 1.0, "m": 0.001, "[mi_i]": KM_PER_MILE, "mi": KM_PER_MILE}
                                            .get(unit, 1.0))
    return None


def cursor_of(url: str | None) -> str | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("_cursor")
    return values[0] if values else None


def read_bundle(bundle: dict[str, Any], max_conditions: int = 4) -> Results:
    included: dict[str, dict[str, Any]] = {}
    matches: list[tuple[dict[str, Any], dict[str, Any]]] = []
    warnings: list[str] = []
    for entry in bundle.get("entry") or ():
        resource, search = entry.get("resource") or {}, entry.get("search") or {}
        mode = search.get("mode")
        if mode == "match":
            matches.append((resource, search))
        elif mode == "include":
            included[f"{resource.get('resourceType')}/{resource.get('id')}"] = resource
        elif resource.get("resourceType") == "OperationOutcome":
            warnings += [i.get("diagnostics", "") for i in resource.get("issue") or () if i.get("diagnostics")]
    cards = []
    for study, search in matches:
        conditions = [concept_text(c) for c in study.get("condition") or () if concept_text(c)]
        group = next((included[k] for k in (reference_key(r) for r in study.get("enrollment") or ())
                      if k in included), None)
        enrollment = group.get("quantity") if group else None
        cards.append(Card(
            id=str(study.get("id", "")), title=str(study.get("title") or study.get("id", "")),
            status=status_text(study), status_code=status_code(study), phases=phases(study),
            conditions=conditions[:max_conditions], more_conditions=max(0, len(conditions) - max_conditions),
            sponsor=str((study.get("sponsor") or {}).get("display", "")), enrollment=enrollment,
            site_keys=[k for k in (reference_key(r) for r in study.get("site") or ()) if k],
            distance_km=_distance_km(search), score=search.get("score")))
    links = {link.get("relation"): link.get("url") for link in bundle.get("link") or ()}
    return Results(cards, bundle.get("total"), cursor_of(links.get("next")), cursor_of(links.get("previous")),
                   warnings)


def name_nearest(cards: list[Card], locations: list[tuple[dict[str, Any], float | None]]) -> None:
    """Give each card its nearest site: the first of ``locations`` (nearest first, with their distances) that is
    one of its sites."""
    for card in cards:
        keys = set(card.site_keys)
        for loc, km in locations:
            if f"Location/{loc.get('id')}" in keys:
                address = loc.get("address") or {}
                place = ", ".join(str(address[k]) for k in ("city", "state") if address.get(k))
                card.nearest = ", ".join(p for p in (str(loc.get("name", "")), place) if p)
                if card.distance_km is None:
                    card.distance_km = km
                break


def location_entries(bundle: dict[str, Any]) -> list[tuple[dict[str, Any], float | None]]:
    return [(e.get("resource") or {}, _distance_km(e.get("search") or {})) for e in bundle.get("entry") or ()
            if (e.get("resource") or {}).get("resourceType") == "Location"]




def read_facets(parameters: Any) -> dict[str, dict[str, int]] | None:
    """``ResearchStudy/$facets`` counts by facet name and code ({"status": {"RECRUITING": 63}, ...})."""
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        return None
    out: dict[str, dict[str, int]] = {}
    for param in parameters.get("parameter") or ():
        if param.get("name") != "facet":
            continue
        parts = param.get("part") or []
        name = next((p.get("valueCode") for p in parts if p.get("name") == "name"), None)
        if not name:
            continue
        buckets = out.setdefault(str(name), {})
        for bucket in (p for p in parts if p.get("name") == "bucket"):
            sub = {p.get("name"): p for p in bucket.get("part") or ()}
            coding = (sub.get("value") or {}).get("valueCoding") or {}
            count = (sub.get("count") or {}).get("valueInteger")
            key = coding.get("code") or coding.get("display")
            if key and isinstance(count, int):
                buckets[str(key)] = count
    return out


__all__ = ["Card", "Results", "cursor_of", "location_entries", "name_nearest", "read_bundle", "read_facets"]
