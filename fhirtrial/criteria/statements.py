"""Criteria left as text that the judge can still settle: consent and compliance as stated by the caller, "male
and female", and a lexical screen of a complete record for text-only exclusions.

The phrase lists are data (fhirtrial/mappings/criteria/statements.yaml), validated at load; the rules are documented
in fhirtrial/criteria/README.md ("Judging"). https://hl7.org/fhir/R4/group-definitions.html#Group.characteristic
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import yaml

from .patient import PatientRecord
from .table import CriteriaTableError

LISTS = ("consent", "any-sex", "catch-all", "judgement", "measurement", "qualifiers", "boilerplate")
_PHRASE = re.compile(r"^[a-z0-9][a-z0-9 '\-]*\*?$")
_WORD = re.compile(r"[a-z][a-z0-9]*")
_LEAD = re.compile(r"^\s*(?:[-*•]+|\(?\d+[.)]|[a-z][.)])\s*")


@dataclass(frozen=True)
class Statements:
    """The compiled lists: a pattern per phrase list, and the screen's words that name no fact."""

    patterns: dict[str, re.Pattern[str]]
    any_sex: frozenset[str]
    ignored: frozenset[str]  # boilerplate words, exact
    ignored_prefixes: tuple[str, ...]  # boilerplate words ending in "*"

    def says(self, name: str, text: str) -> bool:
        return self.patterns[name].search(text) is not None

    def admits_any_sex(self, text: str) -> bool:
        """The whole criterion is "male and female" (or the like), apart from punctuation and a leading bullet."""
        bare = _LEAD.sub("", text.lower())
        return " ".join(re.findall(r"[a-z0-9']+", bare)) in self.any_sex

    def content_words(self, text: str) -> tuple[str, ...]:
        """The words of ``text`` that could name a fact (no stop word, no boilerplate, at least 3 letters), once."""
        from spacy.lang.en.stop_words import STOP_WORDS

        return tuple(dict.fromkeys(w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in STOP_WORDS
                                   and w not in self.ignored and not w.startswith(self.ignored_prefixes)))


def _pattern(phrases: list[str]) -> re.Pattern[str]:
    alternatives = []
    for phrase in phrases:
        words = [re.escape(w) for w in re.split(r"[\s\-]+", phrase.rstrip("*"))]
        alternatives.append(r"\b" + r"[\s\-]+".join(words) + (r"\w*" if phrase.endswith("*") else r"\b"))
    return re.compile("|".join(alternatives), re.IGNORECASE)


