"""Study sites as shared Location resources plus per-study site details, https://hl7.org/fhir/R4/location.html."""
from __future__ import annotations

from typing import Any

from .bundle import ResourceSet
from .codes import field_concept
from .ids import content_id
from .parties import CONTACTS, contact_detail
from .record import Record

PATH = f"{CONTACTS}.locations"
_P = f"{PATH}[]"
_FACILITY = f"{_P}.facility"
_ADDRESS = tuple((key, element, f"{_P}.{key}") for key, element in
                 (("city", "city"), ("state", "state"), ("zip", "postalCode"), ("country", "country")))


def _location(rec: Record, site: dict[str, Any], out: ResourceSet) -> tuple[dict[str, str], str | None] | None:
    """The Location for one site (content-addressed, so it is shared across studies) and its country."""
    name = rec.text(site.get("facility"), _FACILITY)
    address: dict[str, Any] = {}
    for key, element, path in _ADDRESS:
        value = site.get(key)
        if value is not None and (value := rec.text(value, path)) is not None:
            address[element] = value
    body: dict[str, Any] = {"status": "active"}
    if name is not None:
        body["name"] = " ".join(name.split())
    if address:
        body["address"] = {"use": "work", "type": "physical", **address}
    geo = rec.obj(site.get("geoPoint"), f"{_P}.geoPoint")
    if geo is not None:
        lat = rec.number(geo.get("lat"), f"{_P}.geoPoint.lat")
        lon = rec.number(geo.get("lon"), f"{_P}.geoPoint.lon")
        if lat is not None and lon is not None:
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                body["position"] = {"longitude": lon, "latitude": lat}
            else:
                rec.warn(f"{_P}.geoPoint", "latitude/longitude out of range, dropped")
    if len(body) == 1:
        return None  # nothing identifies the site
    res = {"resourceType": "Location", "id": content_id("loc", body), **body}
    display = body.get("name") or ", ".join(str(v) for k, v in address.items())
    return {"reference": out.add(res), "display": display}, address.get("country")


def sites(rec: Record, out: ResourceSet) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ResearchStudy.site references, each carrying this study's status and contacts at that site, and the
    ResearchStudy.location countries)."""
    refs: list[dict[str, Any]] = []
    countries: dict[str, None] = {}
    for site in rec.objs(rec.node(PATH), PATH):
        found = _location(rec, site, out)
        if found is None:
            rec.warn(PATH, "a site without facility, address or position was skipped")
            continue
        ref, country = found
        if country:
            countries.setdefault(country)
        # Recruitment status and contacts belong to this study at this site, not to the shared Location: they
        # sit on the study's reference to it (Reference.extension), so status and place stay together.
        exts: list[dict[str, Any]] = []
        status = field_concept(rec, site, "status", f"{PATH}[].status")
        if status is not None:
            exts.append({"url": rec.tables.ext("site-status"), "valueCodeableConcept": status})
        cpath = f"{PATH}[].contacts"
        for contact in rec.objs(site.get("contacts"), cpath):
            detail = contact_detail(rec, contact, cpath + "[]")
            if detail is not None:
                exts.append({"url": rec.tables.ext("site-contact"), "valueContactDetail": detail})
        refs.append({"extension": exts, **ref} if exts else ref)
    return refs, [{"text": c} for c in countries]
