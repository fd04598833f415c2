"""CT.gov age limits ("18 Years", "6 Months", "N/A") as UCUM Quantities, https://hl7.org/fhir/R4/datatypes.html#Age."""
from __future__ import annotations

import re
from typing import Any

from .record import Record

_AGE = re.compile(r"^(\d{1,4}(?:\.\d{1,3})?)\s*([A-Za-z]+)$")
UCUM = "http://unitsofmeasure.org"


def age_quantity(rec: Record, value: str | None, path: str) -> dict[str, Any] | None:
    """The age limit as a Quantity; None for absent or "N/A" (open-ended); a warning for anything unreadable."""
    if value is None or value.upper() in ("N/A", "NA", "NONE"):
        return None
    match = _AGE.match(value)
    table = rec.tables.codes["ageUnit"]
    if match is None or match.group(2) not in table.map:
        unit = match.group(2) if match else None
        fixed = unit.capitalize() if unit else None
        if match is None or fixed not in table.map:
            rec.warn(path, f"age {value[:40]!r} not understood; limit left open")
            return None
        unit = fixed
    else:
        unit = match.group(2)
    number = match.group(1)
    amount: int | float = float(number) if "." in number else int(number)
    return {"value": amount, "unit": unit.lower(), "system": UCUM, "code": table.map[unit]}
