"""Places a person types: a US ZIP code or "latitude, longitude", resolved offline to a point for ``near``
searches (https://hl7.org/fhir/R4/location.html#positional).

ZIP codes come from the ``zipcodes`` package (MIT), whose table of about 42,000 US ZIP codes with their
centre points ships inside its wheel: no network at run time. Shared by the trial finder pages and ``$match``
(its ``zipCode`` input). Errors are ``InvalidRequest`` naming the caller's parameter, so each caller reports them
in its own terms (a page message, or an OperationOutcome).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from .errors import InvalidRequest

_ZIP = re.compile(r"^\s*(\d{5})(?:-\d{4})?\s*$")
_LAT_LON = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*[,;| ]\s*([+-]?\d+(?:\.\d+)?)\s*$")
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Place:
    latitude: float
    longitude: float
    label: str  # what to show: "Bethesda, MD 20892" or "39.0, -77.1"


def resolve_zip(code: str, parameter: str = "zip") -> Place:
    """The centre of a US ZIP code (5 digits, or ZIP+4); an unknown or malformed one is an InvalidRequest."""
    found = _ZIP.match(code or "")
    if found is None:
        raise InvalidRequest(f"{code.strip()!r} is not a US ZIP code (five digits, such as 20892)",
                             expression=parameter)
    import zipcodes  # its table loads on first use (about a second): warm() does it at start-up

    with _lock:  # the table is built once; concurrent first calls would each build it
        rows = zipcodes.matching(found.group(1))
    for row in rows:
        try:
            lat, lon = float(row["lat"]), float(row["long"])
        except (KeyError, TypeError, ValueError):
            continue
        label = f"{row.get('city', '')}, {row.get('state', '')} {found.group(1)}".strip(", ")
        return Place(lat, lon, label)
    raise InvalidRequest(f"The ZIP code {found.group(1)} is not a known US ZIP code", expression=parameter)


def parse_point(text: str, parameter: str = "point") -> Place:
    """"latitude, longitude" in decimal degrees (WGS84), within range."""
    found = _LAT_LON.match(text or "")
    if found is None:
        raise InvalidRequest(f"{text.strip()!r} is not a latitude and longitude such as 39.0, -77.1",
                             expression=parameter)
    lat, lon = float(found.group(1)), float(found.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidRequest(f"{lat}, {lon} is out of range (latitude -90 to 90, longitude -180 to 180)",
                             expression=parameter)
    return Place(lat, lon, f"{lat:g}, {lon:g}")


def resolve(text: str, parameter: str = "location") -> Place:
    """A ZIP code or a latitude/longitude pair, whichever the text is."""
    if _ZIP.match(text or "") or re.fullmatch(r"\s*\d+\s*", text or ""):
        return resolve_zip(text, parameter)
    return parse_point(text, parameter)


def warm() -> None:
    """Load the ZIP table now (in a background thread at start-up) rather than on the first search."""
    try:
        resolve_zip("20892")
    except InvalidRequest:  # pragma: no cover - the table always holds it
        pass


__all__ = ["Place", "parse_point", "resolve", "resolve_zip", "warm"]
