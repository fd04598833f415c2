"""The pure, CPU-bound half of an import, run in worker processes: map a record, validate the resources,
stamp them as version 1 and extract their index rows (https://hl7.org/fhir/R4/search.html).

Nothing here touches the database, so ``prepare`` runs anywhere; the single writer
(``fhirtrial.store.bulk``) decides versions and only re-stamps what is not a first version.
"""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from ..errors import FhirError, IndexingError, Issue
from ..search.index import Indexer, ResourceIndex
from ..store.prepared import PreparedResource, PreparedStudy, index_rows
from ..store.versioning import check_body, check_id, check_type, content_key, key_digest, now_ms, stamp
from .items import SourceItem


class SeenShared:
    """Digests of the shared resources (sponsors, sites, investigators) one process has already validated and
    indexed; bounded, cleared when full."""

    SHARED = frozenset({"Organization", "Location", "Practitioner"})

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.digests: set[bytes] = set()

    @staticmethod
    def digest(resource_type: str, resource_id: str, key: bytes) -> bytes:
        return hashlib.blake2b(b"%s/%s\0%s" % (resource_type.encode(), resource_id.encode(), key),
                               digest_size=16).digest()

    def __contains__(self, digest: bytes) -> bool:
        return digest in self.digests

    def add(self, digest: bytes) -> None:
        if len(self.digests) >= self.limit:
            self.digests.clear()
        self.digests.add(digest)


