"""Fixtures for the SQL search tests: a repository loaded once per module with the real example studies, the
mapped CT.gov records of tests/search/samples.py and hand-made resources of every served type."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest
import sqlalchemy as sa

from fhirtrial.search.extract import FhirPathIndexer
from fhirtrial.search.index import ResourceIndex
from fhirtrial.search.parser import parse_search
from fhirtrial.search.request import SearchRequest
from fhirtrial.store.repository import SearchPage
from fhirtrial.store.schema import resource
from fhirtrial.store.sql import SQLRepository

from ...conftest import PG_ENV, _indexer
from ...search.samples import HAND_MADE, ctgov_all
from ...support.shared_data import load_seed_and_real_studies

BASE = "http://localhost/fhir"


def request(rtype: str | None, query: str, **kw: Any) -> SearchRequest:
    return parse_search(rtype, parse_qsl(query, keep_blank_values=True), strict=True, **kw)


def ids(repo: SQLRepository, rtype: str | None, query: str, cursor: str | None = None) -> list[str]:
    return [m.id for m in repo.search(request(rtype, query), cursor=cursor).matches]


def page(repo: SQLRepository, rtype: str | None, query: str, cursor: str | None = None) -> SearchPage:
    return repo.search(request(rtype, query), cursor=cursor)


def fresh_url(template: Any, directory: Path) -> str:
    """A migrated, empty database (PostgreSQL: truncated; SQLite: a copy of the session's template)."""
    url = os.environ.get(PG_ENV)
    if url:
        template()
        return url
    target = directory / "search.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def store_all(repo: SQLRepository, resources: list[dict[str, Any]]) -> None:
    with repo.unit_of_work() as uow:
        for r in resources:
            uow.update(r["resourceType"], r["id"], r)


def oracle_indexes(repo: SQLRepository) -> dict[str, dict[str, ResourceIndex]]:
    """type -> id -> ResourceIndex of the stored current versions, indexed in memory with every stored
    resource available to resolve() -- what the matching oracle judges."""
    body = sa.cast(resource.c.body, sa.Text) if repo.postgres else resource.c.body
    with repo.engine.connect() as conn:
        rows = conn.execute(sa.select(resource.c.resource_type, resource.c.id, body)
                            .where(resource.c.deleted.is_(False))).all()
    bodies = {f"{t}/{i}": orjson.loads(b) for t, i, b in rows}
    indexer: FhirPathIndexer = _indexer()  # type: ignore[assignment]
    out: dict[str, dict[str, ResourceIndex]] = {}
    for key, b in bodies.items():
        t, _, i = key.partition("/")
        out.setdefault(t, {})[i] = indexer.index(b, related=bodies)
    return out


@pytest.fixture(scope="module")
def corpus(_database_template: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SQLRepository]:
    """The seed and real studies (through the transaction interaction), the same records mapped and stored
    again (no new versions), and hand-made resources."""
    url = fresh_url(_database_template, tmp_path_factory.mktemp("corpus"))
    repo = SQLRepository(url, _indexer())  # type: ignore[arg-type]
    load_seed_and_real_studies(repo, BASE)  # skips the module's tests, saying why, when ../shared/data is absent
    extra = ctgov_all()
    store_all(repo, [*extra, *HAND_MADE])
    yield repo
    repo.close()
