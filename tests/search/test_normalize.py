"""The string normaliser strips exactly the combining marks (https://hl7.org/fhir/R4/search.html#string)."""
from __future__ import annotations

import unicodedata

from hypothesis import given, strategies as st

from fhirtrial.search.normalize import normalize


def _by_definition(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped.casefold())


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_same_as_the_per_character_definition(value: str) -> None:
    assert normalize(value) == _by_definition(value)


def test_accents_and_case() -> None:
    assert normalize("Émile Zoë ≥ 18 AÑOS") == "emile zoe ≥ 18 anos"
    assert normalize("Ǆ") == "dz"  # compatibility decomposition: D, Z and a caron, which goes