def related_of(indexer: Indexer, resource: dict[str, Any],
               siblings: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """The resources ``resource``'s index resolves (store.related.index_with_related), taken from the same
    study; None when one of them is not in the study (the writer then loads it from the database)."""
    wanted = getattr(indexer, "references_to_resolve", None)
    if wanted is None:
        return {}
    related = {}
    for key in wanted(resource):
        found = siblings.get(key)
        if found is None:
            return None
        related[key] = found
    return related


def prepare_resource(indexer: Indexer, resource: dict[str, Any], ts: datetime, *, skip_index: bool = False,
                     siblings: dict[str, dict[str, Any]] | None = None, key: bytes | None = None) -> PreparedResource:
    """``resource`` stamped as version 1 at ``ts``, with its index rows (unless ``skip_index``) and content key
    (``key`` when the caller has it already)."""
    rtype, rid = resource["resourceType"], resource["id"]
    stamped, body = stamp(resource, rid, 1, ts)
    index = None
    if not skip_index:
        related = related_of(indexer, resource, siblings or {})
        if related is not None:
            index = index_rows(_index(indexer, stamped, related))
    return PreparedResource(rtype, rid, key or key_digest(content_key(resource)), body, ts, index)


def _index(indexer: Indexer, body: dict[str, Any], related: dict[str, dict[str, Any]]) -> ResourceIndex:
    """What store.related.index_with_related computes, given the related resources."""
    if not hasattr(indexer, "references_to_resolve"):
        return indexer.index(body)
    return indexer.index(body, related=related)  # type: ignore[call-arg]


def validation_issues(resource: dict[str, Any], strictness: str) -> tuple[list[Issue], list[Issue]]:
    """(errors, warnings) of ``resource``: the store's type, id and body checks, then the server's one validator
    (fhirtrial.validation) under ``strictness``. A REST write runs the same two (the validator first, the store's
    checks as it stores), so the same resources are refused; one that fails both may be refused here with another
    first error."""
    from ..validation import write_issues

    try:
        check_type(resource.get("resourceType", ""))
        check_id(resource.get("id"))  # type: ignore[arg-type]
        check_body(resource["resourceType"], resource["id"], resource)
    except FhirError as exc:
        return exc.issues, []
    return write_issues(resource, strictness)


def prepare_record(record: dict[str, Any], nct_id: str | None, origin: str, indexer: Indexer, *,
                   validate: bool = True, strictness: str = "error",
                   seen: SeenShared | None = None) -> PreparedStudy:
    """Map, validate (under ``strictness``; with ``validate`` false neither the validator nor the store's checks
    run: trusted re-imports only), stamp and index one record; every failure becomes a failed PreparedStudy."""
    from ..mapping import MappingError, map_study

    try:
        mapped = map_study(record)
    except MappingError as exc:
        return PreparedStudy(nct_id, origin, error=f"mapping failed: {exc.diagnostics}", stage="map")
    except Exception as exc:  # noqa: BLE001 -- an odd record must fail alone, never stop the run
        return PreparedStudy(nct_id, origin, error=f"mapping failed: {type(exc).__name__}: {exc}", stage="map")
    nct_id = mapped.nct_id or nct_id
    ts = now_ms()
    prepared: list[PreparedResource] = []
    fresh: list[bytes] = []
    siblings = {f"{r.get('resourceType')}/{r.get('id')}": r for r in mapped.resources if isinstance(r, dict)}
    try:
        for res in mapped.resources:
            rtype, rid = res.get("resourceType"), res.get("id")
            key = None
            if seen is not None and rtype in SeenShared.SHARED and isinstance(rid, str):
                key = key_digest(content_key(res))
                digest = SeenShared.digest(rtype, rid, key)
                if digest in seen:
                    prepared.append(prepare_resource(indexer, res, ts, skip_index=True, key=key))
                    continue
                fresh.append(digest)
            errors, warnings = validation_issues(res, strictness) if validate else ([], [])
            if errors:
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                return PreparedStudy(nct_id, origin, stage="validate", issues=errors,
                                     error=f"{rtype}/{rid} is not valid FHIR R4: {errors[0].diagnostics}{more}")
            item = prepare_resource(indexer, res, ts, siblings=siblings, key=key)
            if warnings:
                item.warnings = tuple(warnings)
            prepared.append(item)
    except IndexingError as exc:
        return PreparedStudy(nct_id, origin, error=exc.diagnostics, stage="index", issues=exc.issues)
    except FhirError as exc:
        return PreparedStudy(nct_id, origin, error=exc.diagnostics, stage="validate", issues=exc.issues)
    except Exception as exc:  # noqa: BLE001
        return PreparedStudy(nct_id, origin, error=f"indexing failed: {type(exc).__name__}: {exc}", stage="index")
    if seen is not None:
        for digest in fresh:
            seen.add(digest)
    return PreparedStudy(nct_id, origin, resources=prepared, warnings=len(mapped.warnings))


def failed_item(item: SourceItem) -> PreparedStudy:
    return PreparedStudy(item.nct_id, str(item.origin), error=item.error,
                         stage="duplicate" if item.superseded_by is not None else "read",
                         superseded_by=str(item.superseded_by) if item.superseded_by is not None else None)


# -- worker processes --------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def default_indexer() -> Indexer:
    from ..search.extract import FhirPathIndexer

    return FhirPathIndexer()


def init_worker(validate: bool, strictness: str = "error") -> None:
    _WORKER["indexer"] = default_indexer()
    _WORKER["validate"] = validate
    _WORKER["strictness"] = strictness
    _WORKER["seen"] = SeenShared()


def prepare_in_worker(task: tuple[dict[str, Any] | None, str | None, str, str | None, str | None]) -> PreparedStudy:
    record, nct_id, origin, error, superseded = task
    if record is None:
        stage = "duplicate" if superseded is not None else "read"
        return PreparedStudy(nct_id, origin, error=error, stage=stage, superseded_by=superseded)
    return prepare_record(record, nct_id, origin, _WORKER["indexer"], validate=_WORKER["validate"],
                          strictness=_WORKER["strictness"], seen=_WORKER["seen"])


def prepare_chunk_in_worker(task: tuple[list[tuple[Any, ...]], str]) -> list[PreparedStudy]:
    """Prepare a chunk of studies and write their rows into the new shard file ``task[1]`` (store.shard):
    what returns to the writer is only what it decides versions with."""
    from ..store.shard import ShardWriter

    tasks, path = task
    studies = [prepare_in_worker(t) for t in tasks]
    shard = ShardWriter(path)
    for study in studies:
        if study.resources is not None:
            study.shard = path
            for res in study.resources:
                shard.add(res)
    shard.close()
    return studies
