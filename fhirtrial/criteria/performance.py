"""Performance-status scales in criterion text (ECOG, Karnofsky, Lansky, NYHA class) read as the allowed scores.

https://hl7.org/fhir/R4/datatypes.html#Range
"""
from __future__ import annotations

import re

from .table import Measure

_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_SCORE = r"(?:\d{1,3}(?![\d.,]\d)|iv|iii|ii|i)(?![\w])"
_FILLER = re.compile(r"(?:\s|[:(),\-]|\b(?:performance|status|scale|score|scores|of|grade|class|functional|ps|must|be|is"
                     r"|should|have|has|a|an|the|at|screening|kps|ecog|nyha|lps|who|level)\b)*", re.IGNORECASE)
_COMPARED = re.compile(rf"(?P<c>≤|<=|=<|≥|>=|=>|<|>|less than or equal to|greater than or equal to|at least|at most|"
                       rf"no more than|not more than|less than|greater than|more than|above|below|under|over)\s*"
                       rf"(?P<a>{_SCORE})\s*%?", re.IGNORECASE)
_SPAN = re.compile(rf"(?P<a>{_SCORE})\s*%?\s*(?:-|–|to|through)\s*(?P<b>{_SCORE})\s*%?", re.IGNORECASE)
_SET = re.compile(rf"(?P<a>{_SCORE})\s*%?(?P<more>(?:\s*(?:,|or|and|/)\s*(?:or\s+)?{_SCORE}\s*%?)+)", re.IGNORECASE)
_POST = re.compile(rf"(?P<a>{_SCORE})\s*%?\s*(?:or|and)\s+(?P<d>less|lower|below|better|fewer|more|higher|above|greater"
                   rf"|worse)\b", re.IGNORECASE)
_ONE = re.compile(rf"(?P<a>{_SCORE})\s*%?", re.IGNORECASE)
_UP = {">=", ">", "at least", "greater than or equal to", "greater than", "more than", "above", "over", "=>"}


def _score(text: str, measure: Measure) -> float | None:
    t = text.lower()
    if t in _ROMAN:
        return float(_ROMAN[t]) if measure.roman else None
    value = float(t)
    if measure.low is not None and measure.high is not None and not measure.low <= value <= measure.high:
        return None
    return value


def scale_after(text: str, pos: int, limit: int, measure: Measure) -> tuple[float, float, int, int] | None:
    """(lowest, highest allowed score, start, end) stated after a mention of a performance scale."""
    assert measure.low is not None and measure.high is not None
    step = 10.0 if measure.high >= 100 else 1.0
    end = min(limit, pos + 80)
    stop = re.search(r";|\.\s|\n|\buse\b|\bfor\b", text[pos:end])
    segment = text[:pos + stop.start()] if stop else text[:end]
    at = _FILLER.match(segment, pos).end()
    for pattern in (_COMPARED, _SPAN, _POST, _SET, _ONE):
        m = pattern.match(segment, at)
        if m is None:
            continue
        a = _score(m.group("a"), measure)
        if a is None:
            return None
        if pattern is _COMPARED:
            c = m.group("c").lower()
            up = c in _UP or c.startswith(">") or c.startswith("≥")
            strict = c in ("<", ">", "less than", "greater than", "more than", "above", "below", "under", "over")
            low, high = (a + step if strict else a, measure.high) if up else (measure.low, a - step if strict else a)
        elif pattern is _SPAN:
            b = _score(m.group("b"), measure)
            if b is None:
                return None
            low, high = min(a, b), max(a, b)
        elif pattern is _POST:
            better_low = m.group("d").lower() in ("less", "lower", "below", "better", "fewer")
            # ECOG and NYHA: lower is better; Karnofsky and Lansky: higher is better ("70 or more").
            low, high = (measure.low, a) if better_low else (a, measure.high)
        elif pattern is _SET:
            values = [_score(v, measure) for v in re.findall(_SCORE, m.group(0), re.IGNORECASE)]
            if any(v is None for v in values):
                return None
            low, high = min(values), max(values)  # type: ignore[type-var]
        else:
            low = high = a
        if low > high:
            return None
        return float(low), float(high), m.start(), m.end()
    return None
