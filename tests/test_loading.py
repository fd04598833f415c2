"""Storing mapped studies through the transaction interaction: https://hl7.org/fhir/R4/http.html#transaction."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fhirtrial.loading import example_records, load_examples, store_study
from fhirtrial.mapping import map_study

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BASE = "http://testserver/fhir"


def test_every_example_stores_and_reads_back(repo: Any) -> None:
    n = load_examples(repo, EXAMPLES, BASE)
    records = list(example_records(EXAMPLES))
    assert n == len(records) >= 14
    for _, record in records:
        mapped = map_study(record)
        for resource in mapped.resources:
            stored = repo.read(resource["resourceType"], resource["id"]).resource()
            expected = {k: v for k, v in resource.items() if k != "meta"}
            assert {k: v for k, v in stored.items() if k != "meta"} == expected


def test_storing_again_makes_no_new_versions(repo: Any) -> None:
    load_examples(repo, EXAMPLES, BASE)
    before = repo.history(None, None, count=1).total
    load_examples(repo, EXAMPLES, BASE)
    assert repo.history(None, None, count=1).total == before


def test_a_changed_record_updates_only_what_changed(repo: Any) -> None:
    _, record = next(r for r in example_records(EXAMPLES) if r[0].name == "NCT01297972.json")
    store_study(repo, record, BASE)
    changed = copy.deepcopy(record)
    changed["protocolSection"]["identificationModule"]["briefTitle"] += " (amended)"
    store_study(repo, changed, BASE)
    old = {(r["resourceType"], r["id"]): r for r in map_study(record).resources}
    new = map_study(changed).resources
    strip = lambda r: {k: v for k, v in r.items() if k != "meta"}  # noqa: E731
    differs = {(r["resourceType"], r["id"]) for r in new if strip(r) != strip(old[(r["resourceType"], r["id"])])}
    assert ("ResearchStudy", record["protocolSection"]["identificationModule"]["nctId"]) in differs
    assert len(differs) < len(new)
    for r in new:
        key = (r["resourceType"], r["id"])
        assert repo.read(*key).version_id == (2 if key in differs else 1), key
