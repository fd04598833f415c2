"""The curated measurement and performance-status table (fhirtrial/mappings/criteria/measurements.yaml), validated at load.

https://loinc.org/kb/users-guide/ (LOINC codes and their check digit), https://ucum.org/ucum (units)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import FhirError
from .units import is_ucum

_LOINC = re.compile(r"^(\d{1,7})-(\d)$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class CriteriaTableError(FhirError):
    """The criteria table is malformed (a deployment error: the server refuses to start with it)."""

    status = 500
    code = "exception"


@dataclass(frozen=True, slots=True)
class Measure:
    """One lab, vital sign, score or performance scale."""

    id: str
    name: str
    category: str  # measurement | performance
    loinc: tuple[str, ...]
    own: str | None  # a code of fhirtrial's criteria CodeSystem where LOINC has none
    units: tuple[str, ...]  # UCUM units it is reported in (measurements)
    implied: tuple[tuple[str, float, float], ...]  # unit assumed for a bare number inside [low, high]
    unitless: bool
    low: float | None  # performance scales: the lowest and highest score
    high: float | None
    roman: bool  # scores written in Roman numerals (NYHA class III)


_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokens(text: str) -> list[tuple[int, int, str]]:
    """Words and punctuation marks of ``text`` with their offsets."""
    return [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]


@dataclass(frozen=True)
class MeasureTable:
    measures: dict[str, Measure]
    # first token -> [(token tuple, id)], longest first: one dictionary probe per word of a criterion, instead of a
    # regex alternation of hundreds of synonyms (10x faster on the registry's texts)
    by_name: dict[str, list[tuple[tuple[str, ...], str]]]  # synonyms, lower-cased (matched ignoring case)
    by_abbreviation: dict[str, list[tuple[tuple[str, ...], str]]]  # matched as written

    def find(self, text: str, lower_text: str | None = None) -> list[tuple[int, int, Measure]]:
        """Mentions of table entries in ``text``: longest first, non-overlapping, in text order."""
        words = _TOKEN.findall(text)
        lower = _TOKEN.findall(text.lower() if lower_text is None else lower_text)
        if len(lower) != len(words):  # lower-casing changed the tokens (rare Unicode): one by one
            lower = [w.lower() for w in words]
        names, abbreviations = self.by_name, self.by_abbreviation
        if names.keys().isdisjoint(lower) and abbreviations.keys().isdisjoint(words):
            return []  # most criteria name no lab or scale: one set probe per word, in C
        toks = tokens(text)
        out: list[tuple[int, int, Measure]] = []
        i = 0
        while i < len(toks):
            best: tuple[int, str] | None = None
            for index, seq in ((names, lower), (abbreviations, words)):
                for phrase, key in index.get(seq[i], ()):
                    n = len(phrase)
                    if (best is None or n > best[0]) and tuple(seq[i:i + n]) == phrase:
                        best = (n, key)
                        break  # longest first
            if best is None or (i > 0 and toks[i - 1][2] == "-" and toks[i - 1][1] == toks[i][0]):
                i += 1
                continue
            n, key = best
            out.append((toks[i][0], toks[i + n - 1][1], self.measures[key]))
            i += n
        return out


def _index(phrases: dict[str, str], lower: bool) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    out: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase, key in phrases.items():
        words = tuple(t[2].lower() if lower else t[2] for t in tokens(phrase))
        out.setdefault(words[0], []).append((words, key))
    for entries in out.values():
        entries.sort(key=lambda e: (-len(e[0]), e[0]))
    return out


def loinc_check_digit(number: str) -> int:
    """LOINC's mod-10 check digit of the part before the hyphen (LOINC Users' Guide, appendix)."""
    rev = number[::-1]  # positions counted from the right
    odd = str(int(rev[0::2]) * 2)  # the odd-position digits read as one number, doubled
    even = rev[1::2]
    total = sum(int(d) for d in even + odd)
    return (10 - total % 10) % 10


def valid_loinc(code: str) -> bool:
    m = _LOINC.match(code)
    return m is not None and loinc_check_digit(m.group(1)) == int(m.group(2))


def _need(cond: bool, where: str, message: str) -> None:
    if not cond:
        raise CriteriaTableError(f"{where}: {message}")


def _measure(entry: Any, category: str, seen: dict[str, str]) -> tuple[Measure, list[str], list[str]]:
    _need(isinstance(entry, dict), f"measurements.yaml {category}", "each entry must be a mapping")
    mid = entry.get("id")
    where = f"measurements.yaml {category} {mid!r}"
    _need(isinstance(mid, str) and _ID.match(mid) is not None, where, "needs a kebab-case id")
    _need(mid not in seen, where, "duplicate id")
    seen[mid] = mid
    _need(isinstance(entry.get("name"), str) and entry["name"], where, "needs a name")
    loinc = tuple(str(c) for c in entry.get("loinc") or ())
    for code in loinc:
        _need(valid_loinc(code), where, f"{code!r} is not a LOINC code (format or check digit)")
    own = entry.get("own")
    _need(bool(loinc) or isinstance(own, str), where, "needs LOINC codes or an own code")
    units = tuple(str(u) for u in entry.get("units") or ())
    for unit in units:
        _need(is_ucum(unit), where, f"{unit!r} is not a UCUM unit")
    implied = []
    for row in entry.get("implied") or ():
        _need(isinstance(row, list) and len(row) == 3 and is_ucum(str(row[0])), where, f"bad implied unit {row!r}")
        _need(float(row[1]) < float(row[2]), where, f"implied range {row!r} is empty")
        implied.append((str(row[0]), float(row[1]), float(row[2])))
    if category == "measurement":
        _need(bool(units), where, "a measurement needs units")
    else:
        _need(isinstance(entry.get("min"), (int, float)) and isinstance(entry.get("max"), (int, float))
              and entry["min"] < entry["max"], where, "a performance scale needs min < max")
    names = [str(s) for s in entry.get("synonyms") or ()]
    abbreviations = [str(s) for s in entry.get("abbreviations") or ()]
    _need(bool(names or abbreviations), where, "needs synonyms or abbreviations")
    measure = Measure(mid, entry["name"], category, loinc, own, units, tuple(implied), bool(entry.get("unitless")),
                      entry.get("min"), entry.get("max"), bool(entry.get("roman")))
    return measure, names, abbreviations


def load_measures(path: Path) -> MeasureTable:
    """Read and validate the table; raises CriteriaTableError on the first problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CriteriaTableError(f"{path}: cannot read the criteria table: {exc}") from exc
    _need(isinstance(raw, dict), str(path), "needs 'measurements' and 'performance'")
    measures: dict[str, Measure] = {}
    by_name: dict[str, str] = {}
    by_abbreviation: dict[str, str] = {}
    seen: dict[str, str] = {}
    for category, key in (("measurement", "measurements"), ("performance", "performance")):
        for entry in raw.get(key) or ():
            measure, names, abbreviations = _measure(entry, category, seen)
            measures[measure.id] = measure
            for name in names:
                other = by_name.setdefault(name.lower(), measure.id)
                _need(other == measure.id, f"measurements.yaml {measure.id}", f"synonym {name!r} also names {other}")
            for abbreviation in abbreviations:
                other = by_abbreviation.setdefault(abbreviation, measure.id)
                _need(other == measure.id, f"measurements.yaml {measure.id}",
                      f"abbreviation {abbreviation!r} also names {other}")
    return MeasureTable(measures, _index(by_name, True), _index(by_abbreviation, False))


@lru_cache(maxsize=4)
def _cached(directory: str) -> MeasureTable:
    return load_measures(Path(directory) / "criteria" / "measurements.yaml")


_last: tuple[object, MeasureTable] | None = None


def get_measures() -> MeasureTable:
    """The table from ``get_settings().mappings_dir``, compiled once per directory (and looked up once per Settings)."""
    global _last
    from ..config import get_settings

    settings = get_settings()
    if _last is None or _last[0] is not settings:
        _last = (settings, _cached(str(settings.mappings_dir)))
    return _last[1]
