"""US ZIP codes and latitude/longitude pairs resolved offline (fhirtrial/places.py)."""
from __future__ import annotations

import pytest

from fhirtrial.errors import InvalidRequest
from fhirtrial.places import parse_point, resolve, resolve_zip


def test_a_zip_code_is_its_town_and_centre() -> None:
    place = resolve_zip("20892")  # the NIH campus, Bethesda
    assert place.label == "Bethesda, MD 20892"
    assert abs(place.latitude - 39.0) < 0.1 and abs(place.longitude + 77.1) < 0.1
    assert resolve_zip("20892-0001").label == place.label  # ZIP+4


def test_text_is_a_zip_or_a_point() -> None:
    assert resolve(" 10001 ").label.startswith("New York, NY")
    point = resolve("39.5, -77.25")
    assert (point.latitude, point.longitude) == (39.5, -77.25)
    assert parse_point("-33.9 151.2").longitude == 151.2


@pytest.mark.parametrize("text, words", [("00000", "not a known US ZIP code"), ("123", "not a US ZIP code"),
                                         ("abc", "not a latitude and longitude"), ("91, 10", "out of range"),
                                         ("10, 181", "out of range")])
def test_bad_places_name_the_parameter(text: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        resolve(text, "zipCode")
    assert words in caught.value.diagnostics
    assert caught.value.issues[0].expression == ("zipCode",)
