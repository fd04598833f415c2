"""``ResearchStudy/$match`` run against the store: candidate studies from the server's own search, their
eligibility Groups and sites, each judged (fhirtrial.criteria.judge), ranked into a ``searchset`` Bundle.

https://hl7.org/fhir/R4/bundle.html#searchset (``search.mode = match``, ``search.score``); the report is the
``match-report`` extension on ``entry.search`` (fhirtrial/criteria/report.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import orjson

from ..canonical import EXTENSION_BASE
from ..criteria.judge import AGREEMENT, INELIGIBLE, MET, RELEVANCE, TOPICAL, StudyMatch, judge, rescored, \
    study_conditions
from ..criteria.relevance import record_words, relevance, study_words
from ..criteria.patient import PatientRecord, read_record
from ..criteria.report import report_extension
from ..errors import InvalidRequest, Issue, NotFound, Gone
from ..search.geo import haversine_km
from ..search.parser import parse_search
from ..store.repository import Repository, StoredResource
from .match_inputs import MILE_KM, PATIENT_TYPES, MatchInputs, split_patient

PAGE = 200  # studies per search page (their sites are included with them)
CHUNK = 10  # at least this many studies judged between two checks of the bound (their Groups read together)
MAX_CANDIDATES = 20_000  # judged per request at most; past it the answer says so
RECRUITING = frozenset({"RECRUITING", "recruiting"})
LOCATION_DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"
_SITE_EXT = f"{EXTENSION_BASE}/site"
_SITE_STATUS_EXT = f"{EXTENSION_BASE}/site-status"


@dataclass
class Judged:
    stored: StoredResource
    match: StudyMatch
    site: dict[str, Any] | None
    distance_km: float | None
    group_ref: str | None


def _all(repo: Repository, rtype: str, pairs: list[tuple[str, str]], limit: int) -> Iterator[Any]:
    parsed = parse_search(rtype, pairs + [("_count", str(PAGE)), ("_total", "none")], max_count=PAGE)
    cursor: str | None = None
    seen = 0
    while True:
        page = repo.search(parsed, cursor=cursor)
        yield page
        seen += len(page.matches)
        cursor = page.next_cursor
        if cursor is None or seen >= limit:
            return


def read_subject(repo: Repository, patient_id: str, inputs: MatchInputs
                 ) -> tuple[dict[str, Any], list[tuple[dict[str, Any], str | None]]]:
    """The stored Patient and its resources (the caller has checked the token)."""
    try:
        patient = repo.read("Patient", patient_id).resource()
    except (NotFound, Gone):
        raise InvalidRequest(f"subject: Patient/{patient_id} is not known on this server", expression="subject") \
            from None
    others: list[tuple[dict[str, Any], str | None]] = [(patient, None)]
    for rtype in PATIENT_TYPES:
        for page in _all(repo, rtype, [("patient", f"Patient/{patient_id}")], 100_000):
            others += [(s.resource(), None) for s in page.matches]
    return split_patient(others, inputs.at, "subject")


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
    if inputs.centre is None:
        return [pairs]
    lat, lon = inputs.centre
    if inputs.radius_km is None:  # distances only: every study, its sites read with it
        return [pairs + [("_include", "ResearchStudy:site")]]
    place = f"{lat}|{lon}|{inputs.radius_km}|km"
    return [pairs + [("site-status-near", f"RECRUITING${place}")],
            pairs + [("site.near", place), ("site-status:missing", "true")]]


def _site_statuses(study: dict[str, Any]) -> dict[str, str]:
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


def nearest_site(study: dict[str, Any], locations: dict[str, dict[str, Any]], centre: tuple[float, float]
                 ) -> tuple[dict[str, Any] | None, float | None]:
    """The study's nearest recruiting site (any site when the study records no per-site status) and its km."""
    statuses = _site_statuses(study)
    best: tuple[float, dict[str, Any]] | None = None
    for ref in study.get("site") or ():
        target = ref.get("reference", "")
        if statuses and statuses.get(target) not in RECRUITING:
            continue
        position = (locations.get(target) or {}).get("position") or {}
        if not isinstance(position.get("latitude"), (int, float)) or not isinstance(position.get("longitude"),
                                                                                   (int, float)):
            continue
        km = haversine_km(centre[0], centre[1], float(position["latitude"]), float(position["longitude"]))
        if best is None or km < best[0]:
            best = (km, {"reference": target, **({"display": ref["display"]} if ref.get("display") else {})})
    return (best[1], best[0]) if best else (None, None)


