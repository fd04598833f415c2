"""What the coder makes of one criterion: coded parts with values, qualifiers and the words that produced them.

https://hl7.org/fhir/R4/group-definitions.html#Group.characteristic
"""
from __future__ import annotations

from dataclasses import dataclass

from ..canonical import CODESYSTEM_BASE
from .concepts import Coding, Window

CONCEPT_SYSTEM = f"{CODESYSTEM_BASE}/criteria-concept"  # fhirtrial's own concepts where no open code fits
FULL, PARTIAL, TEXT_ONLY = "full", "partial", "text-only"
CATEGORIES = ("condition", "therapy", "procedure", "substance", "allergy", "finding", "measurement", "performance", "pregnancy",
              "breastfeeding", "contraception", "age", "sex")


@dataclass(frozen=True, slots=True)
class Part:
    """One computable statement inside a criterion; ``start``/``end`` are offsets into the criterion's text."""

    category: str
    name: str  # plain English
    codings: tuple[Coding, ...]
    start: int
    end: int
    comparator: str | None = None  # FHIR Quantity.comparator: <, <=, >=, >
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str | None = None  # UCUM
    uln: float | None = None  # threshold = this multiple of the upper limit of normal
    lln: float | None = None  # ... of the lower limit of normal
    sex: str | None = None  # administrative-gender code for category "sex"
    negated: bool = False
    status: str | None = None  # historical | current | hypothetical
    window: Window | None = None
    operator: str | None = None  # "and" / "or": how this part joins the previous one
    complete: bool = True  # False: the concept is coded but its value was not understood

    @property
    def has_value(self) -> bool:
        return self.value is not None or self.low is not None or self.high is not None or self.uln is not None \
            or self.lln is not None


@dataclass(frozen=True, slots=True)
class CodedCriterion:
    text: str
    parts: tuple[Part, ...]
    level: str  # full | partial | text-only
