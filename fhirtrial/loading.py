"""Store ClinicalTrials.gov records through the transaction interaction, https://hl7.org/fhir/R4/http.html#transaction."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import orjson

from .store.repository import Repository


def example_records(directory: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """The CT.gov records in ``examples/`` (expected outputs are skipped)."""
    for path in sorted(directory.rglob("*.json")):
        if path.name.endswith(".expected.json"):
            continue
        record = orjson.loads(path.read_bytes())
        if isinstance(record, dict) and "protocolSection" in record:
            yield path, record


def store_study(repo: Repository, record: dict[str, Any], base: str) -> dict[str, Any]:
    """Map one study and store it atomically; returns the transaction-response Bundle."""
    from .mapping import map_study
    from .rest.transaction import process

    return process(repo, map_study(record).bundle(), base, include_body=False)


def load_examples(repo: Repository, directory: Path, base: str) -> int:
    count = 0
    for _, record in example_records(directory):
        store_study(repo, record, base)
        count += 1
    return count
