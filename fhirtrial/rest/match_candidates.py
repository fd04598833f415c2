"""The candidate studies of ``ResearchStudy/$match``: found by the store's own search (keys and distances only, no
body read), each described by the few facts ranking needs (its words, conditions, eligibility Group, sites), read
once per study version and kept compact in memory, so a request parses no study it has seen before.

https://hl7.org/fhir/R4/researchstudy.html; distances as ``site-status-near`` / ``site.near``
(https://hl7.org/fhir/R4/location.html#positional).
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from ..canonical import EXTENSION_BASE
from ..criteria.relevance import study_words
from ..errors import Issue
from ..search.geo import haversine_km
from ..search.parser import parse_search
from ..store.repository import Key, Repository
from .match_inputs import MatchInputs

MAX_CANDIDATES = 20_000  # judged per request at most; past it the answer says so
READ = 500  # study bodies read together (facts not known yet)
FACTS_KEPT = 200_000  # study versions whose facts are kept (cleared when full)
RECRUITING = frozenset({"RECRUITING", "recruiting"})
_SITE_EXT = f"{EXTENSION_BASE}/site"
_SITE_STATUS_EXT = f"{EXTENSION_BASE}/site-status"


class StudyFacts(NamedTuple):
    """What ranking reads of one study version: strings and tuples only, which the garbage collector stops
    tracking, so that a large cache of them costs no collection time."""

    words: tuple[str, ...]  # criteria/relevance.py study_words
    topic: tuple[bytes, ...]  # ResearchStudy.condition, each as JSON (the same condition in many studies: a memo key)
    group_ref: str  # enrollment[0]: the eligibility Group
    sites: tuple[tuple[str, str], ...]  # (Location reference, display) of the sites a distance is measured to

    @property
    def conditions(self) -> tuple[dict[str, Any], ...]:
        """ResearchStudy.condition."""
        return tuple(orjson.loads(t) for t in self.topic)


@dataclass
class Candidate:
    id: str
    facts: StudyFacts
    site: dict[str, Any] | None
    distance_km: float | None
    relevance: float = 0.0
    bound: float = 1.0  # no judged score can pass it


_FACTS: dict[Key, StudyFacts] = {}
_LOCK = threading.Lock()


def site_statuses(study: dict[str, Any]) -> dict[str, str]:
    """Location reference -> this study's recruitment status there (on the site reference, or in the older
    top-level ``site`` extension)."""
    out: dict[str, str] = {}
    for ref in study.get("site") or ():
        for ext in ref.get("extension") or ():
            if ext.get("url") == _SITE_STATUS_EXT:
                codes = (ext.get("valueCodeableConcept") or {}).get("coding") or [ext.get("valueCoding") or {}]
                out[ref.get("reference", "")] = str((codes[0] or {}).get("code", ""))
    for ext in study.get("extension") or ():
        if ext.get("url") == _SITE_EXT:
            parts = {p.get("url"): p for p in ext.get("extension") or ()}
            loc = (parts.get("location") or {}).get("valueReference", {}).get("reference")
            status = parts.get("status") or {}
            coding = status.get("valueCoding") or ((status.get("valueCodeableConcept") or {}).get("coding") or [{}])[0]
            if loc:
                out[loc] = str(coding.get("code", ""))
    return out


def study_facts(study: dict[str, Any]) -> StudyFacts:
    """The facts of a parsed study: its distance counts to a recruiting site (to any when it records no per-site
    status)."""
    statuses = site_statuses(study)
    sites = tuple((str(ref.get("reference", "")), str(ref.get("display") or ""))
                  for ref in study.get("site") or ()
                  if not statuses or statuses.get(ref.get("reference", "")) in RECRUITING)
    return StudyFacts(tuple(sys.intern(w) for w in study_words(study)), tuple(orjson.dumps(c) for c in study.get("condition") or ()),
                      str((study.get("enrollment") or [{}])[0].get("reference", "")), sites)


def facts_of(repo: Repository, keys: list[Key]) -> dict[str, StudyFacts]:
    """Study id -> facts of its current version (that of ``keys`` when still current); the bodies of versions not
    seen before read together."""
    with _LOCK:
        out = {k.id: _FACTS[k] for k in keys if k in _FACTS}
    missing = [k.id for k in keys if k.id not in out]
    for start in range(0, len(missing), READ):
        read = repo.read_many("ResearchStudy", missing[start:start + READ])
        fresh = {Key(i, s.version_id, s.last_updated): study_facts(s.resource()) for i, s in read.items()}
        with _LOCK:
            if len(_FACTS) + len(fresh) > FACTS_KEPT:
                _FACTS.clear()
            _FACTS.update(fresh)
        out.update({k.id: f for k, f in fresh.items()})
    return out


def nearest(facts: StudyFacts, positions: dict[str, tuple[float, float]], centre: tuple[float, float]
            ) -> tuple[dict[str, Any] | None, float | None]:
    """The study's nearest site that counts (StudyFacts.sites) with a position, and its km."""
    best: tuple[float, dict[str, Any]] | None = None
    for ref, display in facts.sites:
        position = positions.get(ref)
        if position is None:
            continue
        km = haversine_km(centre[0], centre[1], position[0], position[1])
        if best is None or km < best[0]:
            best = (km, {"reference": ref, **({"display": display} if display else {})})
    return (best[1], best[0]) if best else (None, None)