def _by_id(repo: Repository, rtype: str, refs: list[str]) -> dict[str, dict[str, Any]]:
    ids = [r.split("/", 1)[1] for r in refs if r.startswith(f"{rtype}/")]
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), PAGE):
        chunk = ids[i:i + PAGE]
        for page in _all(repo, rtype, [("_id", ",".join(chunk))], len(chunk)):
            out.update({f"{rtype}/{s.id}": s.resource() for s in page.matches})
    return out


_WORDS: dict[tuple[str, int], list[str]] = {}  # a study version's words (bounded: cleared when full)


def _words(stored: StoredResource, study: dict[str, Any]) -> list[str]:
    key = (stored.id, stored.version_id)
    if key not in _WORDS:
        if len(_WORDS) > 200_000:
            _WORDS.clear()
        _WORDS[key] = study_words(study)
    return _WORDS[key]


@dataclass
class Candidate:
    stored: StoredResource
    study: dict[str, Any]
    site: dict[str, Any] | None
    distance_km: float | None
    relevance: float = 0.0
    bound: float = 1.0  # no judged score can pass it


def candidates(repo: Repository, inputs: MatchInputs, issues: list[Issue]) -> list[Candidate]:
    """The studies the store's searches find (no recruiting site within reach: left out by the search)."""
    out: dict[str, Candidate] = {}
    seen = 0
    for pairs in _study_pairs(inputs):
        for page in _all(repo, "ResearchStudy", pairs, MAX_CANDIDATES):
            locations = {f"Location/{s.id}": s.resource() for s in page.included if s.resource_type == "Location"}
            for stored in page.matches:
                if stored.body is None or stored.id in out:
                    continue
                study = orjson.loads(stored.body)
                km = page.distances.get(("ResearchStudy", stored.id))
                site = None
                if inputs.centre is not None and inputs.radius_km is None:
                    site, km = nearest_site(study, _with_missing(repo, study, locations), inputs.centre)
                out[stored.id] = Candidate(stored, study, site, km)
            seen += len(page.matches)
    if seen >= MAX_CANDIDATES:
        issues.append(Issue("warning", "too-costly", f"Only the first {MAX_CANDIDATES} candidate studies were "
                                                     "judged: narrow the search (near, zipCode, condition, phase)"))
    return list(out.values())


def _with_missing(repo: Repository, study: dict[str, Any], locations: dict[str, dict[str, Any]]
                  ) -> dict[str, dict[str, Any]]:
    """``locations`` with the study's sites an include left out (past its limit) read by id."""
    missing = {r.get("reference", "") for r in study.get("site") or ()} - set(locations)
    if missing:
        locations.update(_by_id(repo, "Location", sorted(m for m in missing if m.startswith("Location/"))))
    return locations


def name_sites(repo: Repository, judged: list["Judged"], centre: tuple[float, float]) -> None:
    """The nearest recruiting site of each study of the answer, and its distance (read for these only)."""
    for j in judged:
        if j.site is None:
            study = orjson.loads(j.stored.body or b"{}")
            site, km = nearest_site(study, _with_missing(repo, study, {}), centre)
            if site is not None:
                j.site, j.distance_km = site, km


