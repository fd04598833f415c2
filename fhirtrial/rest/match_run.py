"""``ResearchStudy/$match`` run against the store: the candidate studies (rest/match_candidates.py) bounded and
judged best first (fhirtrial.criteria.judge, their eligibility Groups read a chunk at a time), ranked into a
``searchset`` Bundle whose studies alone are read whole.

https://hl7.org/fhir/R4/bundle.html#searchset (``search.mode = match``, ``search.score``); the report is the
``match-report`` extension on ``entry.search`` (fhirtrial/criteria/report.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterator

import orjson

from ..criteria.judge import AGREEMENT, INELIGIBLE, MET, RELEVANCE, TOPICAL, StudyMatch, judge, rescored, \
    study_conditions
from ..criteria.relevance import record_words, relevance
from ..criteria.patient import PatientRecord, read_record
from ..criteria.report import report_extension
from ..errors import InvalidRequest, Issue, NotFound, Gone
from ..search.parser import parse_search
from ..store.repository import Repository
from .match_candidates import Candidate, StudyFacts, candidates, nearest, site_positions
from .match_inputs import MILE_KM, PATIENT_TYPES, MatchInputs, split_patient

PAGE = 200  # resources per search page (a stored subject's)
CHUNK = 10  # at least this many studies judged between two checks of the bound (their Groups read together)
LOCATION_DISTANCE = "http://hl7.org/fhir/StructureDefinition/location-distance"


@dataclass
class Judged:
    id: str
    facts: StudyFacts
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


def name_sites(repo: Repository, judged: list["Judged"], centre: tuple[float, float]) -> None:
    """The nearest recruiting site of each study of the answer, and its distance (read for these only)."""
    unnamed = [j for j in judged if j.site is None]
    positions = site_positions(repo, [j.facts for j in unnamed])
    for j in unnamed:
        site, km = nearest(j.facts, positions, centre)
        if site is not None:
            j.site, j.distance_km = site, km


def _topical(found: list[Candidate], record: PatientRecord, at: date) -> list[bool]:
    """Whether the patient has one of each study's conditions (criteria.judge.study_conditions met: one of them
    met), each distinct condition judged once."""
    memo: dict[bytes, bool] = {}
    out = []
    for c in found:
        hit = False
        for key in c.facts.topic:
            if key not in memo:
                memo[key] = study_conditions([orjson.loads(key)], record, at).verdict == MET
            if memo[key]:
                hit = True
                break
        out.append(hit)
    return out


def judge_all(repo: Repository, inputs: MatchInputs, record: PatientRecord) -> tuple[list[Judged], list[Issue], bool]:
    """The candidates judged best first, until no unjudged one can enter the answer: (judged, issues, whether
    every candidate was judged). Each candidate's score is bounded before its Group is read (its band, its
    conditions, its relevance, the agreement term at most), so the others need not be judged."""
    issues: list[Issue] = []
    found = candidates(repo, inputs, issues)
    scores = relevance(record_words(record), [c.facts.words for c in found])
    for c, r, topical in zip(found, scores, _topical(found, record, inputs.at)):
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
        refs = [c.facts.group_ref for c in chunk]
        ids = [r.split("/", 1)[1] for r in refs if r.startswith("Group/")]
        groups = {f"Group/{i}": s.resource() for i, s in repo.read_many("Group", ids).items()}
        for c, ref in zip(chunk, refs):
            match = rescored(judge(groups.get(ref) or {}, record, inputs.at, c.facts.conditions), c.relevance)
            judged.append(Judged(c.id, c.facts, match, c.site, c.distance_km, ref or None))
            if inputs.include_ineligible or match.verdict != INELIGIBLE:
                kept.append(match.score)
        kept.sort(reverse=True)
    if found and not any(j.group_ref for j in judged):
        issues.append(Issue("information", "informational", "No candidate study has an eligibility Group"))
    return judged, issues, True


def patient_record(inputs: MatchInputs, patient: dict[str, Any],
                   others: list[tuple[dict[str, Any], str | None]]) -> PatientRecord:
    return read_record(patient, others, complete=inputs.record_complete, consent=inputs.assume_consent)


def result_bundle(repo: Repository, judged: list[Judged], inputs: MatchInputs, record: PatientRecord,
                  base: str, issues: list[Issue], complete: bool = True) -> dict[str, Any]:
    """The ranked searchset: best score first (then nearest, then id), ineligible studies only when asked; the
    bodies of the studies of the answer are read now (a study deleted since it was judged is left out)."""
    kept = [j for j in judged if inputs.include_ineligible or j.match.verdict != INELIGIBLE]
    kept.sort(key=lambda j: (-j.match.score, j.distance_km if j.distance_km is not None else float("inf"),
                             j.id))
    total = len(kept)
    entries: list[dict[str, Any]] = []
    answer = kept[:inputs.count]
    if inputs.centre is not None:
        name_sites(repo, answer, inputs.centre)
    bodies = repo.read_many("ResearchStudy", [j.id for j in answer]) if answer else {}
    for j in answer:
        if j.id not in bodies:
            continue
        exts = [report_extension(j.match, eligibility=j.group_ref, record_complete=record.complete, site=j.site,
                                 distance_mi=j.distance_km / MILE_KM if j.distance_km is not None else None)]
        if j.distance_km is not None:
            exts.append({"url": LOCATION_DISTANCE, "valueDistance": {
                "value": round(j.distance_km, 3), "unit": "km", "system": "http://unitsofmeasure.org", "code": "km"}})
        entries.append({"fullUrl": f"{base}/ResearchStudy/{j.id}",
                        "resource": orjson.Fragment(bodies[j.id].body),
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
