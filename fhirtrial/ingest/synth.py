"""Synthetic ClinicalTrials.gov API v2 study records for scale tests, deterministic by seed
(https://clinicaltrials.gov/data-api/api; vocabularies in synth_data.json, derived by synth_build)."""
from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Iterator
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from .synth_criteria import CriteriaWriter

DATA_FILE = Path(__file__).with_name("synth_data.json")
ID_SPACE = 10**7  # NCT9xxxxxxx: real ids have not reached NCT07, so these never clash with real studies
MAX_SITES = 500
_TODAY = 2025  # a fixed "now": output must not depend on the clock
_ACTIVE = {"RECRUITING", "NOT_YET_RECRUITING", "ENROLLING_BY_INVITATION", "ACTIVE_NOT_RECRUITING"}
_GENERIC_SITES = ("Research Site", "Investigational Site", "Clinical Research Site", "Local Institution")


@lru_cache(maxsize=1)
def load_data() -> dict[str, Any]:
    return orjson.loads(DATA_FILE.read_bytes())


def _cum(weights: list[float]) -> list[float]:
    return list(accumulate(weights))


class StudySynth:
    """Makes study ``i`` of the sequence for ``seed``; one Random stream, so a shorter run is a prefix of a longer one."""

    def __init__(self, seed: int, data: dict[str, Any] | None = None) -> None:
        self.rng = rng = random.Random(seed)
        self.data = d = data or load_data()
        self._weights = {k: (list(v), _cum(list(v.values()))) for k, v in d["weights"].items()}
        # An affine map mod 10^7 with a multiplier coprime to it gives distinct ids with no bookkeeping.
        self._mul = rng.randrange(1, ID_SPACE // 10) * 10 + rng.choice((1, 3, 7, 9))
        self._add = rng.randrange(ID_SPACE)
        # Heavy tail: P(k sites) ~ k^-2, so about 60 % of studies have one site and 0.5 % have 100 or more.
        self._sites_cum = _cum([k ** -2.0 for k in range(1, MAX_SITES + 1)])
        sponsors = list(d["sponsors"])
        rng.shuffle(sponsors)
        # Zipf-like popularity so big sponsors recur across thousands of studies, as in the registry.
        self._sponsors, self._sponsor_cum = sponsors, _cum([1 / (r + 1) for r in range(len(sponsors))])
        self._conditions, self._conditions_cum = d["conditions"], _cum([3.0 if c.get("keywords") is not None else 1.0
                                                                        for c in d["conditions"]])
        self.criteria = CriteriaWriter(rng, d["criteria"])

    def pick(self, key: str) -> str:
        names, cum = self._weights[key]
        return names[bisect(cum, self.rng.random() * cum[-1])]

    def nct_id(self, i: int) -> str:
        if not 0 <= i < ID_SPACE:
            raise ValueError(f"at most {ID_SPACE} synthetic studies")
        return f"NCT9{(self._mul * i + self._add) % ID_SPACE:07d}"

    def sites(self) -> int:
        return bisect(self._sites_cum, self.rng.random() * self._sites_cum[-1]) + 1

    def _date(self, year: int, precise: bool = True) -> str:
        month = self.rng.randint(1, 12)
        return f"{year}-{month:02d}-{self.rng.randint(1, 28):02d}" if precise else f"{year}-{month:02d}"

    def _person(self) -> str:
        n = self.data["names"]
        rng = self.rng
        degree = rng.choice(n["degrees"])
        name = f"{rng.choice(n['first'])} {rng.choice(n['last'])}"
        return f"{name}, {degree}" if degree else name

    def study(self, i: int) -> dict[str, Any]:
        rng = self.rng
        nct = self.nct_id(i)
        sponsor, sponsor_class = self._sponsors[bisect(self._sponsor_cum, rng.random() * self._sponsor_cum[-1])]
        conds = self._pick_conditions()
        ivs = rng.sample(self.data["interventions"], rng.choices((1, 2, 3, 4), (45, 35, 12, 8))[0])
        ident = {"nctId": nct, "orgStudyIdInfo": {"id": f"{sponsor[:3].upper().strip()}-{rng.randrange(100, 99999)}"},
                 "organization": {"fullName": sponsor, "class": sponsor_class}}
        study_type = self.pick("studyType")
        ident.update(self._titles(study_type, conds[0][0], ivs[0]["name"]))
        roll = rng.random()
        if roll < 0.02:  # partial records, like registry entries with only some modules released
            record: dict[str, Any] = {"protocolSection": {"identificationModule": ident}, "hasResults": False}
            if roll < 0.01:
                record["protocolSection"]["referencesModule"] = {"references": [{"pmid": str(rng.randrange(10**7, 4 * 10**7)),
                                                                                 "type": "BACKGROUND",
                                                                                 "citation": f"{self._person()} et al. {conds[0][0]}."}]}
            return record
        status = self.pick("expandedStatus" if study_type == "EXPANDED_ACCESS" else "overallStatus")
        observational = study_type == "OBSERVATIONAL"
        protocol: dict[str, Any] = {
            "identificationModule": ident,
            "statusModule": self._status(status),
            "sponsorCollaboratorsModule": self._sponsors_module(sponsor, sponsor_class),
            "descriptionModule": {"briefSummary": f"The purpose of this study is to evaluate {ivs[0]['name']} "
                                                  f"in participants with {conds[0][0]}."},
            "conditionsModule": {"conditions": [c[0] for c in conds]},
            "designModule": self._design(study_type, status),
            "armsInterventionsModule": self._arms(ivs, observational),
            "outcomesModule": self._outcomes(),
            "eligibilityModule": self._eligibility(observational),
        }
        keywords = [k for c in conds for k in c[2]][: rng.randint(0, 6)]
        if keywords:
            protocol["conditionsModule"]["keywords"] = keywords
        contacts = self._contacts(sponsor, sponsor_class, status)
        if contacts:
            protocol["contactsLocationsModule"] = contacts
        meshes = {m[0]: m[1] for c in conds for m in c[1]}
        derived: dict[str, Any] = {"miscInfoModule": {"versionHolder": "2025-01-01"}}
        if meshes:
            derived["conditionBrowseModule"] = {"meshes": [{"id": k, "term": v} for k, v in meshes.items()]}
        return {"protocolSection": protocol, "derivedSection": derived, "hasResults": False}

    def _pick_conditions(self) -> list[tuple[str, list[list[str]], list[str]]]:
        rng = self.rng
        out: list[tuple[str, list[list[str]], list[str]]] = []
        seen: set[str] = set()
        for _ in range(rng.choices((1, 2, 3, 4, 5), (60, 20, 10, 6, 4))[0]):
            group = self._conditions[bisect(self._conditions_cum, rng.random() * self._conditions_cum[-1])]
            names = group["conditions"] + (group["variants"] if rng.random() < 0.3 else [])
            name = rng.choice(names)
            if name not in seen:
                seen.add(name)
                out.append((name, group["meshes"], group.get("keywords") or []))
        return out

    def _titles(self, study_type: str, cond: str, iv: str) -> dict[str, str]:
        rng = self.rng
        if study_type == "OBSERVATIONAL":
            brief = rng.choice((f"{cond} Registry", f"Long-term Follow-up of Patients With {cond}",
                                f"Observational Study of {cond} Outcomes", f"Cohorte observationnelle : {cond}"))
        else:
            brief = rng.choice((f"A Study of {iv} in Participants With {cond}", f"{iv} Versus Placebo in {cond}",
                                f"Efficacy and Safety of {iv} for {cond}", f"Étude de {iv} chez des patients ({cond})"))
        out = {"briefTitle": brief, "officialTitle": f"{brief}: a {rng.choice(('Multicenter', 'Single-centre', 'Pilot'))} "
                                                      f"{'Prospective Cohort' if study_type == 'OBSERVATIONAL' else 'Trial'}"}
        if rng.random() < 0.3:
            out["acronym"] = "".join(w[0] for w in brief.split() if w[:1].isalpha()).upper()[:8]
        return out

    def _status(self, status: str) -> dict[str, Any]:
        rng = self.rng
        start = rng.randint(1999, _TODAY + (1 if status == "NOT_YET_RECRUITING" else 0))
        done = min(start + rng.randint(1, 6), _TODAY + 5)
        past = status not in _ACTIVE
        kind = "ACTUAL" if past else "ESTIMATED"
        out: dict[str, Any] = {"statusVerifiedDate": self._date(min(done, _TODAY), False), "overallStatus": status}
        if status == "UNKNOWN":
            out["lastKnownStatus"] = rng.choice(("RECRUITING", "ACTIVE_NOT_RECRUITING", "NOT_YET_RECRUITING"))
        if status in ("TERMINATED", "WITHDRAWN", "SUSPENDED"):
            out["whyStopped"] = rng.choice(("Sponsor decision", "Slow accrual", "COVID-19 pandemic",
                                            "Funding not obtained", "Étude arrêtée par le promoteur"))
        precise = rng.random() < 0.8
        out["startDateStruct"] = {"date": self._date(start, precise),
                                  "type": "ESTIMATED" if status == "NOT_YET_RECRUITING" else "ACTUAL"}
        out["primaryCompletionDateStruct"] = {"date": self._date(done, precise), "type": kind}
        out["completionDateStruct"] = {"date": self._date(done, precise), "type": kind}
        first = self._date(max(start - 1, 1999))
        out["studyFirstSubmitDate"] = first
        out["studyFirstPostDateStruct"] = {"date": first, "type": "ACTUAL"}
        last = self._date(min(done, _TODAY))
        out["lastUpdateSubmitDate"] = last
        out["lastUpdatePostDateStruct"] = {"date": last, "type": "ACTUAL"}
        return out

    def _sponsors_module(self, sponsor: str, sponsor_class: str) -> dict[str, Any]:
        out: dict[str, Any] = {"responsibleParty": {"type": "SPONSOR"},
                               "leadSponsor": {"name": sponsor, "class": sponsor_class}}
        if self.rng.random() < 0.3:
            out["collaborators"] = [{"name": n, "class": c} for n, c in
                                    self.rng.sample(self._sponsors[:20], self.rng.randint(1, 3)) if n != sponsor]
        return out

    def _design(self, study_type: str, status: str) -> dict[str, Any]:
        rng = self.rng
        count = 0 if status == "WITHDRAWN" else min(int(rng.lognormvariate(4.2, 1.3)) + 1, 100000)
        enrollment = {"count": count, "type": "ACTUAL" if status not in _ACTIVE else "ESTIMATED"}
        if study_type == "OBSERVATIONAL":
            return {"studyType": study_type, "patientRegistry": rng.random() < 0.15,
                    "designInfo": {"observationalModel": self.pick("observationalModel"),
                                   "timePerspective": self.pick("timePerspective")}, "enrollmentInfo": enrollment}
        if study_type == "EXPANDED_ACCESS":
            return {"studyType": study_type, "expandedAccessTypes": {"individual": True}}
        masking = self.pick("masking")
        mask: dict[str, Any] = {"masking": masking}
        who = ("PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR")
        depth = {"NONE": 0, "SINGLE": 1, "DOUBLE": 2, "TRIPLE": 3, "QUADRUPLE": 4}[masking]
        if depth:
            mask["whoMasked"] = list(who[:depth])
        return {"studyType": study_type, "phases": self.pick("phases").split("|"),
                "designInfo": {"allocation": self.pick("allocation"), "interventionModel": self.pick("interventionModel"),
                               "primaryPurpose": self.pick("primaryPurpose"), "maskingInfo": mask},
                "enrollmentInfo": enrollment}

    def _arms(self, ivs: list[dict[str, Any]], observational: bool) -> dict[str, Any]:
        arms, interventions = [], []
        for n, iv in enumerate(ivs, 1):
            label = f"Cohort {n}" if observational else f"{iv['name']}{self.rng.choice(('', ' arm', f' {n * 100} mg'))}"
            arm: dict[str, Any] = {"label": label, "interventionNames": [f"{iv['type'].replace('_', ' ').title()}: {iv['name']}"]}
            if not observational:
                arm["type"] = self.pick("armType")
            arms.append(arm)
            interventions.append({**iv, "armGroupLabels": [label]})
        return {"armGroups": arms, "interventions": interventions}

    def _outcomes(self) -> dict[str, Any]:
        rng, pool = self.rng, self.data["outcomes"]
        primary = [{"measure": m, "timeFrame": t or "12 months"} for m, t in rng.sample(pool, rng.randint(1, 3))]
        out: dict[str, Any] = {"primaryOutcomes": primary}
        n = min(int(rng.expovariate(1 / 4)), 30)
        if n:
            out["secondaryOutcomes"] = [{"measure": m, "timeFrame": t or "6 months"} for m, t in rng.choices(pool, k=n)]
        return out

    def _eligibility(self, observational: bool) -> dict[str, Any]:
        rng = self.rng
        low = rng.choice((18, 18, 18, 18, 12, 6, 40, 50, 65))
        out: dict[str, Any] = {"eligibilityCriteria": self.criteria.text(), "healthyVolunteers": rng.random() < 0.15,
                               "sex": self.pick("sex"), "minimumAge": f"{low} Years"}
        if rng.random() < 0.5:
            out["maximumAge"] = f"{rng.randint(max(low + 5, 30), 90)} Years"
        out["stdAges"] = ["ADULT", "OLDER_ADULT"] if low >= 18 else ["CHILD", "ADULT"]
        if observational:
            out["studyPopulation"] = "Patients followed at participating centres"
            out["samplingMethod"] = rng.choice(("NON_PROBABILITY_SAMPLE", "PROBABILITY_SAMPLE"))
        return out

    def _contacts(self, sponsor: str, sponsor_class: str, status: str) -> dict[str, Any]:
        rng = self.rng
        out: dict[str, Any] = {}
        if rng.random() < 0.7:
            out["overallOfficials"] = [{"name": self._person(), "affiliation": sponsor,
                                        "role": rng.choice(("PRINCIPAL_INVESTIGATOR", "STUDY_DIRECTOR", "STUDY_CHAIR"))}]
        if status == "WITHDRAWN" and rng.random() < 0.5:
            return out
        recruiting = status in ("RECRUITING", "NOT_YET_RECRUITING")
        if recruiting:
            out["centralContacts"] = [{"name": self._person(), "role": "CONTACT",
                                       "email": f"trials{rng.randrange(1000)}@example.org"}]
        generic = 0.3 if sponsor_class == "INDUSTRY" else 0.0
        locations = []
        for fac in rng.sample(self.data["facilities"], self.sites()):
            loc = dict(fac)
            if "geoPoint" in fac:
                loc["geoPoint"] = dict(fac["geoPoint"])
            if generic and rng.random() < generic:
                # "Research Site" in a hundred cities: same name, different places, as industry trials post them.
                loc["facility"] = rng.choice(_GENERIC_SITES)
            if recruiting:
                loc["status"] = status if rng.random() < 0.8 else "NOT_YET_RECRUITING"
            locations.append(loc)
        out["locations"] = locations
        return out


def generate(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """``n`` synthetic API v2 study records, the same for the same seed."""
    synth = StudySynth(seed)
    for i in range(n):
        yield synth.study(i)
