"""Store ClinicalTrials.gov records atomically, as the mapping's transaction Bundle of ``PUT Type/id`` entries
would (https://hl7.org/fhir/R4/http.html#transaction): every resource validated, then stored in one unit of work."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import orjson

from .store.repository import Repository, WriteResult


def example_records(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The CT.gov records in ``examples/`` (expected outputs are skipped)."""
    for path in sorted(directory.rglob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        record = orjson.loads(path.read_bytes())
        if isinstance(record, dict) and "protocolSection" in record:
            yield path, record


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


def load_examples(repo: Repository, directory: Path, base: str) -> int:
    count = 0
    for _, record in example_records(directory):
        store_study(repo, record, base)
        count += 1
    return count
