"""Example data for ``fhirtrial serve --load-examples``: the seed study NCT01297972 (shipped in the package) plus
studies of ``fhirtrial synth`` generated at load time, https://clinicaltrials.gov/data-api/api.

Stored through the import pipeline (the same mapping, validation and writes as ``fhirtrial import``), so loading
them again changes nothing. ``store_study`` stores one study atomically instead, as the mapping's transaction Bundle
of ``PUT Type/id`` entries would (https://hl7.org/fhir/R4/http.html#transaction).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from .store.repository import Repository, WriteResult

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
SEED_STUDY = EXAMPLES_DIR / "NCT01297972.json"
SYNTHETIC_STUDIES = 300  # a full-looking server in a few seconds
SYNTHETIC_SEED = 20110214  # fixed: every --load-examples stores the same studies


def example_records(synthetic: int = SYNTHETIC_STUDIES, seed: int = SYNTHETIC_SEED) -> list[dict[str, Any]]:
    """The seed study, then ``synthetic`` studies of ``fhirtrial synth --seed`` (NCT9xxxxxxx ids)."""
    from .ingest.synth import generate

    return [orjson.loads(SEED_STUDY.read_bytes()), *(generate(synthetic, seed) if synthetic > 0 else ())]


def load_examples(repo: Repository, synthetic: int = SYNTHETIC_STUDIES, seed: int = SYNTHETIC_SEED) -> int:
    """Store the example studies (idempotent); returns how many were loaded. Raises RuntimeError if one fails."""
    from .ingest.pipeline import import_records
    from .store.bulk import BulkWriter

    failures: list[str] = []

    def on_batch(_summary: Any, results: list[Any]) -> None:
        failures.extend(f"{r.study.nct_id}: {r.error or r.study.error}" for r in results if r.outcome == "failed")

    summary = import_records(example_records(synthetic, seed), BulkWriter(repo), origin="examples",  # type: ignore[arg-type]
                             on_batch=on_batch)
    if failures:
        raise RuntimeError(f"{len(failures)} example studies could not be stored: {'; '.join(failures[:3])}")
    return summary.done


def store_study(repo: Repository, record: dict[str, Any], base: str | None = None) -> list[WriteResult]:
    """Map one study and store it atomically (a resource whose content is stored already makes no new version);
    returns each resource's write result. ``base`` is unused (kept for callers)."""
    from .mapping import map_study
    from .validation import validate_resource

    resources = map_study(record).resources
    for res in resources:
        validate_resource(res, resource_type=res["resourceType"], resource_id=res["id"], require_id=True)
    with repo.unit_of_work() as uow:
        return [uow.update(res["resourceType"], res["id"], res) for res in resources]

