"""Derives ``synth_data.json`` (the vocabularies of ``fhirtrial synth``) from real API v2 records
(https://clinicaltrials.gov/data-api/api). Run: ``python -m fhirtrial.ingest.synth_build ../shared/data/ctgov``.

Real facilities, sponsors, conditions with their MeSH terms, interventions, outcome measures and
criteria sentences are taken from the records; a few hundred records cannot give registry-wide
frequencies, so the category weights below are approximate registry proportions, and small curated
pools widen the vocabularies (with the accents and odd spellings the registry is full of).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import orjson

OUT = Path(__file__).with_name("synth_data.json")

WEIGHTS: dict[str, dict[str, float]] = {
    "studyType": {"INTERVENTIONAL": 77, "OBSERVATIONAL": 22.5, "EXPANDED_ACCESS": 0.5},
    "overallStatus": {"COMPLETED": 52, "UNKNOWN": 17, "RECRUITING": 10, "TERMINATED": 6, "ACTIVE_NOT_RECRUITING": 4,
                      "NOT_YET_RECRUITING": 4, "WITHDRAWN": 3, "ENROLLING_BY_INVITATION": 1.5, "SUSPENDED": 0.5},
    "expandedStatus": {"AVAILABLE": 40, "NO_LONGER_AVAILABLE": 40, "APPROVED_FOR_MARKETING": 15,
                       "TEMPORARILY_NOT_AVAILABLE": 5},
    "phases": {"NA": 45, "PHASE1": 12, "PHASE2": 16, "PHASE3": 10, "PHASE4": 9, "EARLY_PHASE1": 2,
               "PHASE1|PHASE2": 4.5, "PHASE2|PHASE3": 1.5},
    "allocation": {"RANDOMIZED": 62, "NON_RANDOMIZED": 13, "NA": 25},
    "interventionModel": {"PARALLEL": 60, "SINGLE_GROUP": 30, "CROSSOVER": 8, "FACTORIAL": 1.5, "SEQUENTIAL": 0.5},
    "primaryPurpose": {"TREATMENT": 60, "PREVENTION": 9, "SUPPORTIVE_CARE": 6, "DIAGNOSTIC": 5, "BASIC_SCIENCE": 7,
                       "HEALTH_SERVICES_RESEARCH": 5, "OTHER": 6, "SCREENING": 1, "DEVICE_FEASIBILITY": 1},
    "masking": {"NONE": 52, "SINGLE": 14, "DOUBLE": 12, "TRIPLE": 9, "QUADRUPLE": 13},
    "observationalModel": {"COHORT": 65, "CASE_CONTROL": 12, "CASE_ONLY": 12, "OTHER": 8, "ECOLOGIC_OR_COMMUNITY": 1,
                           "FAMILY_BASED": 1, "CASE_CROSSOVER": 1},
    "timePerspective": {"PROSPECTIVE": 62, "RETROSPECTIVE": 25, "CROSS_SECTIONAL": 11, "OTHER": 2},
    "sex": {"ALL": 86, "FEMALE": 10, "MALE": 4},
    "armType": {"EXPERIMENTAL": 50, "ACTIVE_COMPARATOR": 18, "PLACEBO_COMPARATOR": 14, "NO_INTERVENTION": 6,
                "SHAM_COMPARATOR": 3, "OTHER": 9},
}

CURATED_CONDITIONS: list[dict[str, Any]] = [
    {"conditions": ["Type 2 Diabetes"], "variants": ["Diabetes Mellitus, Type 2", "T2DM", "type2 diabetes"],
     "meshes": [["D000003924", "Diabetes Mellitus, Type 2"]]},
    {"conditions": ["Hypertension"], "variants": ["High Blood Pressure", "Hypertension, Essential", "HTA"],
     "meshes": [["D000006973", "Hypertension"]]},
    {"conditions": ["Asthma"], "variants": ["Asthma in Children", "asthme"], "meshes": [["D000001249", "Asthma"]]},
    {"conditions": ["Alzheimer Disease"], "variants": ["Alzheimer's Disease", "Maladie d'Alzheimer"],
     "meshes": [["D000000544", "Alzheimer Disease"]]},
    {"conditions": ["Major Depressive Disorder"], "variants": ["Depression", "Trastorno depresivo mayor"],
     "meshes": [["D000003865", "Depressive Disorder, Major"]]},
    {"conditions": ["COVID-19"], "variants": ["Covid19", "SARS-CoV-2 Infection", "COVID-19 Pneumonia"],
     "meshes": [["D000086382", "COVID-19"]]},
    {"conditions": ["HIV Infections"], "variants": ["HIV", "HIV-1-infection"], "meshes": [["D000015658", "HIV Infections"]]},
    {"conditions": ["Obesity"], "variants": ["Obesity, Morbid", "Overweight and Obesity"],
     "meshes": [["D000009765", "Obesity"]]},
    {"conditions": ["Non-small Cell Lung Cancer"], "variants": ["NSCLC", "Carcinoma, Non-Small-Cell Lung"],
     "meshes": [["D000002289", "Carcinoma, Non-Small-Cell Lung"], ["D000008175", "Lung Neoplasms"]]},
    {"conditions": ["Prostate Cancer"], "variants": ["Prostatic Neoplasms", "Cancer de la prostate"],
     "meshes": [["D000011471", "Prostatic Neoplasms"]]},
    {"conditions": ["Schizophrenia"], "variants": ["Schizophrénie"], "meshes": [["D000012559", "Schizophrenia"]]},
    {"conditions": ["Parkinson Disease"], "variants": ["Parkinson's Disease", "Morbus Parkinson"],
     "meshes": [["D000010300", "Parkinson Disease"]]},
    {"conditions": ["Heart Failure"], "variants": ["Heart Failure With Reduced Ejection Fraction", "HFpEF"],
     "meshes": [["D000006333", "Heart Failure"]]},
    {"conditions": ["Stroke"], "variants": ["Acute Ischemic Stroke", "Accident vasculaire cérébral"],
     "meshes": [["D000020521", "Stroke"]]},
    {"conditions": ["Rheumatoid Arthritis"], "variants": ["Arthritis, Rheumatoid", "RA"],
     "meshes": [["D000001172", "Arthritis, Rheumatoid"]]},
    {"conditions": ["Colorectal Cancer"], "variants": ["Colorectal Neoplasms", "Metastatic Colorectal Cancer"],
     "meshes": [["D000015179", "Colorectal Neoplasms"]]},
    {"conditions": ["Multiple Sclerosis"], "variants": ["Relapsing Multiple Sclerosis", "Esclerosis múltiple"],
     "meshes": [["D000009103", "Multiple Sclerosis"]]},
    {"conditions": ["Psoriasis"], "variants": ["Plaque Psoriasis", "Psoriasis Vulgaris"],
     "meshes": [["D000011565", "Psoriasis"]]},
    {"conditions": ["COPD"], "variants": ["Chronic Obstructive Pulmonary Disease", "BPCO"],
     "meshes": [["D000029424", "Pulmonary Disease, Chronic Obstructive"]]},
    {"conditions": ["Pain, Postoperative"], "variants": ["Postoperative Pain", "Post-operative pain "],
     "meshes": [["D000010149", "Pain, Postoperative"]]},
    {"conditions": ["Knee Osteoarthritis"], "variants": ["Osteoarthritis, Knee", "Gonarthrose"],
     "meshes": [["D000020370", "Osteoarthritis, Knee"]]},
    {"conditions": ["Melanoma"], "variants": ["Malignant Melanoma", "Melanoma (Skin)"], "meshes": [["D000008545", "Melanoma"]]},
    {"conditions": ["Acute Myeloid Leukemia"], "variants": ["AML", "Leukemia, Myeloid, Acute"],
     "meshes": [["D000015470", "Leukemia, Myeloid, Acute"]]},
    {"conditions": ["Hepatitis C"], "variants": ["Chronic Hepatitis C", "HCV"], "meshes": [["D000006526", "Hepatitis C"]]},
    {"conditions": ["Crohn Disease"], "variants": ["Crohn's Disease", "Morbus Crohn"], "meshes": [["D000003424", "Crohn Disease"]]},
    {"conditions": ["Migraine"], "variants": ["Migraine Disorders", "Chronic Migraine"],
     "meshes": [["D000008881", "Migraine Disorders"]]},
    {"conditions": ["Sickle Cell Disease"], "variants": ["Anemia, Sickle Cell", "Drépanocytose"],
     "meshes": [["D000000755", "Anemia, Sickle Cell"]]},
    {"conditions": ["Epilepsy"], "variants": ["Drug Resistant Epilepsy", "Épilepsie"], "meshes": [["D000004827", "Epilepsy"]]},
    {"conditions": ["Atrial Fibrillation"], "variants": ["AF", "Vorhofflimmern"], "meshes": [["D000001281", "Atrial Fibrillation"]]},
    {"conditions": ["Chronic Kidney Disease"], "variants": ["CKD", "Kidney Failure, Chronic", "End Stage Renal Disease"],
     "meshes": [["D000051436", "Renal Insufficiency, Chronic"]]},
    {"conditions": ["Healthy"], "variants": ["Healthy Volunteers", "Healthy Participants"], "meshes": []},
    {"conditions": ["Pancreatic Cancer"], "variants": ["Pancreatic Ductal Adenocarcinoma", "Cáncer de páncreas"],
     "meshes": [["D000010190", "Pancreatic Neoplasms"]]},
    {"conditions": ["Ovarian Cancer"], "variants": ["Ovarian Neoplasms", "Epithelial Ovarian Cancer"],
     "meshes": [["D000010051", "Ovarian Neoplasms"]]},
    {"conditions": ["Tuberculosis"], "variants": ["Pulmonary Tuberculosis", "TB"], "meshes": [["D000014376", "Tuberculosis"]]},
    {"conditions": ["Malaria"], "variants": ["Malaria, Falciparum", "Plasmodium Falciparum Malaria"],
     "meshes": [["D000008288", "Malaria"]]},
    {"conditions": ["Autism Spectrum Disorder"], "variants": ["Autism", "ASD"],
     "meshes": [["D000067877", "Autism Spectrum Disorder"]]},
    {"conditions": ["Insomnia"], "variants": ["Sleep Initiation and Maintenance Disorders", "Insomnie"],
     "meshes": [["D000007319", "Sleep Initiation and Maintenance Disorders"]]},
    {"conditions": ["Anxiety"], "variants": ["Anxiety Disorders", "Generalized Anxiety Disorder"],
     "meshes": [["D000001008", "Anxiety Disorders"]]},
]

CURATED_SPONSORS: list[list[str]] = [
    ["Pfizer", "INDUSTRY"], ["Novartis Pharmaceuticals", "INDUSTRY"], ["AstraZeneca", "INDUSTRY"],
    ["Hoffmann-La Roche", "INDUSTRY"], ["Merck Sharp & Dohme LLC", "INDUSTRY"], ["Bayer", "INDUSTRY"],
    ["Eli Lilly and Company", "INDUSTRY"], ["Sanofi", "INDUSTRY"], ["Novo Nordisk A/S", "INDUSTRY"],
    ["National Cancer Institute (NCI)", "NIH"], ["National Heart, Lung, and Blood Institute (NHLBI)", "NIH"],
    ["Mayo Clinic", "OTHER"], ["M.D. Anderson Cancer Center", "OTHER"], ["Massachusetts General Hospital", "OTHER"],
    ["Assistance Publique - Hôpitaux de Paris", "OTHER"], ["Hospices Civils de Lyon", "OTHER"],
    ["Charité – Universitätsmedizin Berlin", "OTHER"], ["Universitätsklinikum Tübingen", "OTHER"],
    ["Fundación Pública Andaluza para la Gestión de la Investigación en Salud de Sevilla", "OTHER"],
    ["Hospital Israelita Albert Einstein", "OTHER"], ["Peking Union Medical College Hospital", "OTHER"],
    ["Seoul National University Hospital", "OTHER"], ["Karolinska Institutet", "OTHER"],
    ["Rigshospitalet, Denmark", "OTHER"], ["Università degli Studi di Milano", "OTHER"],
    ["Assiut University", "OTHER"], ["Cairo University", "OTHER"], ["Tehran University of Medical Sciences", "OTHER"],
    ["Centre Hospitalier Universitaire de Nīmes", "OTHER"], ["Instituto Nacional de Cancerologia de Mexico", "OTHER"],
    ["ECOG-ACRIN Cancer Research Group", "NETWORK"], ["European Organisation for Research and Treatment of Cancer - EORTC", "NETWORK"],
    ["U.S. Army Medical Research and Development Command", "FED"], ["Smith, John", "INDIV"],
]

CURATED_CRITERIA = {
    "inclusion": ["Patient(e) âgé(e) de ≥ 18 ans", "Capacité à donner un consentement éclairé écrit",
                  "Signed informed consent", "ECOG performance status 0-1", "Body mass index (BMI) 18.5 - 35 kg/m²",
                  "Life expectancy ≥ 12 weeks", "Adequate organ function as defined by:"],
    "exclusion": ["Mujeres embarazadas o en período de lactancia", "Pregnant or breastfeeding women",
                  "Known hypersensitivity to any component of the study drug",
                  "Participation in another interventional study within 30 days", "eGFR \\< 30 mL/min/1.73m²",
                  "Any condition that, in the opinion of the investigator, would interfere with the study"],
}

CURATED_INTERVENTIONS: list[dict[str, Any]] = [
    {"type": "DRUG", "name": "Metformin", "description": "500 mg tablets, twice daily"},
    {"type": "DRUG", "name": "Pembrolizumab", "otherNames": ["MK-3475", "Keytruda®"]},
    {"type": "DRUG", "name": "Nivolumab", "otherNames": ["BMS-936558", "Opdivo"]},
    {"type": "DRUG", "name": "Semaglutide", "description": "Subcutaneous injection once weekly"},
    {"type": "DRUG", "name": "Acetaminophen", "otherNames": ["Paracetamol", "Paracétamol"]},
    {"type": "DRUG", "name": "Dexmedetomidine", "description": "0.5 µg/kg IV bolus"},
    {"type": "BIOLOGICAL", "name": "BNT162b2", "otherNames": ["Comirnaty"]},
    {"type": "BIOLOGICAL", "name": "Adalimumab", "otherNames": ["Humira"]},
    {"type": "DEVICE", "name": "Continuous Glucose Monitor", "description": "Dexcom G6 sensor worn for 14 days"},
    {"type": "PROCEDURE", "name": "Laparoscopic cholecystectomy"},
    {"type": "PROCEDURE", "name": "Transcranial magnetic stimulation (rTMS)"},
    {"type": "BEHAVIORAL", "name": "Cognitive Behavioral Therapy", "description": "12 weekly sessions of 50 min"},
    {"type": "BEHAVIORAL", "name": "Mindfulness-based stress reduction (MBSR)"},
    {"type": "RADIATION", "name": "Stereotactic Body Radiation Therapy", "otherNames": ["SBRT"]},
    {"type": "DIAGNOSTIC_TEST", "name": "Low-dose CT screening"},
    {"type": "DIETARY_SUPPLEMENT", "name": "Vitamin D3", "description": "Cholécalciférol 50 000 IU/week"},
    {"type": "GENETIC", "name": "CRISPR-edited autologous CD34+ cells"},
    {"type": "COMBINATION_PRODUCT", "name": "Insulin pump with closed-loop algorithm"},
    {"type": "OTHER", "name": "Standard of care"},
]

FIRST = ["María", "José", "Zoë", "François", "Jürgen", "Søren", "Łukasz", "Ana", "Chen", "Wei", "Aiko", "Olúwaseun",
         "Mohammed", "Fatima", "Ines", "Björn", "Ramón", "Anaïs", "Priya", "David", "Sarah", "Kwame", "Nguyễn", "Élodie"]
LAST = ["García", "Müller", "Nowak", "Dubois", "Rossi", "Kowalski", "Nakamura", "Smith", "O'Brien", "Løvås",
        "Fernández-López", "Öztürk", "van der Berg", "Papadopoulos", "Li", "Kim", "Ibrahim", "Şahin", "Novák", "Jones"]
DEGREES = ["MD", "MD, PhD", "PhD", "", "MSc", "Prof.", "MD, MPH", "RN"]


def _criteria(text: str) -> dict[str, list[str]]:
    """Sentences of real criteria, markers stripped: the generator re-applies bullets and numbering."""
    out: dict[str, list[str]] = {"inclusion": [], "exclusion": [], "nested": [], "notes": [], "subheadings": []}
    section = "inclusion"
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        lowered = line.lower()
        if "criteria" in lowered and line.endswith(":") and len(line) < 40:
            section = "exclusion" if "exclu" in lowered else "inclusion"
            continue
        marker = re.match(r"^(\*|-|\d+\.|[a-z]\.)\s+", line)
        if marker:
            body = line[marker.end():]
            if 8 <= len(body) <= 600:
                out["nested" if raw.startswith((" ", "\t")) else section].append(body)
        elif line.endswith(":") and len(line) < 60:
            out["subheadings"].append(line)
        elif 20 <= len(line) <= 400:
            out["notes"].append(line)
    return out


def derive(records: list[dict[str, Any]]) -> dict[str, Any]:
    facilities: dict[tuple[str, str, str], dict[str, Any]] = {}
    sponsors: dict[str, str] = {n: c for n, c in CURATED_SPONSORS}
    conditions: list[dict[str, Any]] = []
    interventions: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, str] = {}
    crit: dict[str, list[str]] = {k: [] for k in ("inclusion", "exclusion", "nested", "notes", "subheadings")}
    stats: dict[str, list[int]] = {"inclusion": [], "exclusion": [], "length": []}
    for rec in records:
        p = rec.get("protocolSection", {})
        sc = p.get("sponsorCollaboratorsModule", {})
        for s in [sc.get("leadSponsor", {})] + sc.get("collaborators", []):
            if s.get("name"):
                sponsors.setdefault(s["name"], s.get("class", "OTHER"))
        for loc in p.get("contactsLocationsModule", {}).get("locations", []):
            keep = {k: loc[k] for k in ("facility", "city", "state", "zip", "country", "geoPoint") if k in loc}
            facilities.setdefault((keep.get("facility", ""), keep.get("city", ""), keep.get("country", "")), keep)
        conds = p.get("conditionsModule", {})
        if conds.get("conditions"):
            meshes = rec.get("derivedSection", {}).get("conditionBrowseModule", {}).get("meshes", [])
            conditions.append({"conditions": conds["conditions"], "variants": [],
                               "meshes": [[m["id"], m["term"]] for m in meshes], "keywords": conds.get("keywords", [])})
        for iv in p.get("armsInterventionsModule", {}).get("interventions", []):
            keep = {k: iv[k] for k in ("type", "name", "description", "otherNames") if k in iv}
            interventions.setdefault(iv["name"].lower(), keep)
        om = p.get("outcomesModule", {})
        for o in om.get("primaryOutcomes", []) + om.get("secondaryOutcomes", []):
            outcomes.setdefault(o["measure"], o.get("timeFrame", ""))
        text = p.get("eligibilityModule", {}).get("eligibilityCriteria")
        if text:
            parts = _criteria(text)
            for k, v in parts.items():
                crit[k].extend(v)
            stats["inclusion"].append(len(parts["inclusion"]))
            stats["exclusion"].append(len(parts["exclusion"]))
            stats["length"].append(len(text))
    for iv in CURATED_INTERVENTIONS:
        interventions.setdefault(iv["name"].lower(), iv)
    for k, v in CURATED_CRITERIA.items():
        crit[k].extend(v)
    return {
        "_about": "Derived by fhirtrial.ingest.synth_build from real ClinicalTrials.gov API v2 records; "
                  "weights are approximate registry-wide proportions.",
        "weights": WEIGHTS,
        "facilities": sorted(facilities.values(), key=lambda f: (f.get("country", ""), f.get("city", ""),
                                                                 f.get("facility", ""))),
        "sponsors": sorted([n, c] for n, c in sponsors.items()),
        "conditions": conditions + CURATED_CONDITIONS,
        "interventions": sorted(interventions.values(), key=lambda i: i["name"].lower()),
        "outcomes": sorted([m, t] for m, t in outcomes.items()),
        "criteria": {k: sorted(set(v)) for k, v in crit.items()},
        "criteriaStats": stats,
        "names": {"first": FIRST, "last": LAST, "degrees": DEGREES},
    }


def main(argv: list[str]) -> None:
    source = Path(argv[0] if argv else "../shared/data/ctgov")
    records = [orjson.loads(f.read_bytes()) for f in sorted(source.glob("*.json"))]
    OUT.write_bytes(orjson.dumps(derive(records), option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {OUT} from {len(records)} records")


if __name__ == "__main__":
    main(sys.argv[1:])
