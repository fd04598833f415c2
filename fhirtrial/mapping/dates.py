"""CT.gov dates (yyyy, yyyy-MM, yyyy-MM-dd) as FHIR date/dateTime, https://hl7.org/fhir/R4/datatypes.html#date."""
from __future__ import annotations

import re

from .record import Record

_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")


def fhir_date(rec: Record, value: str | None, path: str) -> str | None:
    """The date if FHIR can carry it; otherwise a warning and None (never a guess)."""
    if value is None:
        return None
    if _DATE.match(value):
        return value
    rec.warn(path, f"not a yyyy[-MM[-dd]] date, dropped: {value[:40]!r}")
    return None


def instant(day: str | None) -> str | None:
    """A full day as the instant at its start (UTC); partial dates are not instants."""
    if day is not None and len(day) == 10:
        return f"{day}T00:00:00Z"
    return None
