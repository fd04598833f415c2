"""One coded part of a criterion judged against a patient's record: true, false, unknown or not computable.

The rules are documented once, in fhirtrial/criteria/README.md ("Judging"). Observation values are converted
through UCUM (units.py, ucumvert); concepts are compared through the vocabularies' hierarchy (concepts.subsumes).
https://hl7.org/fhir/R4/observation.html#value, https://hl7.org/fhir/R4/condition.html
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Callable

from .concepts import ICD10CM, MESH, OWN, Coding, Window
from .hierarchy import get_hierarchy, key_code
from .model import Part
from .patient import Fact, Measurement, PatientRecord
from .units import convert

NC = "not-computable"  # a part state beside True / False / None (unknown)
State = bool | None | str
_DAYS = {"min": 1 / 1440, "h": 1 / 24, "d": 1, "wk": 7, "mo": 30.4375, "a": 365.25}
_COMPARE: dict[str, Callable[[float, float], bool]] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                                                       ">=": operator.ge}
# Which resources can show a concept of each category.
_KINDS = {"condition": ("condition",), "finding": ("condition",), "therapy": ("medication", "procedure"),
          "procedure": ("procedure", "condition"), "substance": ("medication", "allergy"),
          "allergy": ("allergy",), "pregnancy": ("condition",), "breastfeeding": ("condition",)}
PREGNANCY_STATUS = "82810-3"  # LOINC Pregnancy status
_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Finding:
    state: State
    reason: str
    evidence: tuple[str, ...] = ()
    values: tuple[str, ...] = ()


def _num(value: float) -> str:
    return f"{value:g}"


@lru_cache(maxsize=50_000)
def _above(codings: tuple[Coding, ...]) -> frozenset[tuple[str, str]]:
    """Every (system, code) subsuming one of a fact's codings (``concepts.subsumes``, computed once per fact)."""
    hierarchy = get_hierarchy()
    return frozenset().union(*(hierarchy.above(c.system, c.code) for c in codings))


def age_in(birth: date, at: date, unit: str) -> float:
    """Completed units of age at ``at`` (UCUM a, mo, wk, d)."""
    if unit == "mo":
        return float((at.year - birth.year) * 12 + at.month - birth.month - (at.day < birth.day))
    if unit in ("wk", "d", "h", "min"):
        days = (at - birth).days
        return days / 7 if unit == "wk" else days * {"d": 1, "h": 24, "min": 1440}[unit]
    return float(at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day)))


def _window_days(window: Window) -> float:
    return window.value * _DAYS.get(window.unit, 365.25)


def _in_window(when: date | None, active: bool | None, window: Window | None, at: date) -> bool | None:
    if window is None:
        return True
    if when is None:  # an active problem is happening now: inside any "within the last ..." window
        return True if active and window.comparator == "<=" else None
    age_days = (at - when).days
    limit = _window_days(window)
    return age_days <= limit if window.comparator == "<=" else age_days >= limit


def _window_text(window: Window) -> str:
    word = "within" if window.comparator == "<=" else "at least"
    return f"{word} {_num(window.value)} {window.unit}"


def _matches(part: Part, fact: Fact) -> bool:
    """A coding of the part subsumes one of the fact's (a child concept satisfies its parent)."""
    return not _targets(part.codings).isdisjoint(_above(fact.codings))


@lru_cache(maxsize=50_000)
def _targets(codings: tuple[Coding, ...]) -> frozenset[tuple[str, str]]:
    return frozenset((t.system, key_code(t.system, t.code)) for t in codings if t.system in (MESH, ICD10CM, OWN))


def concept(part: Part, record: PatientRecord, at: date, closed: bool | None = None) -> Finding:
    """Conditions, therapies, procedures, substances: found in the record (with status and window), refuted,
    or absent (false only in a record declared complete)."""
    kinds = _KINDS.get(part.category, ("condition",))
    found = [f for f in record.facts if f.kind in kinds and _matches(part, f)]
    if part.status == "hypothetical":
        planned = [f for f in found if f.planned]
        if planned:
            return Finding(True, f"planned: {planned[0].text}", tuple(f.ref for f in planned))
        return Finding(NC, f"'{part.name}' is hypothetical (planned, conditional): not a recorded fact")
    refuted = [f for f in found if f.refuted]
    present = [f for f in found if not f.refuted and not f.planned]
    if part.status == "current":
        present = [f for f in present if f.active is not False]
    timed = [(f, _in_window(f.when, f.active, part.window, at)) for f in present]
    inside = [f for f, ok in timed if ok]
    if inside:
        where = f" ({_window_text(part.window)})" if part.window else ""
        return Finding(True, f"the record has {inside[0].text or part.name}{where}", tuple(f.ref for f in inside),
                       tuple(f.text for f in inside if f.text))
    if any(ok is None for _, ok in timed):
        undated = [f for f, ok in timed if ok is None]
        return Finding(None, f"{undated[0].text or part.name} has no date to place it against the window "
                             f"{_window_text(part.window)}", tuple(f.ref for f in undated))  # type: ignore[arg-type]
    if present:
        why = "outside the window " + _window_text(part.window) if part.window else "not current"
        return Finding(False, f"{present[0].text or part.name}: {why}", tuple(f.ref for f in present))
    if refuted:
        return Finding(False, f"the record says the patient does not have {refuted[0].text or part.name}",
                       tuple(f.ref for f in refuted))
    if record.complete if closed is None else closed:
        return Finding(False, f"no {part.name} in a record declared complete")
    return Finding(None, f"no {part.name} in the record (not declared complete)")


def _latest(found: list[Measurement]) -> Measurement:
    return max(found, key=lambda m: m.when or _EPOCH)


