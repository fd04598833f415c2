"""Shared helpers for the export tests: a database holding synthetic studies, and independent expectations."""
from __future__ import annotations

import re
from typing import Any

import orjson
import sqlalchemy as sa

from fhirtrial.ingest.synth import generate
from fhirtrial.loading import store_study
from fhirtrial.store.schema import resource

BASE = "http://testserver/fhir"


def load_studies(repo: Any, n: int = 6, seed: int = 1) -> list[str]:
    """Store ``n`` synthetic studies (mapped and stored atomically); returns their ResearchStudy ids."""
    ids = []
    for record in generate(n, seed):
        store_study(repo, record, BASE)
        ids.append(record["protocolSection"]["identificationModule"]["nctId"])
    return ids


def current(repo: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """Every current, not deleted resource, read straight from the table."""
    with repo.engine.connect() as conn:
        body = sa.cast(resource.c.body, sa.Text) if repo.postgres else resource.c.body
        rows = conn.execute(sa.select(resource.c.resource_type, resource.c.id, body)
                            .where(resource.c.deleted.is_(False))).all()
    return {(rt, rid): orjson.loads(b) for rt, rid, b in rows}


def expected_closure(store: dict[tuple[str, str], dict[str, Any]], root: tuple[str, str]) -> set[tuple[str, str]]:
    """What a study references, transitively, computed by a plain recursive walk over the stored bodies."""
    found: set[tuple[str, str]] = set()

    def visit(key: tuple[str, str]) -> None:
        if key in found or key not in store:
            return
        found.add(key)
        # independent of fhirtrial.export.graph: a regex over the JSON text
        for ref in re.findall(r'"reference":\s*"([A-Za-z]+/[A-Za-z0-9.\-]+)"', orjson.dumps(store[key]).decode()):
            rtype, rid = ref.split("/")
            visit((rtype, rid))

    visit(root)
    return found
