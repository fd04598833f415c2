"""Numeric thresholds in criterion text: comparator, value or range, UCUM unit, multiples of the normal limits.

https://hl7.org/fhir/R4/datatypes.html#Quantity (comparator), https://hl7.org/fhir/R4/datatypes.html#Range
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .table import Measure
from .units import commensurable, to_ucum

NUM = r"\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:[.,]\d+)?|\.\d+"
# Comparator words and symbols, longest first, each with its FHIR Quantity.comparator ("" = exactly).
_PREFIX = [
    (">=", r"≥|>=|=>|≧|⩾|greater than or equal to|greater than or equal|more than or equal to|equal to or greater than"
           r"|equal or greater than|equal to or more than|equal or more than|at least|not less than|no less than"
           r"|not lower than|minimum of|minimum|min\.?|over or equal to"),
    ("<=", r"≤|<=|=<|≦|⩽|less than or equal to|less than or equal|equal to or less than|equal or less than"
           r"|equal to or lower than|lower than or equal to|at most|no more than|not more than|not greater than"
           r"|not exceeding|not to exceed|does not exceed|maximum of|maximum|max\.?|up to"),
    (">", r">|greater than|more than|higher than|above|over|exceeding|exceeds|in excess of|superior to|elevated above"),
    ("<", r"<|less than|lower than|below|under|inferior to|fewer than"),
    ("", r"=|of|is|:"),
]


def _bounded(alts: str) -> str:
    """Word comparators must start a word ("over" is not inside "recovery"); symbols need no boundary."""
    return "|".join(rf"\b{a}" if a[:1].isalpha() else a for a in alts.split("|"))


_COMP = "|".join(f"(?P<c{i}>{_bounded(alts)})" for i, (_, alts) in enumerate(_PREFIX))
_POSTFIX = re.compile(r"\s*(?:or|and)\s+(?P<dir>more|greater|higher|above|over|older|less|lower|below|under|fewer|younger)"
                      r"\b", re.IGNORECASE)
_NORMAL = (r"(?:the\s+)?(?:institutional\s+|local\s+|laboratory\s+|site\s+)?(?:{which}|{word}\s+limits?\s+of\s+(?:the\s+)?"
           r"(?:normal|reference)(?:\s+(?:range|limits?|values?))?|{word}\s+normal\s+(?:limits?|values?|range)|{word}"
           r"\s+limits?\s+of\s+(?:the\s+)?(?:normal|reference)\s+range)")
_ULN = re.compile(r"\s*(?:x|×|X|\*|times|fold|-fold)?\s*(?:the\s+)?" + _NORMAL.format(which="ULN|ULRR|UNL", word="upper")
                  + r"\b", re.IGNORECASE)
_LLN = re.compile(r"\s*(?:x|×|X|\*|times|fold|-fold)?\s*(?:the\s+)?" + _NORMAL.format(which="LLN|LLRR|LNL", word="lower")
                  + r"\b", re.IGNORECASE)
_BARE_ULN = re.compile(rf"(?:{_COMP})\s*" + _NORMAL.format(which="ULN|ULRR|UNL", word="upper") + r"\b", re.IGNORECASE)
_AT = re.compile(rf"(?:(?<![A-Za-z])(?P<between>between|from)\s+)?(?:(?:{_COMP})\s*)?(?P<n1>{NUM})",
                 re.IGNORECASE)
_RANGE_TAIL = re.compile(rf"\s*(?:-|–|—|to|and)\s*(?P<n2>{NUM})", re.IGNORECASE)
_UNIT_STOP = re.compile(r"[\s,;()\[\]]")
# "≥ 3 kg and < 40 kg": a lower bound closed by an upper one makes a range.
_UPPER = re.compile(rf"\s*(?:and|,|but)\s*(?:{_bounded(_PREFIX[1][1])}|{_bounded(_PREFIX[3][1])})\s*(?P<n2>{NUM})",
                    re.IGNORECASE)
_BLOCK = re.compile(r";|\.\s|\.$|\n|\bif\b|\bunless\b|\bexcept\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Threshold:
    comparator: str | None  # FHIR comparator (<, <=, >=, >) or None for "exactly" / a range
    value: float | None
    low: float | None
    high: float | None
    unit: str | None  # UCUM
    uln: float | None  # the threshold is this multiple of the upper limit of normal
    lln: float | None
    start: int
    end: int


def number(text: str, measure: Measure | None = None, unit: str | None = None) -> float | None:
    """A number as criteria write it: 1,500 / 1.500 (thousands) / 1,5 (decimal comma) / 100 000."""
    t = text.replace("\u00a0", " ").replace("\u202f", " ")
    if re.fullmatch(r"\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?", t):
        return float(t.replace(",", "").replace(" ", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", t):
        grouped = float(t.replace(".", ""))
        plain = float(t) if t.count(".") == 1 else None
        implied = [(u, lo, hi) for u, lo, hi in (measure.implied if measure else ()) if unit in (None, u)]
        if plain is None or any(lo <= grouped <= hi and not lo <= plain <= hi for _, lo, hi in implied):
            return grouped  # "100.000/µl": thousands, the way many European records write counts
        return plain
    if re.fullmatch(r"\d+,\d{1,2}", t):
        return float(t.replace(",", "."))
    try:
        return float(t)
    except ValueError:
        return None


def _unit(text: str, pos: int, measure: Measure) -> tuple[str | None, int]:
    """The longest unit after ``pos`` (up to four words) that converts to one of the measure's units."""
    raw = text[pos:pos + 40]
    lead = len(raw) - len(raw.lstrip())
    if lead > 1:
        return None, pos
    cuts = [m.start() for m in _UNIT_STOP.finditer(raw, lead)] + [len(raw)]
    cuts = [c for c in cuts if c > lead][:8]
    for cut in reversed(cuts):
        code = to_ucum(raw[lead:cut])
        if code is not None and any(commensurable(code, u) for u in measure.units):
            return code, pos + cut
    return None, pos


