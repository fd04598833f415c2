"""The one string normaliser shared by indexing and querying (https://hl7.org/fhir/R4/search.html#string)."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


@lru_cache(maxsize=65536)
def normalize(value: str) -> str:
    """Casefold and strip accents, so 'Émile' and 'emile' index and match alike."""
    if value.isascii():
        # The fast path covers most data: no combining marks can appear in ASCII.
        return value.casefold()
    stripped = _combining_marks().sub("", unicodedata.normalize("NFKD", value))
    return unicodedata.normalize("NFC", stripped.casefold())


@lru_cache(maxsize=1)
def _combining_marks() -> re.Pattern[str]:
    """Every code point ``unicodedata.combining`` reports, as one character class: one regex pass instead of a
    Python test per character (long eligibility criteria often hold a single non-ASCII sign)."""
    points = [c for c in range(0x110000) if unicodedata.combining(chr(c))]
    ranges, start, prev = [], points[0], points[0]
    for c in points[1:]:
        if c != prev + 1:
            ranges.append((start, prev))
            start = c
        prev = c
    ranges.append((start, prev))
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")