def site_positions(repo: Repository, facts: list[StudyFacts]) -> dict[str, tuple[float, float]]:
    """"Location/id" -> position, for the sites of these studies (from the index, no Location read)."""
    ids = [ref.split("/", 1)[1] for f in facts for ref, _ in f.sites if ref.startswith("Location/")]
    return {f"Location/{i}": p for i, p in repo.positions(ids).items()}


def _study_pairs(inputs: MatchInputs) -> list[list[tuple[str, str]]]:
    """The searches whose union is the candidates. Within a radius: studies with a recruiting site within it
    (``site-status-near``), and studies that record no per-site status with any site within it."""
    pairs: list[tuple[str, str]] = []
    if inputs.studies:
        pairs.append(("_id", ",".join(inputs.studies)))
    if inputs.statuses:
        pairs.append(("recruitment", ",".join(inputs.statuses)))
    if inputs.phases:
        pairs.append(("phase", ",".join(inputs.phases)))
    pairs += [("condition:text", c) for c in inputs.conditions]
    if inputs.centre is None or inputs.radius_km is None:  # no distance filter (distances computed for all)
        return [pairs]
    lat, lon = inputs.centre
    place = f"{lat}|{lon}|{inputs.radius_km}|km"
    return [pairs + [("site-status-near", f"RECRUITING${place}")],
            pairs + [("site.near", place), ("site-status:missing", "true")]]


def candidates(repo: Repository, inputs: MatchInputs, issues: list[Issue]) -> list[Candidate]:
    """The studies the store's searches find (no recruiting site within reach: left out by the search), in the
    searches' order, at most MAX_CANDIDATES."""
    keys: dict[str, Key] = {}
    km: dict[str, float] = {}
    seen = 0
    for pairs in _study_pairs(inputs):
        request = parse_search("ResearchStudy", pairs + [("_total", "none")])
        found, distances = repo.search_keys(request, MAX_CANDIDATES - seen)
        for k in found:
            if k.id not in keys:
                keys[k.id] = k
                if k.id in distances:
                    km[k.id] = distances[k.id]
        seen += len(found)
        if seen >= MAX_CANDIDATES:
            issues.append(Issue("warning", "too-costly", f"Only the first {MAX_CANDIDATES} candidate studies were "
                                                         "judged: narrow the search (near, zipCode, condition, phase)"))
            break
    facts = facts_of(repo, list(keys.values()))
    out = [Candidate(i, facts[i], None, km.get(i)) for i in keys if i in facts]
    if inputs.centre is not None and inputs.radius_km is None:  # distances only: to every candidate's sites
        positions = site_positions(repo, [c.facts for c in out])
        for c in out:
            c.site, c.distance_km = nearest(c.facts, positions, inputs.centre)
    return out
