"""Numbers with the implicit range of their precision (https://hl7.org/fhir/R4/search.html#number).

"100" covers [99.5, 100.5]: half a unit of the last significant digit either side. A JSON number read as a
float has lost trailing zeros ("1.50" arrives as 1.5), so indexed precision is that of its shortest repr.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation


class NumberFormatError(ValueError):
    pass


def number_range(value: str | int | float | Decimal) -> tuple[float, float, float]:
    """(value, low, high) for a number written with some precision."""
    if isinstance(value, bool):
        raise NumberFormatError(f"not a number: {value!r}")
    if isinstance(value, float):
        text = repr(value)
    else:
        text = str(value).strip()
    try:
        dec = Decimal(text)
    except InvalidOperation as exc:
        raise NumberFormatError(f"not a number: {value!r}") from exc
    if not dec.is_finite():
        raise NumberFormatError(f"not a number: {value!r}")
    exponent = dec.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5).scaleb(exponent - 1)
    return float(dec), float(dec - half), float(dec + half)
