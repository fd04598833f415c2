"""FHIR date/dateTime/instant values as UTC intervals by precision (https://hl7.org/fhir/R4/search.html#date).

A value without a timezone is taken as UTC: the spec leaves it to the server, and UTC keeps index and query
consistent whatever the host's zone is.
"""
from __future__ import annotations

import re
from calendar import monthrange
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
# Open ends of a Period (and the bounds of "everything") are the extreme representable instants.
MIN_DATETIME = datetime(1, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?::(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


class DateFormatError(ValueError):
    pass


def date_interval(text: str) -> tuple[datetime, datetime]:
    """The closed UTC interval [low, high] covered by a partial date/dateTime/instant string."""
    m = _DATE.match(text)
    if m is None:
        raise DateFormatError(f"not a FHIR date: {text!r}")
    try:
        return _interval(m)
    except ValueError as exc:  # e.g. month 13, Feb 30
        raise DateFormatError(f"not a FHIR date: {text!r}") from exc


def _interval(m: re.Match[str]) -> tuple[datetime, datetime]:
    year = int(m["y"])
    if m["m"] is None:
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    month = int(m["m"])
    if m["d"] is None:
        last = monthrange(year, month)[1]
        return (datetime(year, month, 1, tzinfo=UTC),
                datetime(year, month, last, 23, 59, 59, 999999, tzinfo=UTC))
    day = int(m["d"])
    if m["H"] is None:
        return datetime(year, month, day, tzinfo=UTC), datetime(year, month, day, 23, 59, 59, 999999, tzinfo=UTC)
    tz = _zone(m["tz"])
    hour, minute = int(m["H"]), int(m["M"] or 0)
    if m["M"] is None:
        low, width = datetime(year, month, day, hour, tzinfo=tz), timedelta(hours=1)
    elif m["S"] is None:
        low, width = datetime(year, month, day, hour, minute, tzinfo=tz), timedelta(minutes=1)
    else:
        frac = m["f"] or ""
        micro = int((frac + "000000")[:6]) if frac else 0
        low = datetime(year, month, day, hour, minute, int(m["S"]), micro, tzinfo=tz)
        # Sub-microsecond digits cannot be represented; their precision collapses to one microsecond.
        width = timedelta(microseconds=10 ** (6 - len(frac))) if 0 < len(frac) <= 6 else (
            timedelta(seconds=1) if not frac else timedelta(microseconds=1))
    low = low.astimezone(UTC)
    return low, low + width - timedelta(microseconds=1)


def _zone(text: str | None) -> timezone:
    if text is None or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))
