"""Shared value helpers: dates as intervals, number precision, normalisation, escaping, geometry, references."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from fhirtrial.search.dates import DateFormatError, date_interval
from fhirtrial.search.escape import escape, split_escaped, unescape
from fhirtrial.search.geo import bounding_box, haversine_km
from fhirtrial.search.normalize import normalize
from fhirtrial.search.numbers import NumberFormatError, number_range
from fhirtrial.search.references import parse_reference

UTC = timezone.utc


@pytest.mark.parametrize(("text", "low", "high"), [
    ("2020", datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    ("2020-02", datetime(2020, 2, 1, tzinfo=UTC), datetime(2020, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)),
    ("2021-02-03", datetime(2021, 2, 3, tzinfo=UTC), datetime(2021, 2, 3, 23, 59, 59, 999999, tzinfo=UTC)),
    ("2021-02-03T10:00:00Z", datetime(2021, 2, 3, 10, tzinfo=UTC), datetime(2021, 2, 3, 10, 0, 0, 999999, tzinfo=UTC)),
    ("2021-02-03T10:00:00+02:00", datetime(2021, 2, 3, 8, tzinfo=UTC),
     datetime(2021, 2, 3, 8, 0, 0, 999999, tzinfo=UTC)),
    ("2021-02-03T10:00:00.5-01:30", datetime(2021, 2, 3, 11, 30, 0, 500000, tzinfo=UTC),
     datetime(2021, 2, 3, 11, 30, 0, 599999, tzinfo=UTC)),
    ("2021-02-03T10:07", datetime(2021, 2, 3, 10, 7, tzinfo=UTC), datetime(2021, 2, 3, 10, 7, 59, 999999, tzinfo=UTC)),
    # No timezone: taken as UTC.
    ("2021-02-03T10:00:00", datetime(2021, 2, 3, 10, tzinfo=UTC), datetime(2021, 2, 3, 10, 0, 0, 999999, tzinfo=UTC)),
])
def test_date_intervals(text: str, low: datetime, high: datetime) -> None:
    assert date_interval(text) == (low, high)


@pytest.mark.parametrize("bad", ["", "20", "2020-13", "2020-02-30", "2020-1-1", "2020-01-01T25:00:00Z",
                                 "2020-01-01 10:00", "2020x", "'; DROP TABLE x;--"])
def test_bad_dates(bad: str) -> None:
    with pytest.raises(DateFormatError):
        date_interval(bad)


@pytest.mark.parametrize(("value", "expected"), [
    ("100", (100.0, 99.5, 100.5)), ("100.0", (100.0, 99.95, 100.05)), ("0.1", (0.1, 0.05, 0.15)),
    ("1e2", (100.0, 50.0, 150.0)), ("-5", (-5.0, -5.5, -4.5)), (7, (7.0, 6.5, 7.5)), (2.5, (2.5, 2.45, 2.55)),
])
def test_number_precision(value: str | float, expected: tuple[float, float, float]) -> None:
    assert number_range(value) == pytest.approx(expected)


@pytest.mark.parametrize("bad", ["abc", "", "nan", "inf", True])
def test_bad_numbers(bad: object) -> None:
    with pytest.raises(NumberFormatError):
        number_range(bad)  # type: ignore[arg-type]


def test_normalize_casefolds_and_strips_accents() -> None:
    assert normalize("Émile Zoë MÜLLER") == "emile zoe muller"
    assert normalize("Straße") == "strasse"
    assert normalize("São Paulo") == normalize("sao paulo") == "sao paulo"
    assert normalize("ﬁ") == "fi"  # NFKD folds compatibility forms


def test_escaping_round_trip() -> None:
    assert split_escaped(r"a\,b,c", ",") == [r"a\,b", "c"]
    assert split_escaped(r"sys\|x|co\|de", "|", 1) == [r"sys\|x", r"co\|de"]
    assert split_escaped(r"a\\,b", ",") == [r"a\\", "b"]
    assert unescape(r"a\,b\|c\$d\\e") == r"a,b|c$d\e"
    assert unescape(escape("x,y|z$w\\")) == "x,y|z$w\\"


def test_haversine_and_bounding_box() -> None:
    # Sao Paulo -> Rio de Janeiro is about 360 km.
    assert 355 < haversine_km(-23.5505, -46.6333, -22.9068, -43.1729) < 365
    assert haversine_km(10, 20, 10, 20) == 0
    box = bounding_box(-23.5505, -46.6333, 500)
    assert box.contains(-22.9068, -43.1729) and not box.contains(0, 0)
    # Every point within the distance is inside the box, also at high latitude.
    for lat, lon in [(60, 10), (-70, 170), (0, 179.9)]:
        b = bounding_box(lat, lon, 300)
        for bearing in range(0, 360, 15):
            d = 299 / 6371.0088
            la, lo, br = math.radians(lat), math.radians(lon), math.radians(bearing)
            la2 = math.asin(math.sin(la) * math.cos(d) + math.cos(la) * math.sin(d) * math.cos(br))
            lo2 = lo + math.atan2(math.sin(br) * math.sin(d) * math.cos(la), math.cos(d) - math.sin(la) * math.sin(la2))
            lon2 = (math.degrees(lo2) + 540) % 360 - 180
            assert b.contains(math.degrees(la2), lon2), (lat, lon, bearing)
    assert bounding_box(89.9, 0, 50).min_longitude == -180.0
    wrap = bounding_box(0, 179.9, 100)
    assert wrap.min_longitude > wrap.max_longitude and wrap.contains(0, -179.9)


def test_parse_reference() -> None:
    assert parse_reference("Patient/123") == parse_reference("Patient/123/_history/2")
    local = parse_reference("Patient/123")
    assert local is not None and (local.target_type, local.target_id, local.url) == ("Patient", "123", None)
    on_base = parse_reference("https://fhir.example.org/fhir/Patient/9", "https://fhir.example.org/fhir/")
    assert on_base is not None and (on_base.target_type, on_base.target_id) == ("Patient", "9")
    external = parse_reference("https://other.org/fhir/Patient/9", "https://fhir.example.org/fhir")
    assert external is not None and (external.target_type, external.target_id, external.url) == (
        "Patient", None, "https://other.org/fhir/Patient/9")
    assert parse_reference("#contained") is None
    canonical = parse_reference("http://hl7.org/fhir/ValueSet/x")
    assert canonical is not None and canonical.url == "http://hl7.org/fhir/ValueSet/x"
    urn = parse_reference("urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0")
    assert urn is not None and urn.target_id is None and urn.url.startswith("urn:uuid:")
