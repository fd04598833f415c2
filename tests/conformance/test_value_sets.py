"""Closed value sets of token search parameters: derived from the shipped tables, and never stricter than what
the mapping really emits (a false warning would be as bad as the silence it replaces)."""
from __future__ import annotations

import json
from pathlib import Path

from fhirtrial.conformance import closed_sets
from fhirtrial.ingest.synth import generate
from fhirtrial.mapping import map_study
from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.parser import parse_search
from fhirtrial.search.registry import default_registry

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "fhirtrial" / "examples" / "NCT01297972.json"


def test_closed_sets_come_from_the_tables() -> None:
    sets = closed_sets()
    recruitment = sets.of("ResearchStudy", "recruitment")
    assert recruitment is not None
    assert "RECRUITING" in recruitment.systems["https://fhirtrial.org/fhir/CodeSystem/ctgov-status"]
    assert "closed-to-accrual" in recruitment.systems["http://hl7.org/fhir/research-study-status"]
    phase = sets.of("ResearchStudy", "phase")
    assert phase is not None and {"PHASE2", "phase-2"} <= phase.codes and "phase2" not in phase.codes
    status = sets.of("ResearchStudy", "status")  # the one required binding of ResearchStudy in R4
    assert status is not None and "withdrawn" in status.codes
    assert sets.of("ResearchStudy", "condition") is None  # open: any MeSH term or text
    assert sets.of("ResearchStudy", "identifier") is None


def test_every_code_the_mapping_emits_is_in_its_closed_set() -> None:
    records = [json.loads(SEED.read_text())] + list(generate(60, 11))
    indexer = FhirPathIndexer()
    sets = closed_sets()
    checked = 0
    for record in records:
        resources = map_study(record).resources
        related = {f"{r['resourceType']}/{r['id']}": r for r in resources}
        for resource in resources:
            index = indexer.index(resource, related=related)
            for entry in index.tokens:
                closed = sets.of(resource["resourceType"], entry.param)
                if closed is None or entry.code is None:
                    continue
                codes = closed.systems.get(entry.system, frozenset()) if entry.system else closed.codes
                assert entry.code in codes, (resource["resourceType"], entry)
                checked += 1
    assert checked > 500


def test_warnings_name_the_parameter_and_suggest_the_code() -> None:
    request = parse_search("ResearchStudy", [("recruitment", "RECRUITNG"), ("phase", "phase2"),
                                             ("status", "active"), ("phase", "PHASE2,phase-9"),
                                             ("recruitment", "http://example.org|RECRUITING"),
                                             ("recruitment:not", "NOPE"), ("condition", "anything")])
    issues = closed_sets().check(request)
    texts = [i.diagnostics for i in issues]
    assert len(issues) == 4, texts
    assert all(i.severity == "warning" and i.code == "code-invalid" for i in issues)
    assert "'RECRUITNG'" in texts[0] and "did you mean 'RECRUITING'" in texts[0]
    assert "'phase2'" in texts[1] and "'PHASE2'" in texts[1] and issues[1].expression == ("phase",)
    assert "'phase-9'" in texts[2]
    assert "system 'http://example.org'" in texts[3]
    assert default_registry().get("ResearchStudy", "recruitment") is not None
