"""One study and everything it references, from the store: for ``$everything`` and ``fhirtrial export --study``.

https://hl7.org/fhir/R4/bundle.html (collection, transaction), https://hl7.org/fhir/R4/http.html#transaction
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from ..mapping.ids import full_url
from ..store import scan
from ..store.versioning import instant
from .graph import Key, closure, references

STUDY = "ResearchStudy"
# What a reader of a study needs first: its protocol, eligibility and sponsors, then the investigators; its sites
# (hundreds for a large study) after every other resource it names directly. Stored bodies do not keep the
# element order (PostgreSQL's jsonb orders keys by length: ``site`` came first), so the order is set here.
FIRST_FIELDS = ("protocol", "enrollment", "sponsor", "principalInvestigator")
LAST_FIELDS = ("site",)


@dataclass
class Everything:
    """The study first, then its protocol, eligibility, sponsors and investigators (FIRST_FIELDS), what else it
    references directly, its sites, and then what those reference, breadth first; ``missing`` are dangling
    references (unknown or deleted targets) mapped to the resource that holds them."""

    rows: list[scan.Row]
    missing: dict[Key, Key]

    @property
    def study(self) -> scan.Row:
        return self.rows[0]


def everything(repo: Any, study_id: str, resource_type: str = STUDY,
               visible: Callable[[str, bytes], bool] | None = None) -> Everything:
    """Raises NotFound / Gone (from the repository's read) when the study is unknown or deleted.

    ``visible(type, body)``: the resources it rejects are left out and their references not followed."""
    hidden: set[Key] = set()

    def parse(row: scan.Row) -> Any:
        if visible is not None and not visible(row.resource_type, row.body):
            hidden.add((row.resource_type, row.id))
            return {}
        return orjson.loads(row.body)

    with scan.snapshot(repo) as conn:
        root = (resource_type, study_id)
        if not scan.fetch(conn, [root]):
            repo.read(resource_type, study_id)  # raises NotFound or Gone
            raise AssertionError("unreachable: the study exists but was not fetched")  # pragma: no cover
        walk = closure(root, lambda keys: scan.fetch(conn, keys), parse=parse)
    keys = reading_order(orjson.loads(walk.resources[root].body), [k for k in walk.keys if k not in hidden])
    rows = [walk.resources[k] for k in keys]
    missing = {k: v for k, v in walk.missing.items() if k != root}
    return Everything(rows, missing)


def reading_order(study: dict[str, Any], keys: list[Key]) -> list[Key]:
    """``keys`` (the root first, then breadth first) reordered: the root, the targets of FIRST_FIELDS in that
    order, the study's other direct references, those of LAST_FIELDS, then the rest as found."""
    tiers: dict[Key, tuple[int, int]] = {}
    for rank, field_name in enumerate(FIRST_FIELDS):
        for key in references(study.get(field_name)):
            tiers.setdefault(key, (1, rank))
    others = {k: v for k, v in study.items() if k not in FIRST_FIELDS and k not in LAST_FIELDS}
    for key in references(others):
        tiers.setdefault(key, (2, 0))
    for rank, field_name in enumerate(LAST_FIELDS):
        for key in references(study.get(field_name)):
            tiers.setdefault(key, (3, rank))
    position = {k: i for i, k in enumerate(keys)}  # within a field, arrays keep their order in every store
    return [keys[0]] + sorted(keys[1:], key=lambda k: (*tiers.get(k, (4, 0)), position[k]))


def _full_url(row: scan.Row, base: str | None) -> str:
    return f"{base.rstrip('/')}/{row.resource_type}/{row.id}" if base else full_url(row.resource_type, row.id)


def collection_bundle(result: Everything, *, base: str | None = None) -> dict[str, Any]:
    """A ``collection`` Bundle; fullUrls are the server's URLs when ``base`` is given, else the deterministic
    ``urn:uuid:`` of "Type/id" the mapping uses."""
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "collection",
            "timestamp": instant(datetime.now(timezone.utc)),
            "entry": [{"fullUrl": _full_url(r, base), "resource": orjson.Fragment(r.body)} for r in result.rows]}


def _for_transaction(row: scan.Row) -> dict[str, Any]:
    """The resource without server-assigned meta (versionId, lastUpdated): the receiving server sets its own."""
    body = orjson.loads(row.body)
    meta = body.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del body["meta"]
    return body


def transaction_bundle(result: Everything) -> dict[str, Any]:
    """A ``transaction`` Bundle of ``PUT Type/id`` entries: loading it anywhere reproduces the same ids and
    references (the same shape as the mapping's own Bundle)."""
    return {"resourceType": "Bundle", "type": "transaction",
            "entry": [{"fullUrl": full_url(r.resource_type, r.id), "resource": _for_transaction(r),
                       "request": {"method": "PUT", "url": f"{r.resource_type}/{r.id}"}} for r in result.rows]}