def load_statements(path: Path) -> Statements:
    """Read and validate the lists; raises CriteriaTableError (naming the list and entry) on the first problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CriteriaTableError(f"{path}: cannot read the statement lists: {exc}") from exc
    if not isinstance(raw, dict) or set(raw) != set(LISTS):
        raise CriteriaTableError(f"{path}: needs exactly the lists {', '.join(LISTS)}")
    for name in LISTS:
        entries = raw[name]
        if not isinstance(entries, list) or not entries:
            raise CriteriaTableError(f"statements.yaml {name}: must be a non-empty list of phrases")
        for entry in entries:
            if not isinstance(entry, str) or not _PHRASE.match(entry):
                raise CriteriaTableError(f"statements.yaml {name}: {entry!r} is not a lowercase phrase")
        if len(set(entries)) != len(entries):
            raise CriteriaTableError(f"statements.yaml {name}: a phrase is listed twice")
    boilerplate = raw["boilerplate"]
    return Statements({name: _pattern(raw[name]) for name in ("consent", "catch-all", "judgement", "measurement", "qualifiers")},
                      frozenset(raw["any-sex"]), frozenset(w for w in boilerplate if not w.endswith("*")),
                      tuple(w[:-1] for w in boilerplate if w.endswith("*")))


@lru_cache(maxsize=4)
def _cached(directory: str) -> Statements:
    return load_statements(Path(directory) / "criteria" / "statements.yaml")


def get_statements() -> Statements:
    """The lists from ``get_settings().mappings_dir``, compiled once per directory."""
    from ..config import get_settings

    return _cached(str(get_settings().mappings_dir))


def unconfirmed(text: str, start: int, name: str, values: Iterable[str]) -> str | None:
    """A qualifier ("uncontrolled", "severe") in the few words before a concept at ``start`` of the criterion
    ``text`` that neither the concept's name nor the record's ``values`` (the facts found) say; None if none."""
    before = " ".join(re.findall(r"[\w'-]+", text[:max(0, start)])[-4:])
    found = get_statements().patterns["qualifiers"].search(before)
    if found is None:
        return None
    word = found.group(0).lower()
    said = " ".join([name, *values]).lower()
    return None if word in said else word


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    from nltk.stem.snowball import SnowballStemmer  # rule-based, no data download

    return SnowballStemmer("english")


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return _stemmer().stem(word)


def record_words(record: PatientRecord) -> dict[str, tuple[str, str]]:
    """stem -> (the record's text naming it, its resource reference), over the texts and codings' displays of the
    record's conditions, medications, procedures, allergies and observations."""
    if record.named is not None:
        return record.named
    texts: list[tuple[str, str]] = []
    for f in record.facts:
        texts += [(f.text, f.ref)] + [(c.display, f.ref) for c in f.codings if c.display]
    for m in record.measurements:
        texts += [(m.text, m.ref)] + ([(m.concept_text, m.ref)] if m.concept_text else [])
    named: dict[str, tuple[str, str]] = {}
    for text, ref in texts:
        for word in _WORD.findall(text.lower()):
            if len(word) >= 3:
                named.setdefault(stem(word), (text, ref))
    record.named = named  # read once per record
    return named


@dataclass(frozen=True, slots=True)
class Settled:
    verdict: str  # met | not-met | unknown | not-computable
    reason: str
    evidence: tuple[str, ...] = ()


def settle(text: str, exclude: bool, record: PatientRecord) -> Settled | None:
    """A not-computable criterion settled by a stated rule (README "Judging"), or None (it stays as it is)."""
    lists = get_statements()
    if not exclude and lists.admits_any_sex(text):
        return Settled("met", "the criterion admits patients of either sex")
    if exclude and lists.says("catch-all", text):
        return Settled("not-computable", "a catch-all for the investigator ('any condition that …'): it names no "
                                         "fact of the record")
    if lists.says("consent", text):
        if record.consent:
            return Settled("not-met" if exclude else "met",
                           "consent, willingness or ability to comply: as stated by the caller (assumeConsent)")
        return Settled("not-computable", "consent, willingness or ability to comply: the record cannot show it "
                                         "(the caller may state it with assumeConsent=true)")
    if not exclude or not record.complete:
        return None
    if lists.says("judgement", text):
        return Settled("not-computable", "a judgement for the investigator or a catch-all: not ruled out by the "
                                         "record")
    if lists.says("measurement", text):
        return Settled("not-computable", "names a measurement, score or test left as text: an absent value is "
                                         "unknown, not ruled out")
    words = lists.content_words(text)
    if not words:
        return None
    return screen(words, record)


def screen(words: Iterable[str], record: PatientRecord) -> Settled:
    """The lexical screen of a text-only exclusion in a complete record: none of its content words in the record's
    texts -> it does not apply; one of them there -> unknown, for a person to check."""
    named = record_words(record)
    words = list(words)
    hits = [(w, named[stem(w)]) for w in words if stem(w) in named]
    if hits:
        shown = "; ".join(f"'{w}' in {text!r}" for w, (text, _) in hits[:3])
        return Settled("unknown", f"the record names words of this criterion ({shown}): a person should check "
                                  f"(lexical screen)", tuple(dict.fromkeys(ref for _, (_, ref) in hits)))
    return Settled("not-met", f"nothing in a record declared complete names {', '.join(words[:6])} (lexical screen "
                              f"of its condition, medication, procedure and observation texts; lower confidence "
                              f"than a coded criterion)")
