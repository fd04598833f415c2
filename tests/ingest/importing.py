"""Helpers for the import tests: input files, running the pipeline, and a canonical dump of the store."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from fhirtrial.ingest.pipeline import Summary, run_import
from fhirtrial.ingest.prepare import default_indexer
from fhirtrial.ingest.synth import generate
from fhirtrial.store.bulk import BulkWriter
from fhirtrial.store.schema import ALL_TABLES, FTS_TABLE, INDEX_TABLES, idx_composite
from fhirtrial.store.sql import SQLRepository

from ..support.shared_data import ctgov_records

_INDEXER = None


def indexer() -> Any:
    global _INDEXER
    if _INDEXER is None:
        _INDEXER = default_indexer()
    return _INDEXER


def example_records() -> list[dict[str, Any]]:
    """The real records of ../shared/data/ctgov (skips when absent)."""
    return ctgov_records()


def synth(n: int, seed: int = 7) -> list[dict[str, Any]]:
    return list(generate(n, seed))


def nct(record: dict[str, Any]) -> str:
    return record["protocolSection"]["identificationModule"]["nctId"]


def write_ndjson(path: Path, records: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def open_repo(url: str) -> SQLRepository:
    return SQLRepository(url, indexer())


def do_import(url: str, paths: list[Path], **options: Any) -> tuple[Summary, list[Any]]:
    """Run the pipeline; returns the summary and every StudyResult."""
    seen: list[Any] = []
    with open_repo(url) as repo:
        summary = run_import(list(paths), BulkWriter(repo), on_batch=lambda s, results: seen.extend(results),
                             **options)
    return summary, seen


def changed(record: dict[str, Any], title: str) -> dict[str, Any]:
    out = copy.deepcopy(record)
    out["protocolSection"]["identificationModule"]["briefTitle"] = title
    return out


def _without_time(body: str | None) -> Any:
    if body is None:
        return None
    value = orjson.loads(body)
    value.get("meta", {}).pop("lastUpdated", None)
    return value


def dump(url: str) -> dict[str, Any]:
    """The store's content with timestamps and surrogate keys left out, sorted: equal dumps, equal stores."""
    engine = sa.create_engine(url.replace("postgresql+psycopg", "postgresql+psycopg") if "postgres" in url else url)
    pg = engine.dialect.name == "postgresql"
    body = "body::text" if pg else "body"
    out: dict[str, Any] = {}
    with engine.connect() as conn:
        out["resource"] = sorted(
            (t, i, v, bool(d), m, orjson.dumps(_without_time(b), option=orjson.OPT_SORT_KEYS).decode())
            for t, i, v, d, m, b in conn.exec_driver_sql(
                f"SELECT resource_type, id, version_id, deleted, index_mask, {body} FROM resource"))
        out["resource_version"] = sorted(
            (t, i, v, bool(d), meth, orjson.dumps(_without_time(b), option=orjson.OPT_SORT_KEYS).decode())
            for t, i, v, d, meth, b in conn.exec_driver_sql(
                f"SELECT resource_type, resource_id, version_id, deleted, method, {body} FROM resource_version"))
        for attr, (table, _bit) in INDEX_TABLES.items():
            cols = [c.name for c in table.columns if c.name != "pk"]
            rows = conn.exec_driver_sql(f"SELECT {', '.join(cols)} FROM {table.name}").all()
            # _lastUpdated is the write time: only its presence is compared.
            out[table.name] = sorted(tuple(repr(v) for v in r) if r[2] != "_lastUpdated" else tuple(r[:3])
                                     for r in rows)
        cols = [c.name for c in idx_composite.columns if c.name != "pk"]
        out["idx_composite"] = sorted(tuple(repr(v) for v in r) for r in conn.exec_driver_sql(
            f"SELECT {', '.join(cols)} FROM idx_composite").all())
        pk_col = "resource_pk" if pg else "rowid"
        fts = conn.exec_driver_sql(
            f"SELECT r.resource_type, r.id FROM {FTS_TABLE} f JOIN resource r ON r.pk = f.{pk_col}").all()
        out[FTS_TABLE] = sorted(tuple(r) for r in fts)
    engine.dispose()
    return out


def clear(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name in ALL_TABLES:
            conn.exec_driver_sql(f"DELETE FROM {name}")
    engine.dispose()


def count(url: str, table: str, where: str = "") -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table} {where}").scalar_one()
    engine.dispose()
    return int(n)