def _compare(value: float, part: Part, base: float | None = None) -> bool:
    """``value`` against the part's threshold; ``base`` scales a multiple of a normal limit."""
    scale = (lambda x: x * base) if base is not None else (lambda x: x)
    if part.uln is not None or part.lln is not None:
        multiple = part.uln if part.uln is not None else part.lln
        return _COMPARE.get(part.comparator or "<=", operator.le)(value, scale(multiple))
    if part.comparator and part.value is not None:
        return _COMPARE[part.comparator](value, scale(part.value))
    if part.low is not None or part.high is not None:
        return (part.low is None or value >= scale(part.low)) and (part.high is None or value <= scale(part.high))
    if part.value is not None:
        return abs(value - scale(part.value)) < 1e-9
    return True


def _threshold_text(part: Part) -> str:
    if part.uln is not None:
        return f"{part.comparator or '<='} {_num(part.uln)} × ULN"
    if part.lln is not None:
        return f"{part.comparator or '>='} {_num(part.lln)} × LLN"
    unit = f" {part.unit}" if part.unit else ""
    if part.comparator and part.value is not None:
        return f"{part.comparator} {_num(part.value)}{unit}"
    if part.high is None and part.low is not None:
        return f">= {_num(part.low)}{unit}"
    if part.low is None and part.high is not None:
        return f"<= {_num(part.high)}{unit}"
    return f"{_num(part.low or 0)}–{_num(part.high or 0)}{unit}"


def measurement(part: Part, record: PatientRecord, at: date) -> Finding:
    """Labs, vitals, scores: the most recent Observation inside the window, converted through UCUM; "× ULN"
    against its referenceRange.high (× LLN against .low)."""
    codes = {(c.system, c.code) for c in part.codings}
    found = [m for m in record.measurements if m.codes & codes]
    if part.window is not None:
        found = [m for m in found if m.when is not None and _in_window(m.when.date(), None, part.window, at)]
    if not found:
        where = f" {_window_text(part.window)}" if part.window else ""
        return Finding(None, f"no {part.name} result{where}")
    obs = _latest(found)
    when = f" on {obs.when.date().isoformat()}" if obs.when else ""
    if obs.value is None:
        return Finding(None, f"{part.name}{when} has no numeric value", (obs.ref,))
    unit = obs.unit or obs.unit_text
    shown = f"{part.name} {_num(obs.value)}{' ' + unit if unit else ''}{when}"
    base = None
    if part.uln is not None or part.lln is not None:
        limit = obs.high if part.uln is not None else obs.low
        name = "referenceRange.high (upper limit of normal)" if part.uln is not None else "referenceRange.low"
        if limit is None:
            return Finding(None, f"{shown}: no {name} to compare {_threshold_text(part)} with", (obs.ref,), (shown,))
        base = limit[0] if limit[1] in (None, obs.unit) or obs.unit is None else convert(limit[0], limit[1], obs.unit)
        if base is None:
            return Finding(None, f"{shown}: its reference range unit {limit[1]} does not convert to {obs.unit}",
                           (obs.ref,), (shown,))
        value = obs.value
    elif part.unit and part.unit != obs.unit:
        if obs.unit is None:
            return Finding(None, f"{shown}: the unit {obs.unit_text or '(none)'} is not UCUM, cannot compare with "
                                 f"{_threshold_text(part)}", (obs.ref,), (shown,))
        converted = convert(obs.value, obs.unit, part.unit)
        if converted is None:
            return Finding(None, f"{shown}: UCUM cannot convert {obs.unit} to {part.unit}", (obs.ref,), (shown,))
        value = converted
    else:
        value = obs.value
    ok = _compare(value, part, base)
    return Finding(ok, f"{shown} {'meets' if ok else 'does not meet'} {_threshold_text(part)}", (obs.ref,), (shown,))


def age(part: Part, record: PatientRecord, at: date) -> Finding:
    if record.birth_date is None:
        return Finding(None, "no birthDate")
    if record.birth_date > at:
        return Finding(None, "birthDate after the day judged")
    years = age_in(record.birth_date, at, part.unit or "a")
    ok = _compare(years, part)
    return Finding(ok, f"age {_num(years)} {part.unit or 'a'} {'meets' if ok else 'does not meet'} "
                       f"{_threshold_text(part)}", (record.ref,), (f"age {_num(years)}",))


def sex(part: Part, record: PatientRecord) -> Finding:
    if record.gender not in ("male", "female"):
        return Finding(None, f"gender is {record.gender or 'not given'}", (record.ref,) if record.gender else ())
    ok = record.gender == part.sex
    return Finding(ok, f"gender {record.gender}", (record.ref,), (record.gender,))


def pregnancy(part: Part, record: PatientRecord, at: date, closed: bool | None = None) -> Finding:
    """Pregnancy and breastfeeding: false for a male patient; else a Condition or a pregnancy-status
    Observation; absent counts as false only in a complete record."""
    if record.gender == "male":
        return Finding(False, f"male patient: no {part.category}", (record.ref,))
    if part.category == "contraception":
        return Finding(NC, "contraception is a commitment for the study's duration, not a recorded fact")
    if part.category == "pregnancy":
        status = [m for m in record.measurements if ("http://loinc.org", PREGNANCY_STATUS) in m.codes
                  and m.concept_text]
        if status:
            obs = _latest(status)
            text = (obs.concept_text or "").lower()
            pregnant = "pregnan" in text and not any(w in text for w in ("not ", "non", "negative"))
            return Finding(pregnant, f"pregnancy status: {obs.concept_text}", (obs.ref,), (obs.concept_text or "",))
    if part.status is None:  # a pregnancy (or breastfeeding) is a current state unless the text says otherwise
        part = replace(part, status="current")
    return concept(part, record, at, closed)
