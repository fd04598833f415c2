"""The one string normaliser shared by indexing and querying (https://hl7.org/fhir/R4/search.html#string)."""
from __future__ import annotations

import unicodedata
from functools import lru_cache


@lru_cache(maxsize=65536)
def normalize(value: str) -> str:
    """Casefold and strip accents, so 'Émile' and 'emile' index and match alike."""
    if value.isascii():
        # The fast path covers most data: no combining marks can appear in ASCII.
        return value.casefold()
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped.casefold())
