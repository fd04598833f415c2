"""A patient judged against a study's eligibility Group: a verdict per criterion, an overall verdict and a score.

Storage- and HTTP-free (the ``$match`` operation only adapts it); the rules and the score are documented once, in
fhirtrial/criteria/README.md ("Judging"). https://hl7.org/fhir/R4/group.html, https://hl7.org/fhir/R4/bundle.html#search
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from typing import Any, Iterable

from . import evaluate as ev
from .concepts import Coding, concepts_for_display
from .evaluate import NC, Finding, State
from .model import TEXT_ONLY, Part
from .patient import Fact, PatientRecord
from .reading import Characteristic, characteristics
from .statements import settle, unconfirmed

MET, NOT_MET, UNKNOWN, NOT_COMPUTABLE = "met", "not-met", "unknown", "not-computable"
ELIGIBLE, POSSIBLY, INELIGIBLE = "eligible", "possibly-eligible", "ineligible"
_VERDICT = {True: MET, False: NOT_MET, None: UNKNOWN, NC: NOT_COMPUTABLE}
_QUALIFIED = ("condition", "finding", "procedure")  # concepts a qualifier ("severe", "uncontrolled") can narrow
EXCLUSION_WEIGHT = 0.25  # an exclusion ruled out counts for less than an inclusion met (it says less about fit)


@dataclass(frozen=True, slots=True)
class CriterionVerdict:
    index: int  # Group.characteristic index (-1: the study's conditions)
    kind: str  # age | sex | healthy-volunteers | inclusion | exclusion | condition
    text: str
    exclude: bool
    verdict: str  # met | not-met | unknown | not-computable
    reason: str
    evidence: tuple[str, ...] = ()
    values: tuple[str, ...] = ()

    @property
    def against(self) -> bool:
        """Makes the patient ineligible: an inclusion not met, an exclusion met."""
        return self.verdict == (MET if self.exclude else NOT_MET)

    @property
    def favourable(self) -> bool:
        return self.verdict == (NOT_MET if self.exclude else MET)


@dataclass(frozen=True, slots=True)
class StudyMatch:
    verdict: str  # eligible | possibly-eligible | ineligible
    score: float
    criteria: tuple[CriterionVerdict, ...]


def _part(part: Part, record: PatientRecord, at: date, exclude: bool = True, text: str = "") -> Finding:
    # A complete record's silence rules a concept out where that speaks for the patient: an exclusion's concept,
    # or the negated concept of an inclusion ("no prior MI"); an inclusion's concept absent stays unknown.
    closed = record.complete and exclude != part.negated
    if part.category == "measurement" or part.category == "performance":
        found = ev.measurement(part, record, at)
    elif part.category == "age":
        found = ev.age(part, record, at)
    elif part.category == "sex":
        found = ev.sex(part, record)
    elif part.category in ("pregnancy", "breastfeeding", "contraception"):
        found = ev.pregnancy(part, record, at, closed)
    else:
        found = ev.concept(part, record, at, closed)
    if part.category == "contraception" and record.gender == "male":
        return found  # "women … not using contraception": about women, whichever way it is put
    if found.state is True and part.category in _QUALIFIED and \
            (word := unconfirmed(text, part.start, part.name, found.values)) is not None:
        # "Uncontrolled hypertension": any hypertension recorded does not say it is uncontrolled.
        found = Finding(None, f"{found.reason}, but the record does not say it is {word}", found.evidence,
                        found.values)
    if part.negated and isinstance(found.state, bool):
        return Finding(not found.state, f"not: {found.reason}", found.evidence, found.values)
    return found


def _and(states: list[State]) -> State:
    known = [s if s != NC else None for s in states]
    if False in known:
        return False
    return True if all(s is True for s in known) else None


def _or(states: list[State]) -> State:
    known = [s if s != NC else None for s in states]
    if True in known:
        return True
    return False if all(s is False for s in known) else None


def combine(parts: tuple[Part, ...], states: list[State]) -> State:
    """Kleene three-valued logic over the coder's operators; ``or`` joins neighbours before ``and``, as lists of
    alternatives do ("albuterol for asthma symptoms (cough, wheeze or chest tightness)")."""
    if all(s == NC for s in states):
        return NC
    groups: list[list[State]] = [[]]
    for part, state in zip(parts, states):
        if part.operator != "or" and groups[-1]:
            groups.append([])
        groups[-1].append(state)
    return _and([_or(g) for g in groups])


def _criterion(c: Characteristic, record: PatientRecord, at: date) -> CriterionVerdict:
    found = _coded(c, record, at)
    if found.verdict != NOT_COMPUTABLE or (settled := settle(c.text, c.exclude, record)) is None:
        return found
    return CriterionVerdict(c.index, c.kind, c.text, c.exclude, settled.verdict, settled.reason, settled.evidence)


def _coded(c: Characteristic, record: PatientRecord, at: date) -> CriterionVerdict:
    if c.level == TEXT_ONLY or not c.parts:
        return CriterionVerdict(c.index, c.kind, c.text, c.exclude, NOT_COMPUTABLE, "not coded: text only")
    if not c.exclude and any(p.category == "contraception" for p in c.parts):
        return CriterionVerdict(c.index, c.kind, c.text, c.exclude, NOT_COMPUTABLE,
                                "contraception is a commitment for the study's duration, not a recorded fact")
    findings = [_part(p, record, at, c.exclude, c.text) for p in c.parts]
    parts = c.parts
    state = combine(parts, [f.state for f in findings])
    alternatives = len(parts) > 1 and all(p.operator == "or" for p in parts[1:])
    if state is True and c.level != "full" and not alternatives:
        # What was left as text may narrow the statement ("Hypertension of > 170/100 mm Hg"): what is coded
        # holding does not make the whole criterion hold (one of a list of alternatives holding still does).
        return CriterionVerdict(c.index, c.kind, c.text, c.exclude, UNKNOWN,
                                "; ".join(f.reason for f in findings if f.state is True) +
                                " — but the criterion is only partly coded, the rest is text",
                                tuple(dict.fromkeys(r for f in findings for r in f.evidence)),
                                tuple(dict.fromkeys(v for f in findings for v in f.values)))
    # The findings that decided: those agreeing with the outcome (all of them when unknown).
    deciding = [f for f in findings if f.state == state] or [f for f in findings if f.state != NC] or findings
    reason = "; ".join(f.reason for f in deciding)
    if c.level != "full" and state != NC:
        reason += " (criterion partly coded)"
    evidence = tuple(dict.fromkeys(r for f in deciding for r in f.evidence))
    values = tuple(dict.fromkeys(v for f in deciding for v in f.values))
    return CriterionVerdict(c.index, c.kind, c.text, c.exclude, _VERDICT[state], reason, evidence, values)


def _age(c: Characteristic, record: PatientRecord, at: date) -> CriterionVerdict:
    rng = c.value.get("valueRange") or {}
    low, high = rng.get("low") or {}, rng.get("high") or {}
    unit = low.get("code") or high.get("code") or "a"
    part = Part("age", "age", (), 0, 0, low=low.get("value"), high=high.get("value"), unit=unit)
    found = ev.age(part, record, at)
    return CriterionVerdict(c.index, c.kind, c.text, False, _VERDICT[found.state], found.reason, found.evidence,
                            found.values)


def _sex(c: Characteristic, record: PatientRecord) -> CriterionVerdict:
    codes = [x.get("code") for x in (c.value.get("valueCodeableConcept") or {}).get("coding") or ()]
    wanted = next((x for x in codes if x in ("male", "female")), None)
    if wanted is None:
        return CriterionVerdict(c.index, c.kind, c.text, False, MET, "the study takes all sexes")
    found = ev.sex(Part("sex", "sex", (), 0, 0, sex=wanted), record)
    return CriterionVerdict(c.index, c.kind, c.text, False, _VERDICT[found.state],
                            f"{found.reason}; the study takes {wanted} participants", found.evidence, found.values)


def _healthy(c: Characteristic, record: PatientRecord) -> CriterionVerdict:
    if not c.exclude:
        return CriterionVerdict(c.index, c.kind, c.text, False, MET, "the study accepts healthy volunteers")
    active = [f for f in record.facts if f.kind == "condition" and f.active is not False and not f.refuted]
    if active:
        return CriterionVerdict(c.index, c.kind, c.text, True, NOT_MET,
                                f"not a healthy volunteer: active condition {active[0].text}", (active[0].ref,))
    if record.complete:
        return CriterionVerdict(c.index, c.kind, c.text, True, MET,
                                "no active condition in a record declared complete: a healthy volunteer, whom the "
                                "study does not accept")
    return CriterionVerdict(c.index, c.kind, c.text, True, UNKNOWN,
                            "no active condition in the record (not declared complete)")


@lru_cache(maxsize=20_000)
def _display(text: str) -> tuple[Coding, ...]:
    """Codings of ours for a study condition given as text only (the same few texts recur across studies)."""
    return tuple(concepts_for_display(text))


def study_conditions(conditions: Iterable[dict[str, Any]], record: PatientRecord, at: date) -> CriterionVerdict:
    """Whether the patient has one of the study's conditions (ResearchStudy.condition): met or unknown, never
    not met (a study's topic is not one of its criteria)."""
    names: list[str] = []
    hits: list[Fact] = []
    for cc in conditions:
        codings = tuple(Coding(x["system"], x["code"], str(x.get("display") or ""))
                        for x in cc.get("coding") or () if isinstance(x, dict) and "system" in x and "code" in x)
        text = str(cc.get("text") or (codings[0].display if codings else ""))
        names.append(text)
        if not codings:
            codings = _display(text)
        found = ev.concept(Part("condition", text, codings, 0, 0, status="current"), record, at)
        if found.state is True:
            hits += [f for f in record.facts if f.ref in found.evidence]
    label = "Conditions studied: " + "; ".join(n for n in names if n)
    if hits:
        return CriterionVerdict(-1, "condition", label, False, MET, f"the patient has {hits[0].text}",
                                tuple(dict.fromkeys(f.ref for f in hits)))
    return CriterionVerdict(-1, "condition", label, False, UNKNOWN, "none of the study's conditions is active in "
                                                                    "the record")


TOPICAL, AGREEMENT, RELEVANCE = 0.25, 0.05, 0.2  # weights of the score's terms above its 0.5 band


def score(criteria: Iterable[CriterionVerdict], relevance: float = 0.0) -> tuple[str, float]:
    """(verdict, score), documented in README.md ("Judging"): 0.5 unless ineligible, + 0.25 when the patient has
    one of the study's conditions, + 0.05·S/(S+U+F+1) with S = criteria met in its favour (an exclusion ruled out
    counts 0.25), U = unknowns, F = criteria against the patient, + 0.2·relevance (relevance.py, in [0, 1])."""
    items = list(criteria)
    topical = any(c.kind == "condition" and c.verdict == MET for c in items)
    judged = [c for c in items if c.kind != "condition"]
    s = sum(1.0 if not c.exclude else EXCLUSION_WEIGHT for c in judged if c.favourable)
    u = sum(1 for c in judged if c.verdict == UNKNOWN)
    f = sum(1 for c in judged if c.against)
    value = (0.0 if f else 0.5) + (TOPICAL if topical else 0.0) + AGREEMENT * s / (s + u + f + 1) \
        + RELEVANCE * min(1.0, max(0.0, relevance))
    if f:
        return INELIGIBLE, round(value, 6)
    return (ELIGIBLE if u == 0 and s > 0 else POSSIBLY), round(value, 6)


def rescored(match: StudyMatch, relevance: float) -> StudyMatch:
    """The same verdicts with the score's relevance term set."""
    return StudyMatch(match.verdict, score(match.criteria, relevance)[1], match.criteria)


def judge(group: dict[str, Any], record: PatientRecord, at: date,
          conditions: Iterable[dict[str, Any]] = ()) -> StudyMatch:
    """Every characteristic of ``group`` judged for ``record`` on day ``at``; ``conditions`` are the study's
    ResearchStudy.condition (reported first, and counted as an inclusion met when the patient has one)."""
    out: list[CriterionVerdict] = []
    conditions = list(conditions)
    if conditions:
        out.append(study_conditions(conditions, record, at))
    for c in characteristics(group):
        if c.kind == "age":
            out.append(_age(c, record, at))
        elif c.kind == "sex":
            out.append(_sex(c, record))
        elif c.kind == "healthy-volunteers":
            out.append(_healthy(c, record))
        else:
            out.append(_criterion(c, record, at))
    verdict, value = score(out)
    return StudyMatch(verdict, value, tuple(out))
