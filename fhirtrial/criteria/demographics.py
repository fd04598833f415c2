"""Age, sex, pregnancy, breastfeeding and contraception stated in criterion text.

https://hl7.org/fhir/R4/datatypes.html#Range (ages in UCUM years, http://unitsofmeasure.org)
"""
from __future__ import annotations

import re

from .concepts import LOINC, Coding
from .model import CONCEPT_SYSTEM, Part

AGE = Coding(LOINC, "30525-0", "Age")
SEX = Coding(CONCEPT_SYSTEM, "sex", "Sex stated in the criterion")
_N = r"(?P<{}>\d{{1,3}})(?![\d.,]\d)"
_YEARS = r"\s*(?:years?|yrs?|y)\b\.?"
_UP = r"older|over|above|more|greater|higher"
_DOWN = r"younger|less|under|below|lower"
_COMP_UP = r"≥|>=|=>|>|at least|older than|over|above|more than|greater than|minimum(?: of)?"
_COMP_DOWN = r"≤|<=|=<|<|younger than|under|below|less than|not older than|up to|maximum(?: of)?"
_AGE_PATTERNS = [
    # "aged 18-75 years", "age between 18 and 65", "18 to 65 years old", "between 18 and 60 years of age"
    re.compile(r"(?:\bage[ds]?\b[^0-9;.]{0,12}?|\bbetween\s+)" + _N.format("a") + r"(?:" + _YEARS + r")?\s*(?:-|–|to|and)\s*"
               + _N.format("b") + r"(?:" + _YEARS + r")?", re.IGNORECASE),
    re.compile(_N.format("a") + r"\s*(?:-|–|to)\s*" + _N.format("b") + _YEARS + r"\s*(?:of age|old)\b", re.IGNORECASE),
    # "18 years of age or older", "18 years and over", "aged 18 or above"
    re.compile(r"(?:\bage[ds]?\s+)?" + _N.format("a") + r"(?:" + _YEARS + r")?\s*(?:of age|old)?\s*(?:or|and)\s+"
               r"(?P<dir>" + _UP + "|" + _DOWN + r")\b", re.IGNORECASE),
    # "Age ≥ 18 years", "≥18 years old", "older than 18 years", "aged over 65"
    re.compile(r"(?P<c>" + _COMP_UP + "|" + _COMP_DOWN + r")\s*" + _N.format("a") + r"(?:" + _YEARS + r")?", re.IGNORECASE),
]
_AGE_CONTEXT = re.compile(r"\bage[ds]?\b|\byears?\s+(?:of\s+age|old)\b|\byrs?\s+old\b|\bolder\b|\byounger\b|\badults?\b"
                          r"|\bchildren\b|\bbirthday\b")  # searched in the lower-cased text
_SEX = re.compile(r"^(?:be\s+)?(?:healthy\s+|adult\s+|postmenopausal\s+|premenopausal\s+)?(?P<s>female|male|women|men|woman|man)"
                  r"s?\b(?!\s*(?:or|and|/)\s*(?:fe)?(?:male|men|women|man|woman))"
                  r"(?=\s*(?:(?:patients?|participants?|subjects?|volunteers?)\s+)?(?:$|[,;:(]|aged?\b|between\b|over\b|"
                  r"older\b|≥|>|\d))", re.IGNORECASE)
_TOPICS = [
    ("pregnancy", "pregnancy", re.compile(r"\bpregnan\w*|\bgestation\b", re.IGNORECASE)),
    ("breastfeeding", "breastfeeding", re.compile(r"\bbreast[- ]?feed\w*|\blactating\b|\blactation\b|\bnursing\b", re.IGNORECASE)),
    ("contraception", "contraception", re.compile(r"\bcontracept\w*|\bbirth control\b|\bbarrier method\w*", re.IGNORECASE)),
]


def age_part(text: str, lower: str | None = None) -> Part | None:
    """The age range a criterion states (years), when it clearly speaks of age (``lower``: text.lower())."""
    if not _AGE_CONTEXT.search(text.lower() if lower is None else lower):
        return None
    for i, pattern in enumerate(_AGE_PATTERNS):
        m = pattern.search(text)
        if m is None:
            continue
        a = float(m.group("a"))
        if i < 2:
            low, high = a, float(m.group("b"))
            if low >= high or high > 130:
                continue
            return Part("age", "age", (AGE,), m.start(), m.end(), low=low, high=high, unit="a")
        if i == 2:
            direction = m.group("dir").lower()
            if direction not in ("older", "younger") and not re.search(r"\bage[ds]?\b|\byears?\b|\byrs?\b|\bold\b",
                                                                       m.group(0), re.I):
                continue  # "triage category of 3 or higher": a number that is not an age
            up = direction in _UP.split("|")
        else:
            c = m.group("c").lower()
            up = c in _COMP_UP.split("|") or c.startswith("minimum")
            window = text[max(0, m.start() - 20):m.end() + 15]
            if not re.search(r"\bage[ds]?\b|years?\s+(?:of\s+age|old)|yrs?\s+old|\bolder\b|\byounger\b", window, re.I):
                continue  # "> 5 years since diagnosis" is a duration, not an age
        if a > 130:
            continue
        if up:
            return Part("age", "age", (AGE,), m.start(), m.end(), comparator=">=" if i == 2 else _norm(m), value=a,
                        low=a, unit="a")
        return Part("age", "age", (AGE,), m.start(), m.end(), comparator="<=" if i == 2 else _norm(m), value=a,
                    high=a, unit="a")
    return None


def _norm(m: re.Match[str]) -> str:
    c = m.group("c").lower()
    if c in ("≥", ">=", "=>", "at least") or c.startswith("minimum"):
        return ">="
    if c in ("≤", "<=", "=<", "not older than", "up to") or c.startswith("maximum"):
        return "<="
    return "<" if c in ("<", "younger than", "under", "below", "less than") else ">"


def sex_part(text: str) -> Part | None:
    """"Female", "Women aged 18-45", "Male patients": the criterion restricts sex (both sexes restrict nothing)."""
    m = _SEX.match(text.strip())
    if m is None:
        return None
    offset = len(text) - len(text.lstrip())
    word = m.group("s").lower()
    sex = "female" if word in ("female", "women", "woman") else "male"
    # "Postmenopausal women": the sex is coded, the menopausal status is not (the criterion is partly coded).
    qualified = re.search(r"menopausal", m.group(0), re.IGNORECASE) is None
    return Part("sex", sex, (SEX,), offset + m.start("s"), offset + m.end("s"), sex=sex, complete=qualified)


_ANY_TOPIC = re.compile(r"pregnan|gestation|breast|lactat|nursing|contracept|birth control|barrier method")


def topic_parts(text: str, lower: str | None = None) -> list[Part]:
    """Pregnancy, breastfeeding and contraception: one part each, at its first mention (``lower``: text.lower())."""
    out: list[Part] = []
    if _ANY_TOPIC.search(text.lower() if lower is None else lower) is None:
        return out
    for category, name, pattern in _TOPICS:
        m = pattern.search(text)
        if m is not None:
            out.append(Part(category, name, (Coding(CONCEPT_SYSTEM, category, name.capitalize()),), m.start(), m.end()))
    return out
