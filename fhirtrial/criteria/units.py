"""Units written in criteria text read as UCUM codes, checked and converted by a UCUM library, https://ucum.org/ucum.

Parsing and conversion are ucumvert's (the UCUM grammar built from the official ucum-essence.xml it ships, and pint
with UCUM's unit definitions: offline, MIT/BSD). This module only rewrites the registry's spellings ("x10^9/L",
"mg/dl", "cells/mm³", "mmHg", "ml/min/1.73m2") into UCUM syntax before asking the library.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

UCUM_SYSTEM = "http://unitsofmeasure.org"

# Spelling -> UCUM rewrites, applied in order to a lower-cased unit text. Only syntax, never a conversion factor.
_REWRITES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"[µμ]", "u"),
    (r"mcg", "ug"), (r"mcl\b", "ul"), (r"\bcmm\b", "mm3"), (r"\bcu\.?\s?mm\b", "mm3"),
    (r"³", "3"), (r"²", "2"), (r"⁹", "9"), (r"⁶", "6"), (r"\^", ""),
    (r"\s+", ""),
    (r"^(?:[x×*]?)10(?:\*|e)?(\d{1,2})/", r"10*\1/"),  # x10^9/L, 10E9/L, ×10⁹/l
    (r"^giga/l$", "10*9/l"), (r"^(?:k|thou|thousand)/(ul|mm3)$", r"10*3/\1"),
    (r"^(?:cells?|copies|cp|elements?)/", r"{\g<0>}"),
    (r"^\{(cells?|elements?)/\}", "/"), (r"^\{(copies|cp)/\}", "{copies}/"),
    (r"^gm?/", "g/"), (r"/(\d?)dl$", r"/\1dL"), (r"^u/l$", "U/L"), (r"/([umnp]?)l$", r"/\1L"),
    (r"^ml/", "mL/"),
    (r"/min/1\.73(?:m2|sqm|squaremeters?)$", "/min/{1.73_m2}"), (r"/min/1\.73m$", "/min/{1.73_m2}"),
    (r"^mmhg$", "mm[Hg]"), (r"^(?:iu|ui)/", "[IU]/"), (r"^miu/", "m[IU]/"),
    (r"^msecs?$", "ms"), (r"^(?:bpm|beats/min|beatsperminute|/minute|breaths/min)$", "/min"),
    (r"^(?:lbs?|pounds?)$", "[lb_av]"), (r"^(?:°c|ºc|degc|c)$", "Cel"), (r"^kgs?$", "kg"),
    (r"^(?:years?|yrs?|yo)$", "a"), (r"^(?:months?|mos?)$", "mo"), (r"^(?:weeks?|wks?)$", "wk"),
    (r"^(?:days?)$", "d"), (r"^(?:hours?|hrs?)$", "h"), (r"^(?:seconds?|secs?)$", "s"),
    (r"^percent$", "%"),
))


@lru_cache(maxsize=1)
def _parser() -> Any:
    from ucumvert import get_ucum_parser

    return get_ucum_parser()


@lru_cache(maxsize=1)
def _registry() -> Any:
    from ucumvert import PintUcumRegistry

    return PintUcumRegistry()


@lru_cache(maxsize=4096)
def is_ucum(code: str) -> bool:
    """Whether ``code`` is a valid UCUM expression (full grammar)."""
    if not code:
        return False
    try:
        _parser().parse(code)
    except Exception:  # lark raises several kinds; any of them means "not UCUM"
        return False
    return True


@lru_cache(maxsize=4096)
def to_ucum(text: str) -> str | None:
    """The UCUM code of a unit as written in a criterion ("x10^9/L" -> "10*9/L"), or None when it is not one."""
    unit = text.strip().rstrip(".,;)")
    if unit in ("G/L", "G/l"):  # French laboratories write giga-cells per litre so; lower case g/L is grams
        return "10*9/L"
    unit = unit.lower()
    if not unit or len(unit) > 40:
        return None
    if unit == "%":
        return "%"
    for pattern, repl in _REWRITES:
        unit = pattern.sub(repl, unit)
    return unit if is_ucum(unit) else None


@lru_cache(maxsize=4096)
def _dimension(code: str) -> Any:
    try:
        return _registry().from_ucum(code).dimensionality
    except Exception:  # a valid UCUM code pint cannot represent (arbitrary units): not comparable
        return None


def commensurable(a: str, b: str) -> bool:
    """Whether two UCUM units measure the same kind of quantity (so one converts to the other)."""
    if a == b:
        return True
    da, db = _dimension(a), _dimension(b)
    return da is not None and da == db


def convert(value: float, source: str, target: str) -> float | None:
    """``value`` in UCUM unit ``source`` expressed in ``target``; None when they are not commensurable."""
    if source == target:
        return value
    affine = _affine(source, target)
    return None if affine is None else value * affine[0] + affine[1]


@lru_cache(maxsize=4096)
def _affine(source: str, target: str) -> tuple[float, float] | None:
    """(scale, offset) taking ``source`` to ``target``, asked of the library once per pair: every UCUM conversion
    is affine (offsets only for temperatures), and parsing a unit costs milliseconds."""
    if not commensurable(source, target):
        return None
    reg = _registry()
    a, b = reg.from_ucum(source), reg.from_ucum(target)

    def to_target(x: float) -> float:  # a Quantity built from its units, so offset units (Cel) convert too
        return float(reg.Quantity(x * a.magnitude, a.units).to(b.units).magnitude / b.magnitude)

    try:
        zero = to_target(0.0)
        return to_target(1.0) - zero, zero
    except Exception:  # pint refuses some pairs it deems commensurable (logarithmic units): not convertible
        return None
