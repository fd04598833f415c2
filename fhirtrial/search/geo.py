"""Great-circle distance and bounding boxes for Location ``near`` (https://hl7.org/fhir/R4/location.html#positional).

The SQL layer narrows candidates with the bounding box on indexed (latitude, longitude), then keeps those
whose haversine distance is within the radius.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG), as WGS84 distances are usually approximated
# Accepted distance units (plain and UCUM) in kilometres.
UNITS_KM: dict[str, float] = {
    "km": 1.0, "m": 0.001, "mi": 1.609344, "[mi_i]": 1.609344, "mi_i": 1.609344, "[mi_us]": 1.609347219,
    "[nmi_i]": 1.852, "nmi": 1.852, "[ft_i]": 0.0003048, "ft": 0.0003048, "[yd_i]": 0.0009144,
}


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """Latitude/longitude limits; when it crosses the antimeridian, ``min_longitude > max_longitude``."""

    min_latitude: float
    max_latitude: float
    min_longitude: float
    max_longitude: float

    def contains(self, latitude: float, longitude: float) -> bool:
        if not self.min_latitude <= latitude <= self.max_latitude:
            return False
        if self.min_longitude <= self.max_longitude:
            return self.min_longitude <= longitude <= self.max_longitude
        return longitude >= self.min_longitude or longitude <= self.max_longitude


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_box(latitude: float, longitude: float, distance_km: float) -> BoundingBox:
    """A box containing every point within ``distance_km`` of the centre (never too small)."""
    dlat = math.degrees(distance_km / EARTH_RADIUS_KM)
    min_lat, max_lat = latitude - dlat, latitude + dlat
    if min_lat <= -90 or max_lat >= 90 or math.cos(math.radians(latitude)) < 1e-9:
        # Near a pole every longitude can be within reach.
        return BoundingBox(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)
    # Widest longitude span is at the latitude of the tangent point, not at the centre.
    ratio = math.sin(distance_km / EARTH_RADIUS_KM) / math.cos(math.radians(latitude))
    dlon = 180.0 if ratio >= 1 else math.degrees(math.asin(ratio))
    min_lon, max_lon = longitude - dlon, longitude + dlon
    if dlon >= 180.0:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0)
    if min_lon < -180.0:
        min_lon += 360.0
    if max_lon > 180.0:
        max_lon -= 360.0
    return BoundingBox(min_lat, max_lat, min_lon, max_lon)