def _comparator(m: re.Match[str]) -> str | None:
    for i, (comp, _) in enumerate(_PREFIX):
        if m.group(f"c{i}") is not None:
            return comp
    return None


def _implied(measure: Measure, value: float | None) -> str | None:
    if value is None:
        return None
    return next((u for u, lo, hi in measure.implied if lo <= value <= hi), None)


def threshold_after(text: str, pos: int, limit: int, measure: Measure) -> Threshold | None:
    """The first threshold stated after ``text[:pos]`` (a mention of ``measure``) and before ``limit``."""
    window_end = min(limit, pos + 90)
    block = _BLOCK.search(text, pos, window_end)
    if block is not None:
        window_end = block.start()
    m = _AT.search(text, pos, window_end)
    bare = _BARE_ULN.search(text, pos, m.start() if m else window_end)
    if bare is not None and bare.start() - pos <= 45 and not re.search(r"\d", text[pos:bare.start()]):
        return Threshold(_comparator(bare) or None, None, None, None, None, 1.0, None, bare.start(), bare.end())
    if m is None or m.start() - pos > 45 or re.search(r"\d", text[pos:m.start()]):
        return None
    comp = _comparator(m)
    if m.group("n1") and m.start("n1") > 0 and text[m.start("n1") - 1].isalpha():
        return None  # "T1", "CD4" belong to words
    v1 = number(m.group("n1"), measure)
    end = m.end()
    uln = _ULN.match(text, end)
    if uln is not None:
        return Threshold(comp or None, None, None, None, None, v1, None, m.start(), uln.end())
    lln = _LLN.match(text, end)
    if lln is not None:
        return Threshold(comp or None, None, None, None, None, None, v1, m.start(), lln.end())
    unit, end = _unit(text, end, measure)
    if unit is not None:
        v1 = number(m.group("n1"), measure, unit)
    rng = _RANGE_TAIL.match(text, end) if (m.group("between") or not comp) else None
    if rng is not None:
        unit2, end2 = _unit(text, rng.end(), measure)
        v2 = number(rng.group("n2"), measure, unit or unit2)
        unit = unit or unit2
        if unit is None and not measure.unitless:
            unit = _implied(measure, v2)
        if v1 is None or v2 is None or v1 > v2 or (unit is None and not measure.unitless):
            return None
        return Threshold(None, None, v1, v2, unit, None, None, m.start(), max(end2, rng.end()))
    if m.group("between"):
        return None
    post = _POSTFIX.match(text, end)
    if post is not None and not comp:
        comp = ">=" if post.group("dir").lower() in ("more", "greater", "higher", "above", "over", "older") else "<="
        end = post.end()
    if not comp:
        return None  # a bare number next to a lab name says nothing about its direction
    if unit is None and not measure.unitless:
        unit = _implied(measure, v1)
        if unit is None:
            return None
    upper = _UPPER.match(text, end) if comp in (">", ">=") else None
    if upper is not None and upper.end() <= window_end:
        unit2, end2 = _unit(text, upper.end(), measure)
        v2 = number(upper.group("n2"), measure, unit2 or unit)
        if v1 is not None and v2 is not None and v1 < v2 and unit2 in (None, unit):
            return Threshold(None, None, v1, v2, unit, None, None, m.start(), max(end2, upper.end()))
    return Threshold(comp, v1, None, None, unit, None, None, m.start(), end)