def judge_all(repo: Repository, inputs: MatchInputs, record: PatientRecord) -> tuple[list[Judged], list[Issue], bool]:
    """The candidates judged best first, until no unjudged one can enter the answer: (judged, issues, whether
    every candidate was judged). Each candidate's score is bounded before its Group is read (its band, its
    conditions, its relevance, the agreement term at most), so the others need not be judged."""
    issues: list[Issue] = []
    found = candidates(repo, inputs, issues)
    for c, r in zip(found, relevance(record_words(record), [_words(c.stored, c.study) for c in found])):
        topical = study_conditions(c.study.get("condition") or (), record, inputs.at).verdict == MET
        c.relevance = r
        c.bound = 0.5 + (TOPICAL if topical else 0.0) + AGREEMENT + RELEVANCE * r
    found.sort(key=lambda c: -c.bound)
    judged: list[Judged] = []
    kept: list[float] = []  # scores of the studies the answer can hold, best first
    step = min(PAGE, max(CHUNK, 2 * inputs.count))
    for i in range(0, len(found), step):
        if 0 < inputs.count <= len(kept) and found[i].bound < kept[inputs.count - 1]:
            return judged, issues, False  # no study left can enter the first ``count``
        chunk = found[i:i + step]
        refs = [(c.study.get("enrollment") or [{}])[0].get("reference", "") for c in chunk]
        groups = _by_id(repo, "Group", [r for r in refs if r])
        for c, ref in zip(chunk, refs):
            match = rescored(judge(groups.get(ref) or {}, record, inputs.at, c.study.get("condition") or ()),
                             c.relevance)
            judged.append(Judged(c.stored, match, c.site, c.distance_km, ref or None))
            if inputs.include_ineligible or match.verdict != INELIGIBLE:
                kept.append(match.score)
        kept.sort(reverse=True)
    if found and not any(j.group_ref for j in judged):
        issues.append(Issue("information", "informational", "No candidate study has an eligibility Group"))
    return judged, issues, True


def patient_record(inputs: MatchInputs, patient: dict[str, Any],
                   others: list[tuple[dict[str, Any], str | None]]) -> PatientRecord:
    return read_record(patient, others, complete=inputs.record_complete, consent=inputs.assume_consent)


def result_bundle(judged: list[Judged], inputs: MatchInputs, record: PatientRecord, base: str,
                  issues: list[Issue], complete: bool = True, repo: Repository | None = None) -> dict[str, Any]:
    """The ranked searchset: best score first (then nearest, then id), ineligible studies only when asked."""
    kept = [j for j in judged if inputs.include_ineligible or j.match.verdict != INELIGIBLE]
    kept.sort(key=lambda j: (-j.match.score, j.distance_km if j.distance_km is not None else float("inf"),
                             j.stored.id))
    total = len(kept)
    entries: list[dict[str, Any]] = []
    if repo is not None and inputs.centre is not None:
        name_sites(repo, kept[:inputs.count], inputs.centre)
    for j in kept[:inputs.count]:
        exts = [report_extension(j.match, eligibility=j.group_ref, record_complete=record.complete, site=j.site,
                                 distance_mi=j.distance_km / MILE_KM if j.distance_km is not None else None)]
        if j.distance_km is not None:
            exts.append({"url": LOCATION_DISTANCE, "valueDistance": {
                "value": round(j.distance_km, 3), "unit": "km", "system": "http://unitsofmeasure.org", "code": "km"}})
        entries.append({"fullUrl": f"{base}/ResearchStudy/{j.stored.id}",
                        "resource": orjson.Fragment(j.stored.body),
                        "search": {"extension": exts, "mode": "match", "score": j.match.score}})
    if inputs.ignored:
        issues = issues + [Issue("warning", "not-supported", f"Parameter {name} is not known to $match and was "
                                                             "ignored", (name,)) for name in inputs.ignored]
    if issues:
        entries.append({"resource": {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in issues]},
                        "search": {"mode": "outcome"}})
    out: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if complete:  # every candidate judged: the number of studies that fit is known
        out["total"] = total
    return {**out, "entry": entries}
