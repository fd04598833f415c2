"""The examples of ``serve --load-examples`` (the seed study plus ``fhirtrial synth`` studies), and storing mapped
studies through the transaction interaction: https://hl7.org/fhir/R4/http.html#transaction."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson

from fhirtrial.ingest.synth import generate
from fhirtrial.loading import SEED_STUDY, SYNTHETIC_SEED, SYNTHETIC_STUDIES, example_records, load_examples, \
    store_study
from fhirtrial.mapping import map_study

ROOT = Path(__file__).resolve().parents[1]
BASE = "http://testserver/fhir"


def test_the_examples_are_the_seed_study_and_synthetic_ones() -> None:
    records = example_records(12)
    ids = [r["protocolSection"]["identificationModule"]["nctId"] for r in records]
    assert ids[0] == "NCT01297972" and len(set(ids)) == 13
    assert all(i.startswith("NCT9") for i in ids[1:])  # synth's id space: never a real study
    assert records[1:] == list(generate(12, SYNTHETIC_SEED)) and example_records(12) == records  # deterministic
    assert 200 <= SYNTHETIC_STUDIES <= 1000  # "a few hundred": a full-looking server, loaded in seconds
    assert SEED_STUDY.is_relative_to(ROOT / "fhirtrial")  # shipped inside the package (pip install . has it)


def test_every_example_stores_and_reads_back(repo: Any) -> None:
    n = load_examples(repo, synthetic=12)
    records = example_records(12)
    assert n == len(records) == 13
    for record in records:
        mapped = map_study(record)
        for resource in mapped.resources:
            stored = repo.read(resource["resourceType"], resource["id"]).resource()
            expected = {k: v for k, v in resource.items() if k != "meta"}
            assert {k: v for k, v in stored.items() if k != "meta"} == expected


def test_storing_again_makes_no_new_versions(repo: Any) -> None:
    load_examples(repo, synthetic=5)
    before = repo.history(None, None, count=1).total
    load_examples(repo, synthetic=5)
    assert repo.history(None, None, count=1).total == before


def test_a_changed_record_updates_only_what_changed(repo: Any) -> None:
    record = orjson.loads(SEED_STUDY.read_bytes())
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
