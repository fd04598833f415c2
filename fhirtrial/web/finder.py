"""The search form of the trial finder, read from the page's query string and written as the FHIR search it stands
for (https://hl7.org/fhir/R4/search.html): the page runs that search and shows its URL.

Each field maps to one ResearchStudy search parameter (the README's ClinicalTrials.gov table):
``q`` -> ``_content``, ``condition`` -> ``condition:text``, ``status`` -> ``recruitment``, ``phase`` -> ``phase``,
``type`` -> ``study-design``, ``age`` -> ``eligible-age``, ``sex`` -> ``eligible-sex``, ``healthy`` ->
``healthy-volunteers``, ``location`` + ``radius`` + ``unit`` -> ``site.near``; ``sort`` -> ``_sort``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from ..errors import InvalidRequest
from ..places import Place, resolve

STATUSES = (("RECRUITING", "Recruiting"), ("NOT_YET_RECRUITING", "Not yet recruiting"),
            ("ENROLLING_BY_INVITATION", "Enrolling by invitation"), ("ACTIVE_NOT_RECRUITING", "Active, not recruiting"),
            ("COMPLETED", "Completed"), ("SUSPENDED", "Suspended"), ("TERMINATED", "Terminated"),
            ("WITHDRAWN", "Withdrawn"), ("UNKNOWN", "Unknown status"))
PHASES = (("EARLY_PHASE1", "Early phase 1"), ("PHASE1", "Phase 1"), ("PHASE2", "Phase 2"), ("PHASE3", "Phase 3"),
          ("PHASE4", "Phase 4"), ("NA", "Not applicable"))
STUDY_TYPES = (("INTERVENTIONAL", "Interventional"), ("OBSERVATIONAL", "Observational"),
               ("EXPANDED_ACCESS", "Expanded access"))
SEXES = (("female", "Female"), ("male", "Male"))
SORTS = (("", "Best match"), ("relevance", "Relevance (text search)"), ("distance", "Distance (nearest first)"),
         ("updated", "Last update (newest first)"))
UNITS = (("mi", "miles"), ("km", "km"))
PAGE_SIZE = 10
MAX_TEXT = 200
_SPECIAL = ",|$\\"


def escape(value: str) -> str:
    """A literal search value (https://hl7.org/fhir/R4/search.html#escaping)."""
    return "".join("\\" + ch if ch in _SPECIAL else ch for ch in value)


@dataclass(frozen=True, slots=True)
class Problem:
    field: str  # the form control's name (its id is "f-" + name)
    message: str


@dataclass
class Criteria:
    """What a person asked for, as typed (to fill the form again) and checked."""

    q: str = ""
    condition: str = ""
    statuses: list[str] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    study_type: str = ""
    age: str = ""
    sex: str = ""
    healthy: str = ""
    location: str = ""
    radius: str = "50"
    unit: str = "mi"
    sort: str = ""
    cursor: str = ""
    place: Place | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any((self.q, self.condition, self.statuses, self.phases, self.study_type, self.age, self.sex,
                        self.healthy, self.location))

    def problem(self, name: str) -> str | None:
        return next((p.message for p in self.problems if p.field == name), None)


def _one(pairs: list[tuple[str, str]], name: str) -> str:
    values = [v for k, v in pairs if k == name]
    return values[-1].strip()[:MAX_TEXT] if values else ""


def _chosen(pairs: list[tuple[str, str]], name: str, allowed: Iterable[tuple[str, str]]) -> list[str]:
    codes = {code for code, _ in allowed}
    return [v for k, v in pairs if k == name and v in codes]


def read_form(pairs: list[tuple[str, str]]) -> Criteria:
    """The form's fields from the query string; anything unusable becomes a Problem, never an error page."""
    c = Criteria(q=_one(pairs, "q"), condition=_one(pairs, "condition"), statuses=_chosen(pairs, "status", STATUSES),
                 phases=_chosen(pairs, "phase", PHASES), location=_one(pairs, "location"),
                 cursor=_one(pairs, "cursor"))
    c.study_type = (_chosen(pairs, "type", STUDY_TYPES) or [""])[0]
    c.sex = (_chosen(pairs, "sex", SEXES) or [""])[0]
    c.healthy = "yes" if _one(pairs, "healthy") == "yes" else ""
    c.sort = (_chosen(pairs, "sort", SORTS) or [""])[0]
    c.unit = (_chosen(pairs, "unit", UNITS) or ["mi"])[0]
    c.age = _one(pairs, "age")
    if c.age and not (c.age.isdigit() and int(c.age) <= 120):
        c.problems.append(Problem("age", f"Age must be a whole number of years from 0 to 120, not {c.age!r}."))
    radius = _one(pairs, "radius")
    c.radius = radius or "50"
    try:
        ok = 0 < float(c.radius) <= 20000
    except ValueError:
        ok = False
    if not ok:
        c.problems.append(Problem("radius", f"The distance must be a number above 0, not {c.radius!r}."))
    if c.location:
        try:
            c.place = resolve(c.location, "location")
        except InvalidRequest as exc:
            c.problems.append(Problem("location", f"{exc.diagnostics}. Enter a US ZIP code such as 20892, "
                                                  "or a latitude and longitude such as 39.0, -77.1."))
    if c.sort == "distance" and c.place is None and not c.problem("location"):
        c.problems.append(Problem("sort", "Sorting by distance needs a location: enter a ZIP code or a latitude "
                                          "and longitude."))
    if c.sort == "relevance" and not c.q:
        c.problems.append(Problem("sort", "Sorting by relevance needs words in the free-text box."))
    return c


def fhir_search(c: Criteria, count: int = PAGE_SIZE) -> list[tuple[str, str]]:
    """The ResearchStudy search parameters the form stands for (without paging)."""
    pairs: list[tuple[str, str]] = []
    if c.q:
        pairs.append(("_content", c.q))
    if c.condition:
        pairs.append(("condition:text", escape(c.condition)))
    if c.statuses:
        pairs.append(("recruitment", ",".join(c.statuses)))
    if c.phases:
        pairs.append(("phase", ",".join(c.phases)))
    if c.study_type:
        pairs.append(("study-design", c.study_type))
    if c.age:
        pairs.append(("eligible-age", c.age))
    if c.sex:
        pairs.append(("eligible-sex", c.sex))
    if c.healthy:
        pairs.append(("healthy-volunteers", "true"))
    if c.place is not None:
        pairs.append(("site.near", near_value(c)))
    sort = {"relevance": "_score", "distance": "near", "updated": "-_lastUpdated"}.get(c.sort)
    if sort:
        pairs.append(("_sort", sort))
    pairs.append(("_count", str(count)))
    pairs.append(("_total", "accurate"))
    return pairs


def near_value(c: Criteria) -> str:
    assert c.place is not None
    return f"{c.place.latitude:.6g}|{c.place.longitude:.6g}|{float(c.radius):g}|{c.unit}"


def form_pairs(c: Criteria, **changes: str) -> list[tuple[str, str]]:
    """The page's own query string for these criteria (for paging and sort links), with ``changes`` applied."""
    fields: list[tuple[str, str]] = [("q", c.q), ("condition", c.condition)]
    fields += [("status", s) for s in c.statuses] + [("phase", p) for p in c.phases]
    fields += [("type", c.study_type), ("age", c.age), ("sex", c.sex), ("healthy", c.healthy),
               ("location", c.location)]
    if c.location:
        fields += [("radius", c.radius), ("unit", c.unit)]
    fields += [("sort", c.sort), ("cursor", c.cursor)]
    out = [(k, changes.pop(k) if k in changes else v) for k, v in fields]
    out += list(changes.items())
    return [(k, v) for k, v in out if v]


__all__ = ["Criteria", "PAGE_SIZE", "PHASES", "Problem", "SEXES", "SORTS", "STATUSES", "STUDY_TYPES", "UNITS",
           "escape", "fhir_search", "form_pairs", "near_value", "read_form"]
