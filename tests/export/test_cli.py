"""``fhirtrial export``: study Bundles (collection, transaction round trip) and NDJSON per type."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

import anyio
import httpx

from fhirtrial.cli.main import app
from fhirtrial.config import Settings
from fhirtrial.rest.app import create_app
from fhirtrial.store.sql import SQLRepository

from .helpers import BASE, current, expected_closure, load_studies

runner = CliRunner()


def _run(*args: str) -> Any:
    return runner.invoke(app, ["export", *args], catch_exceptions=False)


def _strip_meta(resource: dict) -> dict:
    out = dict(resource)
    meta = {k: v for k, v in (out.pop("meta", None) or {}).items() if k not in ("versionId", "lastUpdated")}
    if meta:
        out["meta"] = meta
    return out


def test_export_all_ndjson_matches_the_database(repo: Any, database_url: str, tmp_path: Path) -> None:
    load_studies(repo, 4)
    stored = current(repo)
    out = tmp_path / "out"
    result = _run("--all", "-o", str(out), "--database-url", database_url)
    assert result.exit_code == 0, result.output
    counts = Counter(rt for rt, _ in stored)
    assert {p.name for p in out.iterdir()} == {f"{rt}.ndjson" for rt in counts}
    for rtype, n in counts.items():
        lines = (out / f"{rtype}.ndjson").read_bytes().splitlines()
        parsed = [orjson.loads(line) for line in lines]
        assert len(parsed) == n == repo.count(rtype)
        assert all(r["resourceType"] == rtype and stored[(rtype, r["id"])] == r for r in parsed)
    assert "resources/s" in result.output


def test_export_all_type_and_since_filters(repo: Any, database_url: str, tmp_path: Path) -> None:
    load_studies(repo, 3)
    result = _run("--all", "-o", str(tmp_path / "a"), "--type", "Location,Group", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "a").iterdir()} == {"Location.ndjson", "Group.ndjson"}
    result = _run("--all", "-o", str(tmp_path / "b"), "--since", "2999-01-01T00:00:00Z", "--database-url", database_url)
    assert result.exit_code == 0 and list((tmp_path / "b").iterdir()) == []
    assert _run("--all", "-o", str(tmp_path / "c"), "--type", "Nope", "--database-url", database_url).exit_code == 2
    assert _run("--all", "-o", str(tmp_path / "c"), "--since", "yesterday", "--database-url", database_url).exit_code == 2
    assert _run("--all", "--database-url", database_url).exit_code == 2  # no -o
    assert _run("--database-url", database_url).exit_code == 2  # neither --study nor --all


def test_export_study_collection(repo: Any, database_url: str, tmp_path: Path) -> None:
    ids = load_studies(repo, 3)
    stored = current(repo)
    target = tmp_path / "study.json"
    result = _run("--study", ids[1], "-o", str(target), "--database-url", database_url, "--base", BASE)
    assert result.exit_code == 0, result.output
    bundle = orjson.loads(target.read_bytes())
    assert bundle["type"] == "collection"
    keys = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert keys[0] == ("ResearchStudy", ids[1])
    assert len(keys) == len(set(keys)) and set(keys) == expected_closure(stored, ("ResearchStudy", ids[1]))
    assert all(e["fullUrl"] == f"{BASE}/{k[0]}/{k[1]}" for e, k in zip(bundle["entry"], keys))
    assert _run("--study", "NCT00000000", "--database-url", database_url).exit_code == 1


async def _post_bundle(repo: Any, database_url: str, payload: Any) -> httpx.Response:
    """The Bundle posted to the base of a server on ``repo`` (in process)."""
    server = create_app(Settings(database_url=database_url, api_token="t"), repo)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="http://elsewhere") as c:
        return await c.post("/fhir", json=payload, headers={"Authorization": "Bearer t",
                                                            "Content-Type": "application/fhir+json"})


def test_transaction_bundle_round_trips_into_a_fresh_database(repo: Any, database_url: str, tmp_path: Path) -> None:
    ids = load_studies(repo, 3)
    source = current(repo)
    target = tmp_path / "tx.json"
    assert _run("--study", ids[0], "--as-transaction", "-o", str(target), "--database-url", database_url).exit_code == 0
    payload = orjson.loads(target.read_bytes())
    assert payload["type"] == "transaction"
    assert all(e["request"]["method"] == "PUT" for e in payload["entry"])
    expected = expected_closure(source, ("ResearchStudy", ids[0]))
    # empty the database under test (a fresh one for SQLite and PostgreSQL alike), then load the Bundle
    with repo.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM resource_version")
        conn.exec_driver_sql("DELETE FROM resource")
    fresh = SQLRepository(database_url)
    try:
        r = anyio.run(_post_bundle, fresh, database_url, payload)
        assert r.status_code == 200, r.text
        assert {e["response"]["status"] for e in r.json()["entry"]} == {"201 Created"}
        loaded = current(fresh)
    finally:
        fresh.close()
    assert set(loaded) == expected
    for key in expected:
        assert _strip_meta(loaded[key]) == _strip_meta(source[key])
